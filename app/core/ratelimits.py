"""Rate-limit headroom from the `x-ratelimit-*` response headers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> float | None:
    """Seconds in a reset duration as the API writes it (`1s`, `6m0s`, `20ms`, `1h2m3.5s`)."""
    text = text.strip()
    if not text:
        return None
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        try:
            return float(text)  # some compatible servers send plain seconds
        except ValueError:
            return None
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


@dataclass(frozen=True)
class RateLimits:
    """Remaining requests and tokens in the current window, and seconds until each resets."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_s: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_s: float | None = None

    @property
    def known(self) -> bool:
        return self.remaining_requests is not None or self.remaining_tokens is not None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimits:
        lowered = {k.lower(): v for k, v in headers.items()}

        def number(name: str) -> int | None:
            raw = lowered.get(f"x-ratelimit-{name}")
            try:
                return int(raw) if raw is not None else None
            except ValueError:
                return None

        def duration(name: str) -> float | None:
            raw = lowered.get(f"x-ratelimit-{name}")
            return parse_duration(raw) if raw is not None else None

        return cls(
            limit_requests=number("limit-requests"),
            remaining_requests=number("remaining-requests"),
            reset_requests_s=duration("reset-requests"),
            limit_tokens=number("limit-tokens"),
            remaining_tokens=number("remaining-tokens"),
            reset_tokens_s=duration("reset-tokens"),
        )
