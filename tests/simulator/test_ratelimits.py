"""x-ratelimit-* headers on every response, their decrements, and optional enforcement."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI

from app.simulator import SimulatorServer
from app.simulator.ratelimits import go_duration
from tests.simulator.helpers import user

HELLO = [user("hello")]
DURATION = re.compile(r"^(\d+ms|(\d+h)?(\d+m)?\d+(\.\d+)?s)$")
RATE_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)


def chat(client: OpenAI) -> Any:
    """A chat request through the SDK, returning the raw response (headers and body)."""
    return client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HELLO)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/chat/completions", 200),
        ("GET", "/v1/models", 200),
        ("GET", "/v1/models/nope", 404),
        ("POST", "/v1/chat/completions-typo", 404),
    ],
)
def test_every_response_has_rate_limit_and_request_headers(
    http: httpx2.Client, method: str, path: str, status: int
) -> None:
    """Success and error responses alike carry the rate-limit, request-id and timing headers."""
    response = http.request(method, path, json={"model": "gpt-4o", "messages": HELLO})
    assert response.status_code == status
    for name in RATE_HEADERS:
        assert name in response.headers, name
    assert DURATION.match(response.headers["x-ratelimit-reset-requests"])
    assert DURATION.match(response.headers["x-ratelimit-reset-tokens"])
    assert re.fullmatch(r"req_[0-9a-f]{32}", response.headers["x-request-id"])
    assert response.headers["openai-processing-ms"].isdigit()


def test_remaining_budget_decrements_per_request_and_tokens(client: OpenAI) -> None:
    """Each chat request takes one request and its total tokens off the remaining budget."""
    first, second = chat(client), chat(client)
    used = second.parse().usage.total_tokens
    requests = [int(r.headers["x-ratelimit-remaining-requests"]) for r in (first, second)]
    tokens = [int(r.headers["x-ratelimit-remaining-tokens"]) for r in (first, second)]
    limit = int(first.headers["x-ratelimit-limit-requests"])
    assert requests == [limit - 1, limit - 2]
    assert tokens[0] - tokens[1] == used
    assert first.headers["x-ratelimit-reset-requests"] != "0s"


def test_enforced_limits_answer_429(sim: SimulatorServer, client: OpenAI) -> None:
    """With enforcement on, the request over the per-minute limit gets rate_limit_exceeded."""
    sim.set_rate_limits(requests=2, tokens=1_000_000, enforce=True)
    chat(client)
    last = chat(client)
    assert last.headers["x-ratelimit-remaining-requests"] == "0"
    with pytest.raises(openai.RateLimitError) as caught:
        chat(client)
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.type == "requests"
    assert "on requests per min (RPM): Limit 2, Used 2, Requested 1." in caught.value.message
    assert int(caught.value.response.headers["retry-after"]) >= 1


def test_enforced_token_limit(sim: SimulatorServer, client: OpenAI) -> None:
    """A request that would exceed the token budget is refused on tokens per min."""
    sim.set_rate_limits(requests=100, tokens=10, enforce=True)
    with pytest.raises(openai.RateLimitError) as caught:
        chat(client)
    assert caught.value.type == "tokens"
    assert "on tokens per min (TPM): Limit 10, Used 0" in caught.value.message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.02, "20ms"), (1, "1s"), (17.28, "17.28s"), (360, "6m0s"), (3723.5, "1h2m3.5s")],
)
def test_go_duration_format(seconds: float, text: str) -> None:
    """Reset times use Go's duration format, as the API's headers do."""
    assert go_duration(seconds) == text
