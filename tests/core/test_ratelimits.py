"""Rate-limit headroom parsed from the API's x-ratelimit-* headers."""

from __future__ import annotations

import pytest

from app.core.ratelimits import RateLimits, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("0.5s", 0.5),
        ("12", 12.0),
    ],
)
def test_reset_durations_in_the_api_format_are_parsed(text: str, seconds: float) -> None:
    """The API writes resets like `6m0s` and `20ms`; they become seconds."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "1s later"])
def test_unreadable_durations_are_unknown_not_an_error(text: str) -> None:
    """A server that writes something else gets 'unknown', never a crash."""
    assert parse_duration(text) is None


def test_headers_give_remaining_requests_and_tokens() -> None:
    """All six headers are read, case-insensitively."""
    limits = RateLimits.from_headers(
        {
            "X-RateLimit-Limit-Requests": "500",
            "x-ratelimit-remaining-requests": "499",
            "x-ratelimit-reset-requests": "120ms",
            "x-ratelimit-limit-tokens": "30000",
            "x-ratelimit-remaining-tokens": "29950",
            "x-ratelimit-reset-tokens": "100ms",
        }
    )
    assert limits == RateLimits(500, 499, 0.12, 30000, 29950, 0.1)
    assert limits.known


def test_servers_without_rate_limit_headers_report_unknown_headroom() -> None:
    """Compatible servers often send none: nothing is known, nothing breaks."""
    limits = RateLimits.from_headers(
        {"content-type": "text/event-stream", "x-ratelimit-remaining-requests": "n/a"}
    )
    assert not limits.known
