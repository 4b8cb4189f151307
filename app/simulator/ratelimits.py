"""Requests-per-minute and tokens-per-minute budgets, reported in `x-ratelimit-*` headers.

The budget refills all at once a minute after the first request that drew on it, so a test's
consecutive requests see strictly falling `remaining` values however slow the machine is.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.simulator.errors import RATE_LIMITS_PAGE, ApiError

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    """Per-minute budgets; `enforce` refuses requests beyond them with the API's 429."""

    requests: int = 5_000
    tokens: int = 2_000_000
    enforce: bool = False


def go_duration(seconds: float) -> str:
    """Format like Go's time.Duration, as the API does: `20ms`, `1s`, `6m0s`, `1h2m3.5s`."""
    if seconds <= 0:
        return "0s"
    millis = round(seconds * 1000)
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


class RateLimiter:
    """Thread-safe budget for one server; `draw` charges a chat request against it."""

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._limits = limits or Limits()
        self._window_end: float | None = None
        self._used_requests = 0
        self._used_tokens = 0

    def configure(self, limits: Limits) -> None:
        with self._lock:
            self._limits = limits
            self._window_end = None
            self._used_requests = self._used_tokens = 0

    def headers(self) -> list[tuple[str, str]]:
        """The current state, for responses that do not draw on the budget."""
        with self._lock:
            self._roll()
            return self._headers()

    def draw(
        self, tokens: int, *, model: str, organization: str
    ) -> tuple[list[tuple[str, str]], ApiError | None]:
        """Charge one request of `tokens`; with enforcement on, refuse it when over budget."""
        with self._lock:
            self._roll()
            limits = self._limits
            if self._window_end is None:
                self._window_end = self._clock() + WINDOW_SECONDS
            wait = max(0.0, self._window_end - self._clock())
            if limits.enforce and self._used_requests + 1 > limits.requests:
                return self._headers(), _limited(
                    model,
                    organization,
                    "requests",
                    "RPM",
                    limits.requests,
                    self._used_requests,
                    1,
                    wait,
                )
            if limits.enforce and self._used_tokens + tokens > limits.tokens:
                return self._headers(), _limited(
                    model,
                    organization,
                    "tokens",
                    "TPM",
                    limits.tokens,
                    self._used_tokens,
                    tokens,
                    wait,
                )
            self._used_requests += 1
            self._used_tokens += tokens
            return self._headers(), None

    def _roll(self) -> None:
        if self._window_end is not None and self._clock() >= self._window_end:
            self._window_end = None
            self._used_requests = self._used_tokens = 0

    def _headers(self) -> list[tuple[str, str]]:
        limits = self._limits
        left = 0.0 if self._window_end is None else self._window_end - self._clock()
        reset_requests = left if self._used_requests else 0.0
        reset_tokens = left if self._used_tokens else 0.0
        return [
            ("x-ratelimit-limit-requests", str(limits.requests)),
            ("x-ratelimit-limit-tokens", str(limits.tokens)),
            ("x-ratelimit-remaining-requests", str(max(0, limits.requests - self._used_requests))),
            ("x-ratelimit-remaining-tokens", str(max(0, limits.tokens - self._used_tokens))),
            ("x-ratelimit-reset-requests", go_duration(reset_requests)),
            ("x-ratelimit-reset-tokens", go_duration(reset_tokens)),
        ]


def _limited(
    model: str,
    organization: str,
    kind: str,
    unit: str,
    limit: int,
    used: int,
    requested: int,
    wait: float,
) -> ApiError:
    return ApiError(
        429,
        f"Rate limit reached for {model} in organization {organization} on {kind} per min "
        f"({unit}): Limit {limit}, Used {used}, Requested {requested}. Please try again in "
        f"{go_duration(wait)}. Visit {RATE_LIMITS_PAGE} to learn more.",
        type=kind,
        code="rate_limit_exceeded",
        headers=(("retry-after", str(max(1, math.ceil(wait)))),),
    )
