"""Streamed replies: SSE framing, chunk contents, usage, several choices, flooding."""

from __future__ import annotations

import asyncio
import json
import math

import httpx2
import pytest
from openai import AsyncOpenAI, OpenAI

from app.simulator import Fault, SimulatorServer
from tests.simulator.helpers import (
    API_KEY,
    HANG_GUARD_SECONDS,
    sse_events,
    stream_chunks,
    user,
    validate,
)

BODY = {"model": "gpt-4o-mini", "messages": [user("Explain streaming, please")], "seed": 7}


def test_stream_concatenates_to_the_non_streamed_answer(client: OpenAI) -> None:
    """Joining the streamed deltas gives exactly the non-streamed answer for the same request."""
    whole = client.chat.completions.create(**BODY)
    stream = client.chat.completions.create(**BODY, stream=True)
    deltas = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert len([d for d in deltas if d]) > 5
    assert "".join(deltas) == whole.choices[0].message.content


def test_async_client_streams_the_same_answer(sim: SimulatorServer, client: OpenAI) -> None:
    """The async SDK client receives the same text as the sync one."""
    expected = client.chat.completions.create(**BODY).choices[0].message.content

    async def collect() -> str:
        async with AsyncOpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0) as sdk:
            stream = await sdk.chat.completions.create(**BODY, stream=True)
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert asyncio.run(collect()) == expected


def test_chunks_arrive_while_the_server_is_still_streaming(sim: SimulatorServer) -> None:
    """Early chunks reach the client before the server finishes: delivery is incremental."""
    sim.script(Fault.stall(after_chunks=4))  # the server waits until stopped after 4 chunks
    with (
        OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0) as sdk,
        sdk.chat.completions.create(**BODY, stream=True) as stream,
    ):
        received = [next(stream) for _ in range(4)]
    assert received[0].choices[0].delta.role == "assistant"
    assert all(chunk.choices[0].delta.content for chunk in received[1:])


def test_first_delta_has_role_and_every_chunk_repeats_the_metadata(http: httpx2.Client) -> None:
    """The role comes first, then content, then finish_reason; id/created/model never change."""
    chunks = stream_chunks(http, BODY)
    first, last = chunks[0]["choices"][0], chunks[-1]["choices"][0]
    assert first["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert last["delta"] == {} and last["finish_reason"] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    for key in ("id", "created", "model", "system_fingerprint"):
        assert len({chunk[key] for chunk in chunks}) == 1, key
    assert chunks[0]["id"].startswith("chatcmpl-")
    assert chunks[0]["object"] == "chat.completion.chunk"
    assert chunks[0]["system_fingerprint"] == "fp_sim_0001"


def test_no_usage_field_unless_include_usage(http: httpx2.Client) -> None:
    """Without stream_options.include_usage no chunk carries a usage field at all."""
    chunks = stream_chunks(http, BODY)
    assert all("usage" not in chunk for chunk in chunks)
    assert all(chunk["choices"] for chunk in chunks)


def test_include_usage_adds_a_final_usage_chunk(http: httpx2.Client) -> None:
    """With include_usage the last chunk has no choices and the usage; the others usage null."""
    chunks = stream_chunks(http, {**BODY, "stream_options": {"include_usage": True}})
    *content, final = chunks
    assert final["choices"] == []
    usage = final["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] == len(content) - 2  # one token per content chunk
    assert all(chunk["usage"] is None for chunk in content)


def test_send_usage_false_never_sends_usage() -> None:
    """A server configured without usage ignores include_usage (like some compatible servers)."""
    with SimulatorServer(send_usage=False) as server, httpx2.Client(base_url=server.url) as http:
        http.headers["Authorization"] = f"Bearer {API_KEY}"
        chunks = stream_chunks(http, {**BODY, "stream_options": {"include_usage": True}})
        plain = http.post("/v1/chat/completions", json=BODY).json()
    assert all("usage" not in chunk and chunk["choices"] for chunk in chunks)
    assert "usage" not in plain


def test_words_per_chunk_groups_tokens() -> None:
    """Each content chunk carries `words_per_chunk` tokens (the last one possibly fewer)."""
    with SimulatorServer(words_per_chunk=3) as server, httpx2.Client(base_url=server.url) as http:
        http.headers["Authorization"] = f"Bearer {API_KEY}"
        chunks = stream_chunks(http, {**BODY, "stream_options": {"include_usage": True}})
    tokens = chunks[-1]["usage"]["completion_tokens"]
    content_chunks = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) == math.ceil(tokens / 3)


def test_several_choices_interleave_with_their_index(http: httpx2.Client) -> None:
    """With n=3 each chunk carries one choice; the choices interleave and match the non-stream."""
    body = {**BODY, "n": 3}
    chunks = stream_chunks(http, body)
    whole = http.post("/v1/chat/completions", json=body).json()
    assert all(len(chunk["choices"]) == 1 for chunk in chunks)
    order = [chunk["choices"][0]["index"] for chunk in chunks]
    assert order[:6] == [0, 1, 2, 0, 1, 2]
    for index in range(3):
        text = "".join(
            c["choices"][0]["delta"].get("content") or ""
            for c in chunks
            if c["choices"][0]["index"] == index
        )
        assert text == whole["choices"][index]["message"]["content"]
    finishes = [c["choices"][0] for c in chunks if c["choices"][0]["finish_reason"]]
    assert sorted(f["index"] for f in finishes) == [0, 1, 2]


def test_streamed_logprobs_cover_each_delta(http: httpx2.Client) -> None:
    """Each content delta carries logprobs for exactly its tokens, with top_logprobs of size k."""
    chunks = stream_chunks(http, {**BODY, "logprobs": True, "top_logprobs": 3})
    for chunk in chunks:
        choice = chunk["choices"][0]
        content = choice["delta"].get("content")
        if not content:
            assert choice["logprobs"] is None
            continue
        entries = choice["logprobs"]["content"]
        assert "".join(entry["token"] for entry in entries) == content
        assert all(len(entry["top_logprobs"]) == 3 for entry in entries)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"stream_options": {"include_usage": True}},
        {"n": 2, "logprobs": True, "top_logprobs": 2, "stream_options": {"include_usage": True}},
        {"model": "o3-mini", "reasoning_effort": "low", "stream_options": {"include_usage": True}},
    ],
)
def test_every_chunk_validates_against_the_official_schema(
    http: httpx2.Client, extra: dict[str, object]
) -> None:
    """Every streamed chunk is a valid CreateChatCompletionStreamResponse."""
    for chunk in stream_chunks(http, {**BODY, **extra}):
        validate("CreateChatCompletionStreamResponse", chunk)


def test_obfuscation_is_sent_unless_disabled(http: httpx2.Client) -> None:
    """Chunks carry an `obfuscation` string by default and none with include_obfuscation false."""
    assert all("obfuscation" in chunk for chunk in stream_chunks(http, BODY))
    quiet = stream_chunks(http, {**BODY, "stream_options": {"include_obfuscation": False}})
    assert all("obfuscation" not in chunk for chunk in quiet)


def test_stream_response_headers(http: httpx2.Client) -> None:
    """A stream is chunked text/event-stream over HTTP/1.1, ending with `data: [DONE]`."""
    with http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as response:
        assert response.http_version == "HTTP/1.1"
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["transfer-encoding"] == "chunked"
        raw = response.read()
    assert raw.endswith(b"data: [DONE]\n\n")
    assert b"\n\n\n" not in raw


def test_flood_of_tens_of_thousands_of_chunks() -> None:
    """With no delay the server streams a 20,000-word answer, one chunk per token, completely."""
    with (
        SimulatorServer(answer_words=20_000) as server,
        httpx2.Client(base_url=server.url, timeout=HANG_GUARD_SECONDS) as http,
    ):
        http.headers["Authorization"] = f"Bearer {API_KEY}"
        with http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as resp:
            events = sse_events(resp)
    assert events[-1] == "[DONE]"
    assert len(events) > 20_000
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert len(text.split()) >= 20_000
