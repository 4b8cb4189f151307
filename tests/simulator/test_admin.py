"""The admin endpoint, driven from another process running `python -m app.simulator`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx2
import openai
import pytest
from openai import OpenAI

from app.simulator import Fault
from tests.simulator.helpers import API_KEY, HANG_GUARD_SECONDS, user

HELLO = [user("hello from a test")]


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """A simulator in a child process; yields its base URL (the first line it prints)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.simulator", "--port", "0", "--api-key", API_KEY],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        yield base_url
    finally:
        process.terminate()
        assert process.wait(HANG_GUARD_SECONDS) == 0


@pytest.fixture
def admin(served: str) -> Iterator[httpx2.Client]:
    root = served.removesuffix("/v1")
    with httpx2.Client(base_url=root + "/_simulator", timeout=HANG_GUARD_SECONDS) as http:
        http.delete("/faults")
        http.delete("/requests")
        yield http


@pytest.fixture
def sdk(served: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=served, api_key=API_KEY, max_retries=0) as client:
        yield client


def test_faults_scripted_over_http_apply_in_the_other_process(
    admin: httpx2.Client, sdk: OpenAI
) -> None:
    """POSTed fault specs are queued and consumed by the next chat requests, in order."""
    specs = [
        Fault.status(429, code="insufficient_quota").to_spec(),
        {"kind": "status", "status": 500},
    ]
    assert admin.post("/faults", json=specs).json() == {"queued": 2}
    assert [f["status"] for f in admin.get("/faults").json()["data"]] == [429, 500]
    with pytest.raises(openai.RateLimitError) as caught:
        sdk.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert caught.value.code == "insufficient_quota"
    with pytest.raises(openai.InternalServerError):
        sdk.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert sdk.chat.completions.create(model="gpt-4o", messages=HELLO).choices


def test_stream_fault_scripted_over_http(admin: httpx2.Client, sdk: OpenAI) -> None:
    """A disconnect spec from another process breaks the next stream after N chunks."""
    admin.post("/faults", json=[{"kind": "disconnect", "after_chunks": 2}])
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in sdk.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True):
            received.append(chunk)
    assert len(received) == 2


def test_received_requests_are_readable_over_http(admin: httpx2.Client, sdk: OpenAI) -> None:
    """GET /_simulator/requests lists the chat requests with bodies and a masked key."""
    sdk.chat.completions.create(model="gpt-4o", messages=HELLO, seed=5)
    (request,) = admin.get("/requests").json()["data"]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["messages"] == HELLO and request["body"]["seed"] == 5
    assert request["headers"]["authorization"] == "Bearer sk-****ghij"
    assert admin.delete("/requests").status_code == 200
    assert admin.get("/requests").json()["data"] == []


def test_invalid_fault_spec_is_refused(admin: httpx2.Client) -> None:
    """A bad spec gets a 400 and queues nothing."""
    response = admin.post("/faults", json=[{"kind": "stall"}, {"kind": "explode"}])
    assert response.status_code == 400
    assert "kind" in response.json()["error"]["message"]
    assert admin.get("/faults").json()["data"] == []


def test_rate_limits_set_over_http(admin: httpx2.Client, sdk: OpenAI) -> None:
    """POST /_simulator/rate_limits changes the limits the headers report."""
    admin.post("/rate_limits", json={"requests": 7, "tokens": 9000})
    raw = sdk.chat.completions.with_raw_response.create(model="gpt-4o", messages=HELLO)
    assert raw.headers["x-ratelimit-limit-requests"] == "7"
    assert raw.headers["x-ratelimit-remaining-requests"] == "6"
    admin.post("/rate_limits", json={})
