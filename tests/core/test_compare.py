"""Comparisons against the simulator: several requests at once, each timed, priced, recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest

from app.core.client import ChatClient, ConnectionConfig
from app.core.compare import (
    CompareRequest,
    Comparison,
    Contender,
    OverrideError,
    parse_overrides,
)
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.timed_stream import RunState
from app.core.usage import Usage
from app.simulator import Fault, SimulatorServer

KEY = "sk-test-compare"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(chunk_delay=0.002, answer_words=40) as server:
        yield server


def client_for(sim: SimulatorServer) -> ChatClient:
    return ChatClient(ConnectionConfig(api_key=KEY, base_url=sim.base_url, max_retries=0))


def request(prompt: str = "Compare these", params: ChatParams | None = None) -> CompareRequest:
    history = (ChatMessage.user("Earlier question"), ChatMessage.assistant("Earlier answer"))
    return CompareRequest(history, ChatMessage.user(prompt), "gpt-4o-mini", params or ChatParams())


def test_every_contender_is_sent_concurrently_with_its_own_model_and_parameters(
    sim: SimulatorServer,
) -> None:
    """Three columns stream at once; the server sees each model and temperature as chosen."""
    base = ChatParams(seed=7)
    contenders = [
        Contender("gpt-4o-mini", base),
        Contender("gpt-4o", base),
        Contender("gpt-4o-mini", replace(base, temperature=1.5)),
    ]
    streaming_together: list[int] = []
    recorded: list[tuple[str, Usage]] = []

    async def record(model: str, usage: Usage) -> None:
        recorded.append((model, usage))

    async def scenario() -> Comparison:
        client = client_for(sim)
        shown: list[Comparison] = []

        def grew(index: int, text: str) -> None:
            streaming_together.append(
                sum(reply.state is RunState.STREAMING for reply in shown[0].replies)
            )

        comparison = Comparison(request(params=base), contenders, on_text=grew, record_usage=record)
        shown.append(comparison)
        comparison.start(client)
        assert comparison.busy
        await comparison.wait()
        await client.aclose()
        return comparison

    comparison = asyncio.run(scenario())
    sent = [r.body for r in sim.requests]
    assert sorted((b["model"], str(b.get("temperature"))) for b in sent) == [
        ("gpt-4o", "None"),
        ("gpt-4o-mini", "1.5"),
        ("gpt-4o-mini", "None"),
    ]
    assert all(b["seed"] == 7 and b["messages"][-1]["content"] == "Compare these" for b in sent)
    # The answers overlapped in time rather than arriving one after the other.
    assert max(streaming_together) >= 2
    for reply in comparison.replies:
        assert reply.state is RunState.DONE
        assert reply.text and reply.usage is not None
        assert reply.first_token_s is not None and reply.total_s is not None
        assert 0 < reply.first_token_s <= reply.total_s
        spent = reply.cost_total()
        assert spent is not None and spent > 0
    assert sorted(model for model, _ in recorded) == sorted(
        reply.answered_by for reply in comparison.replies
    )


def test_a_column_that_cannot_be_sent_fails_alone(sim: SimulatorServer) -> None:
    """An invalid override fails its own column before sending; the other one still answers."""
    contenders = [
        Contender("gpt-4o-mini", ChatParams()),
        Contender("gpt-4o-mini", ChatParams(temperature=5.0)),
    ]

    async def scenario() -> Comparison:
        client = client_for(sim)
        comparison = Comparison(request(), contenders)
        comparison.start(client)
        await comparison.wait()
        await client.aclose()
        return comparison

    comparison = asyncio.run(scenario())
    good, bad = comparison.replies
    assert good.state is RunState.DONE and good.text
    assert bad.state is RunState.FAILED and bad.problem is not None
    assert "Temperature must be between 0 and 2" in bad.problem.headline
    assert len(sim.requests) == 1


def test_a_server_failure_is_kept_in_its_column(sim: SimulatorServer) -> None:
    """A rate limit on one request shows as that column's problem, not as an exception."""
    sim.script(Fault.status(429, retry_after=200))

    async def scenario() -> Comparison:
        client = client_for(sim)
        comparison = Comparison(request(), [Contender("gpt-4o-mini", ChatParams())])
        comparison.start(client)
        await comparison.wait()
        await client.aclose()
        return comparison

    (reply,) = asyncio.run(scenario()).replies
    assert reply.state is RunState.FAILED
    assert reply.problem is not None and reply.problem.headline


def test_stop_ends_every_column_keeping_what_arrived() -> None:
    """Stop cancels all requests; text that arrived stays and the columns read as stopped."""
    with SimulatorServer(chunk_delay=0.05, answer_words=400) as slow:

        async def scenario() -> Comparison:
            client = client_for(slow)
            contenders = [Contender("gpt-4o-mini", ChatParams()), Contender("gpt-4o", ChatParams())]
            comparison = Comparison(request(), contenders)
            comparison.start(client)
            while not all(reply.text for reply in comparison.replies):
                await asyncio.sleep(0.01)
            comparison.stop()
            await comparison.wait()
            await client.aclose()
            return comparison

        comparison = asyncio.run(scenario())
    assert [r.state for r in comparison.replies] == [RunState.STOPPED, RunState.STOPPED]
    assert all(r.text and r.total_s is not None for r in comparison.replies)


def test_overrides_replace_only_what_was_typed() -> None:
    """Empty fields keep the conversation's values; typed ones replace them."""
    base = ChatParams(temperature=0.2, seed=1, max_output_tokens=300)
    params = parse_overrides(base, {"temperature": "", "seed": "99", "top_p": "0.5"})
    assert params == replace(base, seed=99, top_p=0.5)


def test_an_override_that_is_not_a_number_names_the_field() -> None:
    """Text in a numeric field is refused with the field's name and what was typed."""
    with pytest.raises(OverrideError, match="Seed must be a number"):
        parse_overrides(ChatParams(), {"seed": "abc"})
