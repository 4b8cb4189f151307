"""Remedies worded for the terminal: what a `chatdesk ask` user can do about a failure.

The classifier (`app/core/failures.py`) words its remedies for the window ("press Retry",
"open Settings"), which a terminal has none of. Here each kind of failure gets the command,
option or variable that does the same from a shell; the window's wording stays as it is.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from app.core.failures import ApiFailure, FailureKind
from app.core.problems import UserFacingError

AGAIN = "run the command again"
KEY_HINT = "`chatdesk key set` (or OPENAI_API_KEY)"
BASE_URL_HINT = "--base-url (or OPENAI_BASE_URL)"


def terminal_remedy(failure: UserFacingError, base_url: str = "") -> str:
    """The remedy of `failure` for the terminal; `base_url` is the server's address."""
    if not isinstance(failure, ApiFailure):
        # Refusals made before sending (an image, an option) already name what to change.
        return failure.remedy
    where = _shown_address(base_url) or "the server's address"
    kind = failure.kind
    if kind is FailureKind.AUTH:
        return f"Replace it with {KEY_HINT}, then {AGAIN}."
    if kind is FailureKind.PERMISSION:
        return (
            "Your key, organization or project may not have access to this model or region; "
            f"check them on the OpenAI dashboard, or use another key with {KEY_HINT}."
        )
    if kind is FailureKind.MODEL_NOT_FOUND:
        return (
            "Name another model with --model: your account may not have access to this one, "
            "or the server does not serve it."
        )
    if kind is FailureKind.CONTEXT_LENGTH:
        return (
            "Shorten the question or the system prompt, attach fewer images, lower "
            "--max-tokens, or pick a model with a larger context window (--model)."
        )
    if kind is FailureKind.RATE_LIMIT:
        wait = f" in {failure.retry_after:.0f} s" if failure.retry_after else " in a moment"
        return f"Too many requests or tokens per minute for this model; {AGAIN}{wait}."
    if kind is FailureKind.SERVER:
        if failure.status is None:
            # An error event in the middle of an answer: what arrived is printed above.
            return f"The partial answer stays printed; {AGAIN} to ask again."
        return f"This is on the server's side; {AGAIN} in a moment."
    if kind is FailureKind.CONNECTION:
        return _connection_remedy(failure.headline, where)
    if kind is FailureKind.TIMEOUT:
        return (
            f"{AGAIN.capitalize()}; if it keeps happening, raise the request timeout in the "
            "Chatdesk window's Settings."
        )
    if kind is FailureKind.MALFORMED:
        return (
            f"{AGAIN.capitalize()}; if it keeps happening, the server at {where} may not be "
            f"OpenAI-compatible (choose another with {BASE_URL_HINT})."
        )
    if kind is FailureKind.INTERRUPTED:
        return (
            "The connection closed before the answer finished; the partial answer stays "
            f"printed. {AGAIN.capitalize()} to ask again."
        )
    # QUOTA and BAD_REQUEST name no window control (the latter quotes the server).
    return failure.remedy


def _connection_remedy(headline: str, where: str) -> str:
    # The classifier tells its three connection failures apart by headline only.
    if headline == "Server not found":
        return f"The address {where} could not be resolved: check your network and {BASE_URL_HINT}."
    if headline == "Could not connect":
        return f"Nothing answered at {where}: check your network and {BASE_URL_HINT}."
    return f"Check your network connection and {AGAIN}; any partial answer stays printed."


def _shown_address(base_url: str) -> str:
    """`base_url` without any user name or password in it, to print."""
    try:
        parts = urlsplit(base_url)
    except ValueError:
        return ""
    if "@" not in parts.netloc:
        return base_url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
