"""Re-running a reply's exact request with its seed, against the (deterministic) simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.core.budget import BudgetPolicy, OverBudget
from app.core.client import ChatClient, ConnectionConfig
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.reply import Reply, RunState
from app.core.reproduce import Reproduction, RerunSubject, provenance_text, rerun
from app.core.request import build_request
from app.core.settings import Settings
from app.core.store.database import open_database
from app.core.store.ledger import Source, Spend, UsageLedger
from app.core.turn import Turn, TurnPlan
from app.core.word_diff import Change
from app.simulator import SimulatorServer

KEY = "sk-test-reproduce"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(answer_words=30) as server:
        yield server


def seeded_body(seed: int = 42) -> dict[str, Any]:
    return build_request(
        "gpt-4o-mini", [ChatMessage.user("Why is the sea salty?")], ChatParams(seed=seed)
    )


@pytest.fixture
def ledger(tmp_path: Path) -> UsageLedger:
    return UsageLedger(open_database(tmp_path / "chatdesk.db"))


def ledger_sources(ledger: UsageLedger) -> list[str]:
    connection = ledger._connection  # read as the Usage window reads it
    return [row[0] for row in connection.execute("SELECT source FROM usage_ledger ORDER BY id")]


def client_for(sim: SimulatorServer) -> ChatClient:
    return ChatClient(ConnectionConfig(api_key=KEY, base_url=sim.base_url, max_retries=0))


def original_and_rerun(
    sim: SimulatorServer,
    between: Callable[[Reply], None] | None = None,
    ledger: UsageLedger | None = None,
) -> Reproduction:
    """Ask once from the window, optionally change the server, then re-run the same body."""

    async def scenario() -> Reproduction:
        client = client_for(sim)
        window = Turn(client=lambda: client, source=Source.WINDOW, ledger=lambda: ledger)
        first = await window.run(TurnPlan("gpt-4o-mini", body=seeded_body()))
        assert first.body is not None
        if between is not None:
            between(first)
        subject = RerunSubject(first.body, first.text, first.fingerprint)
        reruns = Turn(client=lambda: client, source=Source.RERUN, ledger=lambda: ledger)
        result = await rerun(reruns, subject)
        await client.aclose()
        return result

    return asyncio.run(scenario())


def test_the_same_seed_on_the_same_backend_reproduces_the_answer(
    sim: SimulatorServer, ledger: UsageLedger
) -> None:
    """Re-running the identical body says 'identical' and that the fingerprint is unchanged;
    the re-run is paid for like any request, under its own name in the ledger."""
    result = original_and_rerun(sim, ledger=ledger)
    first, second = (r.body for r in sim.requests)
    assert first == second and first["seed"] == 42
    assert result.rerun.state is RunState.DONE and result.rerun.usage is not None
    assert ledger_sources(ledger) == ["window", "rerun"]
    assert result.diff.identical
    assert result.headline() == "Identical: the same answer, word for word."
    assert "Same system fingerprint (fp_sim_0001)" in result.fingerprint_note()
    assert not result.fingerprint_changed


def test_a_changed_answer_on_a_new_backend_is_diffed_and_the_fingerprint_noted(
    sim: SimulatorServer,
) -> None:
    """After a backend update the answer differs: the changed words are marked, the new
    fingerprint explains why."""

    def update_backend(first: Reply) -> None:
        sim.system_fingerprint = "fp_sim_0002"
        sim.script_answer(first.text.replace("salty", "briny", 1))

    result = original_and_rerun(sim, update_backend)
    diff = result.diff
    assert not diff.identical
    assert [s.text.strip() for s in diff.segments if s.change is Change.ADDED] == ['briny?"']
    assert [s.text.strip() for s in diff.segments if s.change is Change.REMOVED] == ['salty?"']
    assert result.headline().startswith("Changed: 1 word removed, 1 word added")
    assert result.fingerprint_changed
    assert "changed from fp_sim_0001 to fp_sim_0002" in result.fingerprint_note()


def test_with_a_hard_budget_limit_a_rerun_asks_first_and_no_sends_nothing(
    sim: SimulatorServer, ledger: UsageLedger
) -> None:
    """A re-run is a paid request like any other: near a hard limit it is asked about, and
    answering no sends nothing and records nothing."""
    questions: list[OverBudget] = []

    async def say_no(question: OverBudget) -> bool:
        questions.append(question)
        return False

    budget = BudgetPolicy(
        settings=lambda: Settings(monthly_budget_usd=10.0, budget_hard_limit=True),
        month=lambda: Spend(requests=1, cost_usd=Decimal("9.9999")),
        ask=say_no,
    )
    subject = RerunSubject(seeded_body(), "The sea is salty because…", "fp_sim_0001")

    async def scenario() -> Reproduction:
        client = client_for(sim)
        turn = Turn(
            client=lambda: client, source=Source.RERUN, ledger=lambda: ledger, budget=budget
        )
        result = await rerun(turn, subject)
        await client.aclose()
        return result

    result = asyncio.run(scenario())
    assert len(questions) == 1
    assert sim.requests == [] and ledger_sources(ledger) == []
    assert result.rerun.state is RunState.DECLINED
    assert result.headline() == "Not re-run: it could take the month past your budget."


def test_the_provenance_line_names_model_fingerprint_and_seed() -> None:
    """The line under a reply says who answered, on which build, with which seed (or none)."""
    assert (
        provenance_text("gpt-4o-2024-08-06", "fp_abc", 42) == "gpt-4o-2024-08-06 · fp_abc · seed 42"
    )
    assert provenance_text("llama3", None, None) == "llama3 · no seed"
