"""Scripted faults as the SDK experiences them: status errors, retries, broken streams."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx2
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from app.simulator import Fault, SimulatorServer
from tests.simulator.helpers import API_KEY, HANG_GUARD_SECONDS, user, validate

HELLO = [user("hello there, tell me a story")]


def create(client: OpenAI, **params: Any) -> Any:
    return client.chat.completions.create(model="gpt-4o", messages=HELLO, **params)


def consume(client: OpenAI, chunks: list[Any]) -> None:
    """Stream a reply, appending each chunk as it arrives (so a test sees how far it got)."""
    for chunk in create(client, stream=True):
        chunks.append(chunk)


@pytest.mark.parametrize(
    ("status", "code", "exception", "error_code", "error_type"),
    [
        (400, None, openai.BadRequestError, "context_length_exceeded", "invalid_request_error"),
        (401, None, openai.AuthenticationError, "invalid_api_key", "invalid_request_error"),
        (
            403,
            None,
            openai.PermissionDeniedError,
            "unsupported_country_region_territory",
            "request_forbidden",
        ),
        (404, None, openai.NotFoundError, "model_not_found", "invalid_request_error"),
        (429, None, openai.RateLimitError, "rate_limit_exceeded", "requests"),
        (
            429,
            "insufficient_quota",
            openai.RateLimitError,
            "insufficient_quota",
            "insufficient_quota",
        ),
        (500, None, openai.InternalServerError, None, "server_error"),
        (503, None, openai.InternalServerError, None, "server_error"),
    ],
)
def test_status_faults_become_the_right_sdk_exception(
    sim: SimulatorServer,
    client: OpenAI,
    status: int,
    code: str | None,
    exception: type[openai.APIStatusError],
    error_code: str | None,
    error_type: str,
) -> None:
    """Each scripted status has a realistic body the SDK maps to its exception and code."""
    sim.script(Fault.status(status, code=code))
    with pytest.raises(exception) as caught:
        create(client)
    assert caught.value.status_code == status
    assert caught.value.code == error_code
    assert caught.value.type == error_type
    validate("ErrorResponse", caught.value.response.json())


def test_rate_limit_fault_wording(sim: SimulatorServer, client: OpenAI) -> None:
    """The default 429 reads like the API's RPM message, naming the model and organization."""
    sim.script(Fault.status(429, retry_after=20))
    with pytest.raises(openai.RateLimitError) as caught:
        create(client)
    assert caught.value.message.startswith(
        "Error code: 429 - Rate limit reached for gpt-4o in organization org-simulator on "
        "requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s."
    )
    assert caught.value.response.headers["retry-after"] == "20"


def test_bad_gateway_is_an_html_page(sim: SimulatorServer, client: OpenAI) -> None:
    """A 502 comes as the edge proxy's HTML page, so the SDK error has no code."""
    sim.script(Fault.status(502))
    with pytest.raises(openai.InternalServerError) as caught:
        create(client)
    assert caught.value.status_code == 502
    assert caught.value.code is None
    assert "<h1>502 Bad Gateway</h1>" in caught.value.response.text


def test_status_fault_fields_can_be_overridden(sim: SimulatorServer, client: OpenAI) -> None:
    """Message, type and code of a status fault can be set explicitly."""
    sim.script(Fault.status(409, message="Busy elsewhere", type="conflict", code="busy"))
    with pytest.raises(openai.ConflictError) as caught:
        create(client)
    assert (caught.value.code, caught.value.type) == ("busy", "conflict")
    assert caught.value.body["message"] == "Busy elsewhere"


def test_sdk_retries_consume_the_next_faults(sim: SimulatorServer) -> None:
    """Two scripted 500s then success: the SDK's retries see each fault in turn and succeed."""
    sim.script(Fault.status(500, retry_after=0.01), Fault.status(503, retry_after=0.01))
    with OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=2) as sdk:
        reply = create(sdk)
    assert reply.choices[0].message.content
    counts = [r.headers["x-stainless-retry-count"] for r in sim.requests]
    assert counts == ["0", "1", "2"]
    assert sim.pending_faults() == []


def test_retries_exhausted_raise_the_last_fault(sim: SimulatorServer) -> None:
    """When every attempt fails the SDK raises the error of the last attempt."""
    sim.script(*[Fault.status(s, retry_after=0.01) for s in (500, 503, 429)])
    with (
        OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=2) as sdk,
        pytest.raises(openai.RateLimitError),
    ):
        create(sdk)
    assert len(sim.requests) == 3


def test_retry_after_is_honoured_by_the_sdk(sim: SimulatorServer) -> None:
    """The SDK retries after a Retry-After it accepts and refuses one over two minutes."""
    sim.script(Fault.status(429, retry_after=0.05))
    with OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=1) as sdk:
        assert create(sdk).choices
        assert len(sim.requests) == 2
        sim.clear_requests()
        sim.script(Fault.status(429, retry_after=600))
        with pytest.raises(openai.RateLimitError):
            create(sdk)
    assert len(sim.requests) == 1


def test_faults_are_consumed_one_per_chat_request_in_order(
    sim: SimulatorServer, client: OpenAI
) -> None:
    """Faults apply FIFO, one per chat request; other endpoints do not consume them."""
    sim.script(Fault.status(500), Fault.status(404))
    client.models.list()
    with pytest.raises(openai.InternalServerError):
        create(client)
    with pytest.raises(openai.NotFoundError):
        create(client)
    assert create(client).choices


def test_disconnect_mid_stream_is_a_connection_error(sim: SimulatorServer, client: OpenAI) -> None:
    """A dropped socket after 3 chunks surfaces as APIConnectionError after those 3 chunks."""
    sim.script(Fault.disconnect(after_chunks=3))
    chunks: list[Any] = []
    with pytest.raises(openai.APIConnectionError) as caught:
        consume(client, chunks)
    assert not isinstance(caught.value, openai.APITimeoutError)
    assert len(chunks) == 3


def test_malformed_chunk_is_a_json_decode_error(sim: SimulatorServer, client: OpenAI) -> None:
    """A `data:` line that is not JSON makes the SDK raise JSONDecodeError, not an APIError."""
    sim.script(Fault.malformed(after_chunks=2))
    chunks: list[Any] = []
    with pytest.raises(json.JSONDecodeError):
        consume(client, chunks)
    assert len(chunks) == 2


def test_stream_error_event_is_an_api_error(sim: SimulatorServer, client: OpenAI) -> None:
    """An SSE error event mid-stream raises APIError (not a status error) carrying the body."""
    sim.script(Fault.stream_error(after_chunks=4, message="Overloaded", code="overloaded"))
    chunks: list[Any] = []
    with pytest.raises(openai.APIError) as caught:
        consume(client, chunks)
    assert not isinstance(caught.value, openai.APIStatusError | openai.APIConnectionError)
    assert caught.value.message == "Overloaded"
    assert caught.value.code == "overloaded"
    assert caught.value.type == "server_error"
    assert len(chunks) == 4


def test_stall_past_the_read_timeout_is_a_timeout_error(sim: SimulatorServer) -> None:
    """A stream that stops sending trips the client's read timeout: APITimeoutError."""
    sim.script(Fault.stall(after_chunks=2))
    timeout = httpx2.Timeout(HANG_GUARD_SECONDS, read=0.2)
    chunks: list[Any] = []
    with (
        OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0, timeout=timeout) as sdk,
        pytest.raises(openai.APITimeoutError),
    ):
        consume(sdk, chunks)
    assert len(chunks) == 2


def test_short_stall_then_the_stream_resumes(sim: SimulatorServer, client: OpenAI) -> None:
    """A stall shorter than the client's patience only delays the stream, which completes."""
    sim.script(Fault.stall(after_chunks=2, seconds=0.05))
    chunks: list[Any] = []
    consume(client, chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stop_ends_a_stalled_stream(sim: SimulatorServer, client: OpenAI) -> None:
    """stop() returns with a stream stalled forever; the client then sees a connection error."""
    sim.script(Fault.stall(after_chunks=1))
    stream = create(client, stream=True)
    assert next(stream).choices[0].delta.role == "assistant"
    stopper = threading.Thread(target=sim.stop)
    stopper.start()
    with pytest.raises(openai.APIConnectionError):
        list(stream)
    stopper.join(HANG_GUARD_SECONDS)
    assert not stopper.is_alive()


@pytest.mark.parametrize(
    ("fault", "exception"),
    [
        (Fault.disconnect(), openai.APIConnectionError),
        (Fault.malformed(), json.JSONDecodeError),
        (Fault.stream_error(), openai.InternalServerError),
    ],
)
def test_stream_faults_on_a_non_streamed_request(
    sim: SimulatorServer, client: OpenAI, fault: Fault, exception: type[Exception]
) -> None:
    """Stream faults also break a non-streamed reply: no response, half a body, or a 500."""
    sim.script(fault)
    with pytest.raises(exception):
        create(client)


@pytest.mark.parametrize(
    ("fault", "exception"),
    [
        (Fault.disconnect(after_chunks=3), openai.APIConnectionError),
        (Fault.malformed(after_chunks=3), json.JSONDecodeError),
        (Fault.stream_error(after_chunks=3), openai.APIError),
    ],
)
def test_async_client_sees_the_same_stream_faults(
    sim: SimulatorServer, fault: Fault, exception: type[Exception]
) -> None:
    """The async SDK raises the same exception types after the same number of chunks."""
    sim.script(fault)
    chunks: list[Any] = []

    async def run() -> None:
        async with AsyncOpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0) as sdk:
            stream = await sdk.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
            async for chunk in stream:
                chunks.append(chunk)

    with pytest.raises(exception):
        asyncio.run(run())
    assert len(chunks) == 3


def test_connection_is_reused_after_a_fault(sim: SimulatorServer, client: OpenAI) -> None:
    """After an error response the SDK keeps using the same keep-alive connection."""
    sim.script(Fault.status(500))
    with pytest.raises(openai.InternalServerError):
        create(client)
    assert create(client).choices
    assert len({r.peer for r in sim.requests}) == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault.status(429, code="insufficient_quota", retry_after=1.5),
        Fault.disconnect(after_chunks=3),
        Fault.malformed(after_chunks=1),
        Fault.stall(after_chunks=2, seconds=0.5),
        Fault.stall(),
        Fault.stream_error(after_chunks=5, message="boom", type="server_error", code="x"),
    ],
)
def test_fault_specs_round_trip(fault: Fault) -> None:
    """to_spec/from_spec (the admin endpoint's format) preserve every fault field."""
    assert Fault.from_spec(json.loads(json.dumps(fault.to_spec()))) == fault


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "explode"},
        {"kind": "status"},
        {"kind": "status", "status": 200},
        {"kind": "disconnect", "after_chunks": -1},
        {"kind": "stall", "seconds": "long"},
        {"kind": "malformed", "colour": "red"},
    ],
)
def test_invalid_fault_specs_are_refused(spec: dict[str, Any]) -> None:
    """A malformed spec raises ValueError instead of scripting something unintended."""
    with pytest.raises(ValueError):
        Fault.from_spec(spec)
