"""Comparisons against the simulator: several turns at once, each timed, priced, recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from app.core.budget import BudgetPolicy, OverBudget, SendDeclined, request_upper_bound
from app.core.client import ChatClient, ConnectionConfig
from app.core.compare import (
    CompareRequest,
    Comparison,
    Contender,
    OverrideError,
    budget_requests,
    parse_overrides,
)
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.reply import Reply, RunState
from app.core.settings import Settings
from app.core.store.database import open_database
from app.core.store.ledger import Source, Spend, UsageLedger
from app.core.tokens import count_text
from app.core.turn import Turn
from app.simulator import Fault, SimulatorServer

KEY = "sk-test-compare"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(chunk_delay=0.002, answer_words=40) as server:
        yield server


@pytest.fixture
def ledger(tmp_path: Path) -> UsageLedger:
    return UsageLedger(open_database(tmp_path / "chatdesk.db"))


def rows(ledger: UsageLedger) -> list[tuple[str, str, int, int]]:
    """(source, model, completion tokens, estimated) of every ledger row, oldest first."""
    connection = ledger._connection  # read as the Usage window reads it
    return connection.execute(
        "SELECT source, model, completion_tokens, estimated FROM usage_ledger ORDER BY id"
    ).fetchall()


def compare_turn(client: ChatClient, ledger: UsageLedger | None = None) -> Turn:
    """The Compare window's turn engine: tagged "compare", no budget policy of its own."""
    return Turn(client=lambda: client, source=Source.COMPARE, ledger=lambda: ledger)


def client_for(sim: SimulatorServer) -> ChatClient:
    return ChatClient(ConnectionConfig(api_key=KEY, base_url=sim.base_url, max_retries=0))


def request(prompt: str = "Compare these", params: ChatParams | None = None) -> CompareRequest:
    history = (ChatMessage.user("Earlier question"), ChatMessage.assistant("Earlier answer"))
    return CompareRequest(history, ChatMessage.user(prompt), "gpt-4o-mini", params or ChatParams())


def test_every_contender_is_sent_concurrently_with_its_own_model_and_parameters(
    sim: SimulatorServer, ledger: UsageLedger
) -> None:
    """Three columns stream at once; the server sees each model and temperature as chosen,
    and each column leaves its own "compare" row in the ledger."""
    base = ChatParams(seed=7)
    contenders = [
        Contender("gpt-4o-mini", base),
        Contender("gpt-4o", base),
        Contender("gpt-4o-mini", replace(base, temperature=1.5)),
    ]
    streaming_together: list[int] = []
    settled: list[Reply] = []

    async def on_settled(reply: Reply) -> None:
        settled.append(reply)

    async def scenario() -> Comparison:
        client = client_for(sim)
        shown: list[Comparison] = []

        def grew(index: int, text: str) -> None:
            streaming_together.append(
                sum(reply.state is RunState.STREAMING for reply in shown[0].replies)
            )

        comparison = Comparison(
            request(params=base),
            contenders,
            turn=compare_turn(client, ledger),
            on_text=grew,
            on_settled=on_settled,
        )
        shown.append(comparison)
        comparison.start()
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
        assert reply.text and reply.usage is not None and not reply.usage.estimated
        assert reply.first_token_s is not None and reply.total_s is not None
        assert 0 < reply.first_token_s <= reply.total_s
        spent = reply.cost_total()
        assert spent is not None and spent > 0
    answered = sorted(reply.answered_by for reply in comparison.replies)
    assert sorted(model for source, model, _, estimated in rows(ledger)) == answered
    assert {(source, estimated) for source, _, _, estimated in rows(ledger)} == {("compare", 0)}
    assert sorted(id(reply) for reply in settled) == sorted(map(id, comparison.replies))


def test_a_column_that_cannot_be_sent_fails_alone(
    sim: SimulatorServer, ledger: UsageLedger
) -> None:
    """An invalid override fails its own column at once, unsent; the other one still answers."""
    contenders = [
        Contender("gpt-4o-mini", ChatParams()),
        Contender("gpt-4o-mini", ChatParams(temperature=5.0)),
    ]

    async def scenario() -> Comparison:
        client = client_for(sim)
        comparison = Comparison(request(), contenders, turn=compare_turn(client, ledger))
        comparison.start()
        bad = comparison.replies[1]
        assert bad.state is RunState.FAILED and bad.problem is not None  # before any await
        await comparison.wait()
        await client.aclose()
        return comparison

    comparison = asyncio.run(scenario())
    good, bad = comparison.replies
    assert good.state is RunState.DONE and good.text
    assert bad.problem is not None
    assert "Temperature must be between 0 and 2" in bad.problem.headline
    assert len(sim.requests) == 1
    assert len(rows(ledger)) == 1


def test_a_server_failure_is_kept_in_its_column(sim: SimulatorServer) -> None:
    """A rate limit on one request shows as that column's problem, not as an exception."""
    sim.script(Fault.status(429, retry_after=200))

    async def scenario() -> Comparison:
        client = client_for(sim)
        contenders = [Contender("gpt-4o-mini", ChatParams())]
        comparison = Comparison(request(), contenders, turn=compare_turn(client))
        comparison.start()
        await comparison.wait()
        await client.aclose()
        return comparison

    (reply,) = asyncio.run(scenario()).replies
    assert reply.state is RunState.FAILED
    assert reply.problem is not None and reply.problem.headline


def test_stop_ends_every_column_keeping_what_arrived_and_paying_an_estimate(
    ledger: UsageLedger,
) -> None:
    """Stop cancels all requests; text that arrived stays, the columns read as stopped, and
    each leaves an estimated "compare" row for what the provider generated."""
    with SimulatorServer(chunk_delay=0.05, answer_words=400) as slow:

        async def scenario() -> Comparison:
            client = client_for(slow)
            contenders = [Contender("gpt-4o-mini", ChatParams()), Contender("gpt-4o", ChatParams())]
            comparison = Comparison(request(), contenders, turn=compare_turn(client, ledger))
            comparison.start()
            while not all(reply.text for reply in comparison.replies):
                await asyncio.sleep(0.01)
            comparison.stop()
            await comparison.wait()
            await client.aclose()
            return comparison

        comparison = asyncio.run(scenario())
    assert [r.state for r in comparison.replies] == [RunState.STOPPED, RunState.STOPPED]
    assert all(r.text and r.total_s is not None for r in comparison.replies)
    recorded = {
        model: (source, tokens, estimated) for source, model, tokens, estimated in rows(ledger)
    }
    assert len(recorded) == 2
    for reply in comparison.replies:
        assert reply.usage is not None and reply.usage.estimated
        tokens = count_text(reply.text, reply.asked_model)
        assert recorded[reply.billed_model] == ("compare", tokens, 1)


def test_stopping_before_a_column_began_leaves_it_stopped(sim: SimulatorServer) -> None:
    """Stop right after Send: every column ends as stopped, none is left waiting."""

    async def scenario() -> Comparison:
        client = client_for(sim)
        contenders = [Contender("gpt-4o-mini", ChatParams()), Contender("gpt-4o", ChatParams())]
        comparison = Comparison(request(), contenders, turn=compare_turn(client))
        comparison.start()
        comparison.stop()
        await comparison.wait()
        await client.aclose()
        return comparison

    comparison = asyncio.run(scenario())
    assert [r.state for r in comparison.replies] == [RunState.STOPPED, RunState.STOPPED]
    assert not comparison.busy


def test_the_budget_is_asked_once_for_every_sendable_column_together() -> None:
    """Two columns that each fit what is left of the budget but not together make one
    question; a column that cannot be sent is not counted."""
    questions: list[OverBudget] = []

    async def say_no(question: OverBudget) -> bool:
        questions.append(question)
        return False

    limited = ChatParams(max_output_tokens=1000)
    contenders = [
        Contender("gpt-4o", limited),
        Contender("gpt-4o", limited),
        Contender("gpt-4o", replace(limited, temperature=5.0)),
    ]
    requests = asyncio.run(budget_requests(request(), contenders))
    assert len(requests) == 2
    each = request_upper_bound(*requests[0])
    assert each is not None
    # What is left covers one column and a half.
    spent = Decimal(10) - each * Decimal("1.5")
    policy = BudgetPolicy(
        settings=lambda: Settings(monthly_budget_usd=10.0, budget_hard_limit=True),
        month=lambda: Spend(requests=1, cost_usd=spent),
        ask=say_no,
    )
    assert policy.question(requests[:1]) is None
    with pytest.raises(SendDeclined):
        asyncio.run(policy.check(requests))
    assert len(questions) == 1 and questions[0].request == each * 2


def test_overrides_replace_only_what_was_typed() -> None:
    """Empty fields keep the conversation's values; typed ones replace them."""
    base = ChatParams(temperature=0.2, seed=1, max_output_tokens=300)
    params = parse_overrides(base, {"temperature": "", "seed": "99", "top_p": "0.5"})
    assert params == replace(base, seed=99, top_p=0.5)


def test_an_override_that_is_not_a_number_names_the_field() -> None:
    """Text in a numeric field is refused with the field's name and what was typed."""
    with pytest.raises(OverrideError, match="Seed must be a number"):
        parse_overrides(ChatParams(), {"seed": "abc"})
