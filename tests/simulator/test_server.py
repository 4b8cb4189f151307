"""Server lifecycle, HTTP/1.1 connection handling, and the building blocks of answers."""

from __future__ import annotations

import asyncio
import random
import threading

import httpx2
import pytest
from openai import AsyncOpenAI, OpenAI

from app.simulator import SimulatorServer
from app.simulator.counting import split_tokens
from app.simulator.prose import filler
from tests.simulator.helpers import API_KEY, HANG_GUARD_SECONDS, stream_chunks, user

BODY = {"model": "gpt-4o", "messages": [user("hello")]}


def test_context_manager_serves_then_releases_the_port() -> None:
    """Inside `with` the base URL answers; after it the server is gone."""
    with SimulatorServer() as server:
        base_url = server.base_url
        assert base_url == f"http://127.0.0.1:{server.port}/v1"
        assert httpx2.get(base_url + "/models", headers={"Authorization": "Bearer k"}).is_success
    with pytest.raises(RuntimeError):
        _ = server.port
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(base_url + "/models")


def test_start_and_stop_are_idempotent() -> None:
    """Calling start() or stop() twice is harmless."""
    server = SimulatorServer()
    server.stop()
    assert server.start() is server.start()
    server.stop()
    server.stop()


def test_stop_returns_with_an_idle_keep_alive_connection_open(sim: SimulatorServer) -> None:
    """A client holding a kept-alive connection does not keep stop() waiting."""
    with httpx2.Client(headers={"Authorization": "Bearer k"}) as http:
        assert http.get(sim.base_url + "/models").is_success
        stopper = threading.Thread(target=sim.stop)
        stopper.start()
        stopper.join(HANG_GUARD_SECONDS)
        assert not stopper.is_alive()


def test_async_sdk_reuses_one_connection_across_streams(sim: SimulatorServer) -> None:
    """The async SDK drains each stream after [DONE], so every request shares one connection."""

    async def run() -> None:
        async with AsyncOpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0) as sdk:
            for n in (1, 2):
                async for _ in await sdk.chat.completions.create(**BODY, stream=True, n=n):
                    pass
            await sdk.chat.completions.create(**BODY)

    asyncio.run(run())
    assert len(sim.requests) == 3
    assert len({request.peer for request in sim.requests}) == 1


def test_sync_sdk_reuses_the_connection_between_plain_requests(
    sim: SimulatorServer, client: OpenAI
) -> None:
    """Plain requests share a connection (the sync SDK drops it after a stream, not the server)."""
    for _ in range(3):
        client.chat.completions.create(**BODY)
    assert len({request.peer for request in sim.requests}) == 1


def test_chunked_request_body_is_read(http: httpx2.Client) -> None:
    """A request body sent with Transfer-Encoding: chunked is read in full."""
    parts = [b'{"model": "gpt-4o", ', b'"messages": [{"role": "user", ', b'"content": "hi"}]}']
    response = http.post(
        "/v1/chat/completions", content=iter(parts), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"]


def test_chunk_delay_still_delivers_the_whole_answer() -> None:
    """With a delay between chunks the stream still carries the complete answer."""
    with (
        SimulatorServer(chunk_delay=0.002) as server,
        httpx2.Client(base_url=server.url, timeout=HANG_GUARD_SECONDS) as http,
    ):
        http.headers["Authorization"] = f"Bearer {API_KEY}"
        whole = http.post("/v1/chat/completions", json=BODY).json()
        chunks = stream_chunks(http, BODY)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == whole["choices"][0]["message"]["content"]


def test_requests_returns_a_snapshot(sim: SimulatorServer, client: OpenAI) -> None:
    """`requests` is a copy: later requests do not change a list already taken."""
    client.chat.completions.create(**BODY)
    taken = sim.requests
    client.chat.completions.create(**BODY)
    assert len(taken) == 1
    assert len(sim.requests) == 2


@pytest.mark.parametrize(
    "text",
    [
        "Hello, world! It's 2024-05-06.",
        "Ünïcödé ×÷ and emoji 🎉🎉 too",
        "```python\ndef f(x_1):\n    return x_1  # done\n```\n\n- item\n",
        "   leading and trailing   \n\n\n",
        "",
    ],
)
def test_split_tokens_joins_back_to_the_text(text: str) -> None:
    """Tokens always concatenate to the exact text, so streams reassemble losslessly."""
    assert "".join(split_tokens(text)) == text


def test_plain_filler_has_exactly_the_requested_words() -> None:
    """Plain filler (JSON mode) has exactly the requested number of words."""
    for words in (1, 7, 250):
        assert len(filler(random.Random(words), words, topic="t", markdown=False).split()) == words


def test_markdown_filler_is_deterministic_and_closes_code_fences() -> None:
    """The same seed gives the same Markdown, and every code fence it opens is closed."""
    first = filler(random.Random(3), 600, topic="otters")
    assert first == filler(random.Random(3), 600, topic="otters")
    assert first.count("```") % 2 == 0
