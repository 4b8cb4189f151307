"""Scripted failures: each queued `Fault` replaces the normal handling of one chat request."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum

from app.simulator import errors
from app.simulator.errors import ApiError

DEFAULT_ORGANIZATION = "org-simulator"


class FaultKind(StrEnum):
    """What a scripted fault does; also the `kind` of its JSON spec."""

    STATUS = "status"
    DISCONNECT = "disconnect"
    MALFORMED = "malformed"
    STALL = "stall"
    STREAM_ERROR = "stream_error"


@dataclass(frozen=True)
class Fault:
    """One scripted failure; build it with the constructors (`Fault.status(429)`, …).

    Stream faults act after `after_chunks` chunks of a streamed reply. On a non-streamed request
    they act before the body: `disconnect` closes the connection with no response, `stall`
    waits before answering, `malformed` sends a truncated JSON body, `stream_error` answers with
    the error as a 500.
    """

    kind: FaultKind
    http_status: int | None = None
    code: str | None = None
    error_type: str | None = None
    message: str | None = None
    param: str | None = None
    retry_after: float | None = None
    after_chunks: int = 0
    seconds: float | None = None

    @classmethod
    def status(
        cls,
        http_status: int,
        /,
        *,
        code: str | None = None,
        code_str: str | None = None,
        type: str | None = None,
        message: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
    ) -> Fault:
        """An error response with this HTTP status and a realistic default body.

        `code` (alias `code_str`) picks a variant where a status has several, e.g. 429
        `insufficient_quota` instead of `rate_limit_exceeded`. `retry_after` (seconds, fractions
        allowed) adds a `Retry-After` header, which the SDK honours when it retries.
        """
        if not 400 <= http_status <= 599:
            raise ValueError(f"an error status is 4xx or 5xx, not {http_status}")
        return cls(
            FaultKind.STATUS,
            http_status=http_status,
            code=code if code is not None else code_str,
            error_type=type,
            message=message,
            param=param,
            retry_after=retry_after,
        )

    @classmethod
    def disconnect(cls, *, after_chunks: int = 0) -> Fault:
        """Close the socket mid-stream: no terminating chunk, no `[DONE]`."""
        return cls(FaultKind.DISCONNECT, after_chunks=_count(after_chunks))

    @classmethod
    def malformed(cls, *, after_chunks: int = 0) -> Fault:
        """Send a `data:` line whose payload is not valid JSON."""
        return cls(FaultKind.MALFORMED, after_chunks=_count(after_chunks))

    @classmethod
    def stall(cls, *, after_chunks: int = 0, seconds: float | None = None) -> Fault:
        """Stop sending for `seconds` (None: until the server stops) with the connection open."""
        if seconds is not None and not seconds >= 0:
            raise ValueError("stall seconds must be >= 0 or None")
        return cls(FaultKind.STALL, after_chunks=_count(after_chunks), seconds=seconds)

    @classmethod
    def stream_error(
        cls,
        *,
        after_chunks: int = 0,
        message: str | None = None,
        type: str | None = None,
        code: str | None = None,
    ) -> Fault:
        """An SSE `data: {"error": {...}}` event mid-stream, then the stream ends."""
        return cls(
            FaultKind.STREAM_ERROR,
            after_chunks=_count(after_chunks),
            message=message,
            error_type=type,
            code=code,
        )

    def to_spec(self) -> dict[str, object]:
        """A JSON-ready description, accepted by `from_spec` and `POST /_simulator/faults`."""
        renamed = {"http_status": "status", "error_type": "type"}
        spec: dict[str, object] = {
            renamed.get(key, key): value for key, value in asdict(self).items() if value is not None
        }
        spec["kind"] = self.kind.value
        return spec

    @classmethod
    def from_spec(cls, spec: Mapping[str, object]) -> Fault:
        """Parse one fault spec; raises ValueError naming what is wrong."""
        unknown = set(spec) - {field for field in cls.__dataclass_fields__} - {"status", "type"}
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        try:
            kind = FaultKind(str(spec.get("kind")))
        except ValueError:
            kinds = ", ".join(k.value for k in FaultKind)
            raise ValueError(f"fault 'kind' must be one of: {kinds}") from None
        error_type = _opt_str(spec, "error_type") or _opt_str(spec, "type")
        if kind is FaultKind.STATUS:
            status = spec.get("http_status", spec.get("status"))
            if not isinstance(status, int) or isinstance(status, bool):
                raise ValueError("a status fault needs an integer 'status'")
            return cls.status(
                status,
                code=_opt_str(spec, "code"),
                type=error_type,
                message=_opt_str(spec, "message"),
                param=_opt_str(spec, "param"),
                retry_after=_opt_number(spec, "retry_after"),
            )
        after = spec.get("after_chunks", 0)
        if not isinstance(after, int) or isinstance(after, bool):
            raise ValueError("'after_chunks' must be an integer")
        if kind is FaultKind.STALL:
            return cls.stall(after_chunks=after, seconds=_opt_number(spec, "seconds"))
        if kind is FaultKind.STREAM_ERROR:
            return cls.stream_error(
                after_chunks=after,
                message=_opt_str(spec, "message"),
                type=error_type,
                code=_opt_str(spec, "code"),
            )
        if kind is FaultKind.MALFORMED:
            return cls.malformed(after_chunks=after)
        return cls.disconnect(after_chunks=after)

    def status_error(
        self, *, model: str, organization: str, request_id: str, api_key: str = ""
    ) -> ApiError:
        """The response a `status` (or non-streamed `stream_error`) fault sends."""
        status = self.http_status or 500
        error = _default_error(status, model, organization, request_id, api_key, self)
        if self.message is not None:
            error.message = self.message
            error.raw_body = None
            error.content_type = "application/json"
        if self.error_type is not None:
            error.type = self.error_type
        if self.code is not None:
            error.code = self.code
        if self.param is not None:
            error.param = self.param
        if self.retry_after is not None:
            error.headers = (*error.headers, ("retry-after", _seconds_header(self.retry_after)))
        return error

    def stream_error_object(self) -> dict[str, object]:
        """The `error` object a `stream_error` fault sends in its SSE event."""
        return {
            "message": self.message
            or "The server had an error while processing your request. Sorry about that!",
            "type": self.error_type or "server_error",
            "param": self.param,
            "code": self.code,
        }


def _default_error(
    status: int,
    model: str,
    organization: str,
    request_id: str,
    api_key: str,
    fault: Fault,
) -> ApiError:
    if status == 400:
        return errors.context_length_exceeded(128_000, 131_072)
    if status == 401:
        return errors.incorrect_api_key(api_key or "sk-proj-" + "x" * 40 + "abcd")
    if status == 403:
        return ApiError(
            403,
            "Country, region, or territory not supported",
            type="request_forbidden",
            code="unsupported_country_region_territory",
        )
    if status == 404:
        return errors.model_not_found(model)
    if status == 429 and fault.code == "insufficient_quota":
        return ApiError(
            429,
            "You exceeded your current quota, please check your plan and billing details. For "
            f"more information on this error, read the docs: {errors.ERROR_CODES_PAGE}.",
            type="insufficient_quota",
            code="insufficient_quota",
        )
    if status == 429:
        wait = fault.retry_after if fault.retry_after is not None else 20
        return ApiError(
            429,
            f"Rate limit reached for {model} in organization {organization} on requests per min "
            f"(RPM): Limit 3, Used 3, Requested 1. Please try again in {_wait_text(wait)}. "
            f"Visit {errors.RATE_LIMITS_PAGE} to learn more.",
            type="requests",
            code="rate_limit_exceeded",
        )
    if status == 500 or fault.kind is FaultKind.STREAM_ERROR:
        return errors.server_error(request_id)
    if status == 502:
        return errors.bad_gateway_page()
    if status == 503:
        return ApiError(
            503,
            "The engine is currently overloaded, please try again later.",
            type="server_error",
        )
    return errors.generic(status)


def _count(value: int) -> int:
    if value < 0:
        raise ValueError("after_chunks must be >= 0")
    return value


def _opt_str(spec: Mapping[str, object], key: str) -> str | None:
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a string")
    return value


def _opt_number(spec: Mapping[str, object], key: str) -> float | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"'{key}' must be a number")
    return float(value)


def _seconds_header(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _wait_text(seconds: float) -> str:
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds:.3g}s"
