"""The streaming client through the real SDK over real loopback HTTP against the simulator."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from app.core.client import ChatClient, ConnectionConfig
from app.core.events import (
    ChoiceFinished,
    LogprobsDelta,
    ReplyMeta,
    ResponseStarted,
    RetryScheduled,
    TextDelta,
    UsageReported,
)
from app.core.failures import ApiFailure, FailureKind
from app.core.images import prepare_image_bytes
from app.core.messages import ChatMessage, Detail
from app.core.params import ChatParams
from app.core.request import build_request
from app.core.tokens import count_prompt_tokens, count_text
from app.simulator import Fault, SimulatorServer

KEY = "sk-proj-TESTKEY0123456789abcdefghijklmnopqrstuv"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(api_key=KEY) as server:
        yield server


def make_client(sim: SimulatorServer, **overrides: Any) -> ChatClient:
    config = dict(api_key=KEY, base_url=sim.base_url, timeout_s=5.0, max_retries=2) | overrides
    return ChatClient(ConnectionConfig(**config))


def body(
    prompt: str = "Tell me about streams", params: ChatParams | None = None, **kw: Any
) -> dict[str, Any]:
    return build_request("gpt-4o-mini", [ChatMessage.user(prompt)], params or ChatParams(), **kw)


async def collect(client: ChatClient, request: dict[str, Any], **kw: Any) -> list[object]:
    events = [event async for event in client.stream_chat(request, **kw)]
    await client.aclose()
    return events


def text_of(events: list[object], choice: int = 0) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta) and e.choice == choice)


def test_streamed_answer_arrives_in_pieces_with_usage_and_headers(sim: SimulatorServer) -> None:
    """A reply streams as many text deltas, then a finish reason and the server's usage."""
    events = asyncio.run(collect(make_client(sim), body()))
    started = events[0]
    assert isinstance(started, ResponseStarted)
    assert started.rate_limits.remaining_requests is not None
    assert started.request_id
    meta = next(e for e in events if isinstance(e, ReplyMeta))
    assert meta.system_fingerprint and meta.model.startswith("gpt-4o-mini")
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 5
    assert "Tell me about streams" in text_of(events)
    assert [e.reason for e in events if isinstance(e, ChoiceFinished)] == ["stop"]
    usage = next(e.usage for e in events if isinstance(e, UsageReported))
    assert not usage.estimated and usage.completion_tokens > 0
    assert usage.prompt_tokens == count_prompt_tokens(body()["messages"], "gpt-4o-mini")


def test_organization_and_project_headers_are_sent(sim: SimulatorServer) -> None:
    """Settings' organization and project reach the server as OpenAI-* headers."""
    client = make_client(sim, organization="org-abc", project="proj_123")
    asyncio.run(collect(client, body()))
    headers = {k.lower(): v for k, v in sim.requests[-1].headers.items()}
    assert headers["openai-organization"] == "org-abc"
    assert headers["openai-project"] == "proj_123"


def test_several_choices_stream_side_by_side(sim: SimulatorServer) -> None:
    """With n=3 every choice gets its own text and finish reason."""
    events = asyncio.run(collect(make_client(sim), body(params=ChatParams(n=3))))
    assert {e.choice for e in events if isinstance(e, ChoiceFinished)} == {0, 1, 2}
    assert len({text_of(events, i) for i in range(3)}) == 3


def test_logprobs_stream_with_alternatives(sim: SimulatorServer) -> None:
    """Logprobs arrive per token with the requested number of alternatives."""
    request = body("Say hi", ChatParams(logprobs=True, top_logprobs=3))
    events = asyncio.run(collect(make_client(sim), request))
    tokens = [t for e in events if isinstance(e, LogprobsDelta) for t in e.tokens]
    assert tokens and all(t.logprob <= 0 and len(t.top) == 3 for t in tokens)
    assert "".join(t.token for t in tokens) == text_of(events)


def test_length_finish_reason_is_reported(sim: SimulatorServer) -> None:
    """A max-tokens cut ends with finish reason 'length'."""
    events = asyncio.run(collect(make_client(sim), body(params=ChatParams(max_output_tokens=3))))
    assert [e.reason for e in events if isinstance(e, ChoiceFinished)] == ["length"]


def test_images_reach_the_server_as_data_urls(sim: SimulatorServer) -> None:
    """Two prepared images travel as base64 data URLs and the answer describes them."""
    parts = []
    for size, fmt in (((3000, 1000), "PNG"), ((300, 200), "JPEG")):
        buffer = io.BytesIO()
        Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
        parts.append(prepare_image_bytes(buffer.getvalue(), Detail.HIGH, f"img.{fmt}").part)
    request = build_request(
        "gpt-4o", [ChatMessage.user("What are these?", tuple(parts))], ChatParams()
    )
    events = asyncio.run(collect(make_client(sim), request))
    sent = sim.requests[-1].body["messages"][0]["content"]
    urls = [p["image_url"]["url"] for p in sent if p["type"] == "image_url"]
    assert len(urls) == 2 and all(u.startswith("data:image/") for u in urls)
    first = Image.open(io.BytesIO(base64.b64decode(urls[0].split(",", 1)[1])))
    assert first.size == (2048, 683)  # fit in 2048×2048; shortest side already under 768
    answer = text_of(events)
    assert "2 images" in answer or "two images" in answer.lower()


def test_usage_is_estimated_with_tiktoken_when_the_server_sends_none() -> None:
    """A server without usage gets an estimate, marked as such, counted like the API."""
    with SimulatorServer(send_usage=False) as sim:
        request = body("Count my tokens please")
        events = asyncio.run(collect(make_client(sim), request))
    usage = next(e.usage for e in events if isinstance(e, UsageReported))
    assert usage.estimated
    assert usage.prompt_tokens == count_prompt_tokens(request["messages"], "gpt-4o-mini")
    assert usage.completion_tokens == count_text(text_of(events), "gpt-4o-mini")


def test_cancelling_mid_stream_closes_the_stream_and_keeps_what_arrived() -> None:
    """Cancelling the consuming task stops the stream; the text so far is intact."""
    received: list[str] = []

    async def consume(client: ChatClient) -> None:
        async for event in client.stream_chat(body()):
            if isinstance(event, TextDelta):
                received.append(event.text)

    async def scenario(sim: SimulatorServer) -> None:
        client = make_client(sim)
        task = asyncio.create_task(consume(client))
        while len(received) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.aclose()

    with SimulatorServer(chunk_delay=0.05, answer_words=200) as sim:
        asyncio.run(asyncio.wait_for(scenario(sim), 20))
        partial = "".join(received)
    assert 3 <= len(received) < 100 and partial


@pytest.mark.parametrize(
    ("fault", "kind", "headline"),
    [
        (Fault.status(401), FailureKind.AUTH, "API key rejected"),
        (Fault.status(403), FailureKind.PERMISSION, "Access denied"),
        (Fault.status(404), FailureKind.MODEL_NOT_FOUND, "not found"),
        (Fault.status(400, code="context_length_exceeded"), FailureKind.CONTEXT_LENGTH, "too long"),
        (Fault.status(429, code="insufficient_quota"), FailureKind.QUOTA, "Out of credit"),
        (Fault.status(429, retry_after=0.01), FailureKind.RATE_LIMIT, "Rate limit"),
        (Fault.status(500), FailureKind.SERVER, "problem (500)"),
        (Fault.status(503), FailureKind.SERVER, "problem (503)"),
    ],
)
def test_each_error_of_the_api_maps_to_a_headline_and_remedy(
    sim: SimulatorServer, fault: Fault, kind: FailureKind, headline: str
) -> None:
    """Every row of the API's error table becomes a classified failure a user can act on."""
    sim.script(fault, fault, fault)
    with pytest.raises(ApiFailure) as caught:
        asyncio.run(collect(make_client(sim, max_retries=0), body()))
    failure = caught.value
    assert failure.kind is kind and headline in failure.headline
    assert failure.remedy and KEY not in str(failure) and KEY not in failure.detail


def test_a_wrong_key_is_rejected_without_echoing_it(sim: SimulatorServer) -> None:
    """A real 401 for a wrong key says what to do and never contains the key."""
    wrong = "sk-proj-WRONGKEY9876543210zyxwvutsrqponmlkjihg"
    with pytest.raises(ApiFailure) as caught:
        asyncio.run(collect(make_client(sim, api_key=wrong), body()))
    assert caught.value.kind is FailureKind.AUTH and "Settings" in caught.value.remedy
    assert wrong not in str(caught.value) + caught.value.detail


def test_unknown_model_gets_model_not_found(sim: SimulatorServer) -> None:
    """Asking for a model the server does not have names that model."""
    request = build_request("gpt-9-ultra", [ChatMessage.user("hi")], ChatParams())
    with pytest.raises(ApiFailure) as caught:
        asyncio.run(collect(make_client(sim), request))
    assert (
        caught.value.kind is FailureKind.MODEL_NOT_FOUND and "gpt-9-ultra" in caught.value.headline
    )


def test_rate_limits_are_retried_by_the_sdk_honouring_retry_after(sim: SimulatorServer) -> None:
    """Two 429s with Retry-After, then success: the answer arrives and each retry was announced."""
    sim.script(Fault.status(429, retry_after=0.05), Fault.status(503, retry_after=0.05))
    retries: list[RetryScheduled] = []
    events = asyncio.run(collect(make_client(sim), body(), on_retry=retries.append))
    assert text_of(events)
    assert [(r.attempt, r.status) for r in retries] == [(1, 429), (2, 503)]
    assert retries[0].wait_s == pytest.approx(0.05)
    assert len(sim.requests) == 3


def test_insufficient_quota_is_not_retried(sim: SimulatorServer) -> None:
    """An exhausted quota fails at once: retrying a 429 quota error cannot succeed."""
    sim.script(*[Fault.status(429, code="insufficient_quota")] * 3)
    retries: list[RetryScheduled] = []
    with pytest.raises(ApiFailure) as caught:
        asyncio.run(collect(make_client(sim), body(), on_retry=retries.append))
    assert caught.value.kind is FailureKind.QUOTA
    assert len(sim.requests) == 1 and retries == []


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault.disconnect(after_chunks=3), FailureKind.CONNECTION),
        (Fault.malformed(after_chunks=3), FailureKind.MALFORMED),
        (Fault.stream_error(after_chunks=3), FailureKind.SERVER),
        (Fault.stall(after_chunks=3, seconds=3), FailureKind.TIMEOUT),
    ],
)
def test_mid_stream_faults_keep_the_partial_text(
    sim: SimulatorServer, fault: Fault, kind: FailureKind
) -> None:
    """A stream that breaks after some text raises a classified failure after that text."""
    sim.script(fault)
    received: list[object] = []

    async def consume() -> None:
        client = make_client(sim, timeout_s=0.5, max_retries=0)
        try:
            async for event in client.stream_chat(body()):
                received.append(event)
        finally:
            await client.aclose()

    with pytest.raises(ApiFailure) as caught:
        asyncio.run(consume())
    assert caught.value.kind is kind
    assert text_of(received)
    assert caught.value.retryable


def test_connection_refused_says_nothing_answered() -> None:
    """No server at the address: a connection failure naming the base URL."""
    with SimulatorServer() as sim:
        url = sim.base_url
    client = ChatClient(ConnectionConfig(api_key=KEY, base_url=url, max_retries=0, timeout_s=2))
    with pytest.raises(ApiFailure) as caught:
        asyncio.run(collect(client, body()))
    assert caught.value.kind is FailureKind.CONNECTION
    assert url in caught.value.remedy


def test_list_models_returns_the_served_ids(sim: SimulatorServer) -> None:
    """GET /models through the SDK lists the catalog's models."""

    async def scenario() -> list[str]:
        client = make_client(sim)
        try:
            return await client.list_models()
        finally:
            await client.aclose()

    assert {"gpt-4o", "gpt-4o-mini", "o3-mini"} <= set(asyncio.run(scenario()))


def test_config_repr_hides_the_key() -> None:
    """The connection settings can be logged without leaking the key."""
    assert KEY not in repr(ConnectionConfig(api_key=KEY))


def test_a_wait_longer_than_the_sdk_retries_fails_at_once_without_a_retry_notice(
    sim: SimulatorServer,
) -> None:
    """Retry-After beyond the SDK's 120 s cap: no retry is announced, the failure says when."""
    sim.script(Fault.status(429, retry_after=130))
    retries: list[RetryScheduled] = []
    with pytest.raises(ApiFailure) as caught:
        asyncio.run(collect(make_client(sim), body(), on_retry=retries.append))
    assert retries == [] and len(sim.requests) == 1
    assert caught.value.kind is FailureKind.RATE_LIMIT and caught.value.retry_after == 130
