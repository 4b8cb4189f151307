"""OpenAI-shaped rejections: status, `{"error": {...}}` body and headers, worded like the API."""

from __future__ import annotations

import json
import re
from http import HTTPStatus

HELP_CENTER = "help.openai.com"
KEYS_PAGE = "https://platform.openai.com/account/api-keys"
RATE_LIMITS_PAGE = "https://platform.openai.com/account/rate-limits"
ERROR_CODES_PAGE = "https://platform.openai.com/docs/guides/error-codes/api-errors"

_KEY_PREFIX = re.compile(r"^(sk-(?:proj-|svcacct-|admin-)?)")


class ApiError(Exception):
    """One error response. Raised anywhere while handling a request, written by the handler.

    `raw_body` replaces the JSON body for errors that real infrastructure sends as HTML (a 502
    from the edge proxy), so clients meet the non-JSON bodies they will meet in production.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        raw_body: bytes | None = None,
        content_type: str = "application/json",
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers
        self.raw_body = raw_body
        self.content_type = content_type

    def error_object(self) -> dict[str, object]:
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}

    def body(self) -> bytes:
        if self.raw_body is not None:
            return self.raw_body
        return json.dumps({"error": self.error_object()}, indent=2).encode() + b"\n"


def mask_key(key: str) -> str:
    """The key as the API echoes it: its `sk-…` prefix and last four characters, never more."""
    match = _KEY_PREFIX.match(key)
    prefix = match.group(1) if match else ""
    rest = key[len(prefix) :]
    tail = rest[-4:] if len(rest) >= 12 else ""
    return f"{prefix}****{tail}"


def missing_api_key() -> ApiError:
    return ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
        "field (with blank username) if you're accessing the API from your browser and are "
        f"prompted for a username and password. You can obtain an API key from {KEYS_PAGE}.",
    )


def incorrect_api_key(key: str) -> ApiError:
    return ApiError(
        401,
        f"Incorrect API key provided: {mask_key(key)}. You can find your API key at {KEYS_PAGE}.",
        code="invalid_api_key",
    )


def model_not_found(model: str) -> ApiError:
    return ApiError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
    )


def invalid_url(method: str, path: str) -> ApiError:
    return ApiError(404, f"Invalid URL ({method} {path})")


def invalid_json() -> ApiError:
    return ApiError(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
        "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
        "sent was not valid JSON. If you have trouble figuring out how to fix this, please "
        f"contact us through our help center at {HELP_CENTER}.)",
    )


def context_length_exceeded(
    limit: int, prompt_tokens: int, completion_tokens: int | None = None
) -> ApiError:
    if completion_tokens is None:
        message = (
            f"This model's maximum context length is {limit} tokens. However, your messages "
            f"resulted in {prompt_tokens} tokens. Please reduce the length of the messages."
        )
    else:
        total = prompt_tokens + completion_tokens
        message = (
            f"This model's maximum context length is {limit} tokens. However, you requested "
            f"{total} tokens ({prompt_tokens} in the messages, {completion_tokens} in the "
            "completion). Please reduce the length of the messages or completion."
        )
    return ApiError(400, message, param="messages", code="context_length_exceeded")


def unsupported_parameter(param: str, hint: str = "") -> ApiError:
    suffix = f" {hint}" if hint else ""
    return ApiError(
        400,
        f"Unsupported parameter: '{param}' is not supported with this model.{suffix}",
        param=param,
        code="unsupported_parameter",
    )


def unsupported_value(param: str, value: object, default: object) -> ApiError:
    return ApiError(
        400,
        f"Unsupported value: '{param}' does not support {_show(value)} with this model. "
        f"Only the default ({_show(default)}) value is supported.",
        param=param,
        code="unsupported_value",
    )


def server_error(request_id: str) -> ApiError:
    return ApiError(
        500,
        "The server had an error processing your request. Sorry about that! You can retry your "
        f"request, or contact us through our help center at {HELP_CENTER} if you keep seeing "
        f"this error. (Please include the request ID {request_id} in your email.)",
        type="server_error",
    )


def bad_gateway_page() -> ApiError:
    page = (
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return ApiError(
        502, "Bad Gateway", raw_body=page.encode(), content_type="text/html; charset=utf-8"
    )


def generic(status: int) -> ApiError:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return ApiError(status, phrase, type=kind)


def _show(value: object) -> str:
    # The API prints numbers bare and strings quoted, as in "does not support 0.5" / "'system'".
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
