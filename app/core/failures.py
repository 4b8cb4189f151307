"""Turn any failure of a request into a headline and a remedy a user can act on.

Classification is by duck typing on the SDK's exception classes (their names, `status_code`,
`code`, `body`) so this module never imports the SDK, which is imported lazily.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.core.problems import UserFacingError
from app.core.redact import redact, without_userinfo


class FailureKind(StrEnum):
    AUTH = "auth"
    PERMISSION = "permission"
    MODEL_NOT_FOUND = "model_not_found"
    CONTEXT_LENGTH = "context_length"
    BAD_REQUEST = "bad_request"
    RATE_LIMIT = "rate_limit"
    QUOTA = "quota"
    SERVER = "server"
    CONNECTION = "connection"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    INTERRUPTED = "interrupted"


# Kinds where pressing Retry may help without changing anything.
RETRYABLE = frozenset(
    {
        FailureKind.RATE_LIMIT,
        FailureKind.SERVER,
        FailureKind.CONNECTION,
        FailureKind.TIMEOUT,
        FailureKind.MALFORMED,
        FailureKind.INTERRUPTED,
    }
)


class ApiFailure(UserFacingError):
    """A request that failed, classified. `detail` is the server's own (redacted) message."""

    def __init__(
        self,
        kind: FailureKind,
        headline: str,
        remedy: str,
        *,
        status: int | None = None,
        detail: str = "",
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(headline, remedy)
        self.kind = kind
        self.status = status
        self.detail = detail
        self.retry_after = retry_after
        self.request_id = request_id

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


@dataclass(frozen=True)
class FailureContext:
    """What the classifier may mention: the model asked for and the server's address; and what
    it must not: `secrets` (the key sent), masked wherever the server's message repeats them."""

    model: str = ""
    base_url: str = ""
    secrets: tuple[str, ...] = field(default=(), repr=False)


def classify(exc: BaseException, context: FailureContext | None = None) -> ApiFailure:
    """The `ApiFailure` for `exc`, raised by the SDK, the HTTP layer or the stream parser."""
    if isinstance(exc, ApiFailure):
        return exc
    ctx = context or FailureContext()
    names = {cls.__name__ for cls in type(exc).__mro__}
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return _from_status(exc, status, ctx)
    if "APITimeoutError" in names or "TimeoutException" in names or "TimeoutError" in names:
        return ApiFailure(
            FailureKind.TIMEOUT,
            "The server took too long to answer",
            "Retry; if it keeps happening, raise the request timeout in Settings.",
        )
    if "APIConnectionError" in names or "RequestError" in names or isinstance(exc, OSError):
        return _connection_failure(exc, ctx)
    if isinstance(exc, json.JSONDecodeError) or "APIResponseValidationError" in names:
        return ApiFailure(
            FailureKind.MALFORMED,
            "The server sent a reply that could not be read",
            "Retry; if it keeps happening, the server at this address may not be "
            "OpenAI-compatible.",
        )
    if "APIError" in names:
        # An error event inside an otherwise successful stream.
        return ApiFailure(
            FailureKind.SERVER,
            "The server reported an error while answering",
            "The partial answer is kept; press Retry to ask again.",
            detail=_redacted_message(exc, ctx),
        )
    raise TypeError(f"not an API failure: {type(exc).__name__}") from exc


def interrupted() -> ApiFailure:
    """The stream ended before the server said the answer was finished."""
    return ApiFailure(
        FailureKind.INTERRUPTED,
        "The answer was cut off",
        "The connection closed before the answer finished; the partial answer is kept. "
        "Press Retry to ask again.",
    )


def _from_status(exc: BaseException, status: int, ctx: FailureContext) -> ApiFailure:
    error = _error_object(exc)
    code = str(error.get("code") or getattr(exc, "code", None) or "")
    error_type = str(error.get("type") or getattr(exc, "type", None) or "")
    detail = _redacted_message(exc, ctx)
    retry_after = _retry_after(exc)
    request_id = getattr(exc, "request_id", None)
    common: dict[str, Any] = {
        "status": status,
        "detail": detail,
        "retry_after": retry_after,
        "request_id": request_id if isinstance(request_id, str) else None,
    }
    model = ctx.model or "this model"
    if status == 401:
        return ApiFailure(
            FailureKind.AUTH,
            "API key rejected",
            "Open Settings to replace it (or check OPENAI_API_KEY), then retry.",
            **common,
        )
    if status == 403:
        return ApiFailure(
            FailureKind.PERMISSION,
            "Access denied",
            "Your key, organization or project may not have access to this model or region; "
            "check them in Settings and on the OpenAI dashboard.",
            **common,
        )
    if status == 404:
        return ApiFailure(
            FailureKind.MODEL_NOT_FOUND,
            f"Model “{model}” not found",
            "Pick another model: your account may not have access to this one, or the "
            "server does not serve it.",
            **common,
        )
    if status == 429 and (code == "insufficient_quota" or error_type == "insufficient_quota"):
        return ApiFailure(
            FailureKind.QUOTA,
            "Out of credit",
            "Your account has no quota left: add credit or raise the limit on the OpenAI "
            "billing page. Retrying will not help until then.",
            **common,
        )
    if status == 429:
        wait = f" in {retry_after:.0f} s" if retry_after else " in a moment"
        return ApiFailure(
            FailureKind.RATE_LIMIT,
            "Rate limit reached",
            f"Too many requests or tokens per minute for {model}; retry{wait}.",
            **common,
        )
    if status == 400 and code == "context_length_exceeded":
        return ApiFailure(
            FailureKind.CONTEXT_LENGTH,
            "Conversation too long for this model",
            "Start a new chat, remove images or earlier messages, lower max tokens, or pick a "
            "model with a larger context window.",
            **common,
        )
    if 400 <= status < 500:
        return ApiFailure(
            FailureKind.BAD_REQUEST,
            f"The server refused the request ({status})",
            "Check the parameters and the message; the server said: " + (detail or "nothing more"),
            **common,
        )
    return ApiFailure(
        FailureKind.SERVER,
        f"The server had a problem ({status})",
        "This is on the server's side; retry in a moment.",
        **common,
    )


def _connection_failure(exc: BaseException, ctx: FailureContext) -> ApiFailure:
    # Credentials are refused in base URLs, but an address shown in a message is masked anyway.
    where = without_userinfo(ctx.base_url) or "the server"
    chain = _chain(exc)
    names = {cls.__name__ for e in chain for cls in type(e).__mro__}
    if any(isinstance(e, socket.gaierror) for e in chain):
        headline = "Server not found"
        remedy = f"The address {where} could not be resolved: check your network and base URL."
    elif "ConnectError" in names or any(isinstance(e, ConnectionRefusedError) for e in chain):
        headline = "Could not connect"
        remedy = f"Nothing answered at {where}: check your network and the base URL in Settings."
    else:
        headline = "Connection lost"
        remedy = "Check your network connection and retry; any partial answer is kept."
    return ApiFailure(FailureKind.CONNECTION, headline, remedy)


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _error_object(exc: BaseException) -> dict[str, Any]:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return inner
    return {}


def _redacted_message(exc: BaseException, ctx: FailureContext) -> str:
    message = _error_object(exc).get("message") or getattr(exc, "message", None) or str(exc)
    # A server may echo the key it refused, and a key for a compatible server need not look
    # like one: the key sent is masked by value, not only by shape.
    return redact(str(message), ctx.secrets)[:500]


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return float(raw) * scale
        except ValueError:
            continue
    return None
