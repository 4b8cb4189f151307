"""Keep API keys out of every log line, error message and status text.

`redact` masks anything shaped like an OpenAI key or a bearer token, the user name and password
of a URL (`https://…@host`), plus any secret registered in a `SecretRegistry` (keys for
OpenAI-compatible servers need not look like `sk-…`). What is left is a hint a person can match
against their own records: `sk-proj-…abcd`.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable

ELLIPSIS = "…"
# Registered secrets shorter than this are ignored: masking every occurrence of a short word
# (Ollama accepts "ollama" as a key) would mangle ordinary text and protect nothing.
MIN_SECRET_LENGTH = 8
# Below this many characters after the prefix, even the last four would reveal too much.
_MIN_BODY_FOR_HINT = 12
_KEY_PREFIXES = ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-")

# OpenAI keys: `sk-` then base64url-ish characters; real ones are 48 to 200+ characters long.
# The lookbehind keeps words such as "chatdesk-…" or "risk-…" intact, but still catches a key
# right after a digit or an uppercase letter, as in URL-encoded text ("%3Dsk-…").
# Servers and proxies sometimes echo a key upper-cased ("SK-PROJ-…") or title-cased
# ("Sk-Proj-…"); those forms are keys too, but need an uppercase letter before them to be part
# of a word (TASK-…, DESK-…) rather than a lowercase one.
_KEY_PATTERN = r"(?:(?<![a-z])sk|(?<![A-Za-z])(?:SK|Sk))-[A-Za-z0-9_\-]{20,}"
# RFC 6750 token68 characters; the length floor spares prose such as "Bearer authentication".
_BEARER_PATTERN = r"(?P<scheme>(?i:\bbearer)\s+)(?P<token>[A-Za-z0-9._~+/\-]{16,}=*)"
# The userinfo of a URL (RFC 3986 §3.2.1): a base URL such as http://user:key@host/v1 carries
# its credentials into every message that names the server.
_USERINFO_PATTERN = r"(?P<url_scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#@\s]+)@"


def mask_secret(secret: str) -> str:
    """A recognisable but useless form of `secret`: its key prefix, an ellipsis, the last 4."""
    # The echoed prefix is kept as written ("SK-PROJ-…") so the hint matches what was seen.
    folded = secret.lower()
    prefix = next((secret[: len(p)] for p in _KEY_PREFIXES if folded.startswith(p)), "")
    body = secret[len(prefix) :]
    tail = body[-4:] if len(body) >= _MIN_BODY_FOR_HINT else ""
    return f"{prefix}{ELLIPSIS}{tail}"


@functools.lru_cache(maxsize=32)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str]:
    # One alternation applied in a single pass, so masked output is never matched again.
    # Registered secrets match in any letter case: an error body may echo the key upper-cased,
    # and a masked hint is harmless where the text merely resembled it.
    literal = "|".join(re.escape(s) for s in secrets)
    parts = [f"(?P<literal>(?i:{literal}))"] if literal else []
    parts += [_USERINFO_PATTERN, f"(?P<key>{_KEY_PATTERN})", _BEARER_PATTERN]
    return re.compile("|".join(parts))


def _replace(match: re.Match[str]) -> str:
    if match.group("userinfo") is not None:
        return f"{match.group('url_scheme')}{ELLIPSIS}@"
    token = match.group("token")
    if token is not None:
        return match.group("scheme") + mask_secret(token)
    return mask_secret(match.group(0))


def redact(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """`text` with every key-shaped string, bearer token, URL credential and listed secret
    masked; listed secrets in any letter case."""
    secrets = tuple(
        # Longest first, so a secret containing another is masked whole.
        sorted(
            {s.lower() for s in extra_secrets if len(s) >= MIN_SECRET_LENGTH},
            key=lambda s: (-len(s), s),
        )
    )
    return _pattern(secrets).sub(_replace, text)


def without_userinfo(url: str) -> str:
    """`url` with any user name and password replaced by an ellipsis, and nothing else masked.

    For showing a server's address, where `redact` would also mask a host name that merely
    looks like a key (sk-prod-gateway-01.example.com).
    """
    return re.sub(_USERINFO_PATTERN, lambda m: f"{m.group('url_scheme')}{ELLIPSIS}@", url)


class SecretRegistry:
    """The secrets in use right now, shared by every place that writes text out.

    Thread-safe: keys are resolved on worker threads while log records are formatted on others.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if len(secret) >= MIN_SECRET_LENGTH:
            with self._lock:
                self._secrets.add(secret)

    def discard(self, secret: str) -> None:
        with self._lock:
            self._secrets.discard(secret)

    def snapshot(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._secrets)

    def __len__(self) -> int:
        with self._lock:
            return len(self._secrets)

    def redact(self, text: str) -> str:
        """`text` redacted against the patterns and every secret registered now."""
        return redact(text, self.snapshot())
