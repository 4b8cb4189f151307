"""The turn engine: one paid request start to end, through the real SDK to the simulator."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.budget import BudgetPolicy, OverBudgetRefused
from app.core.client import ChatClient, ConnectionConfig
from app.core.events import TextDelta
from app.core.interrupted import settle_interrupted
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.reply import Reply, RunState
from app.core.settings import Settings
from app.core.store.database import open_database
from app.core.store.history import History
from app.core.store.ledger import Source, Spend, UsageLedger
from app.core.store.records import MessageState
from app.core.store.saved_conversation import SavedConversation
from app.core.tokens import count_text
from app.core.turn import NotConnected, Turn, TurnHooks, TurnPlan
from app.simulator import Fault, SimulatorServer

KEY = "sk-proj-TESTKEY0123456789abcdefghijklmnopqrstuv"
MODEL = "gpt-4o-mini"
APP = Path(__file__).resolve().parents[2] / "app"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(api_key=KEY) as server:
        yield server


@pytest.fixture
def ledger(tmp_path: Path) -> UsageLedger:
    return UsageLedger(open_database(tmp_path / "chatdesk.sqlite3"))


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    store = History.open(tmp_path / "chatdesk.sqlite3")
    yield store
    store.close()


def rows(ledger: UsageLedger) -> list[tuple[object, ...]]:
    connection = ledger._connection  # the test reads the ledger as the Usage window would
    return connection.execute(
        "SELECT source, model, prompt_tokens, completion_tokens, estimated FROM usage_ledger"
    ).fetchall()


def turn_on(sim: SimulatorServer, ledger: UsageLedger | None, **kw: object) -> Turn:
    client = ChatClient(ConnectionConfig(api_key=KEY, base_url=sim.base_url, timeout_s=5.0))
    return Turn(client=lambda: client, source=Source.WINDOW, ledger=lambda: ledger, **kw)  # type: ignore[arg-type]


def plan(prompt: str = "Tell me about rivers") -> TurnPlan:
    message = ChatMessage.user(prompt)
    return TurnPlan(MODEL, messages=[message], params=ChatParams(), prompt=message)


def test_only_the_turn_engine_streams() -> None:
    """No surface streams by itself: every paid request goes through app/core/turn.py."""
    streaming = [
        str(path.relative_to(APP))
        for path in APP.rglob("*.py")
        if re.search(r"\bstream_chat\(", path.read_text(encoding="utf-8"))
    ]
    assert sorted(streaming) == ["core/client.py", "core/turn.py"]


def test_a_finished_turn_records_the_servers_usage_and_stores_the_reply(
    sim: SimulatorServer, ledger: UsageLedger, history: History
) -> None:
    saved = SavedConversation(history)
    reply = asyncio.run(turn_on(sim, ledger).run(plan(), saved=saved))
    assert reply.state is RunState.DONE and reply.text
    assert rows(ledger) == [
        ("window", reply.billed_model, reply.usage.prompt_tokens, reply.usage.completion_tokens, 0)  # type: ignore[union-attr]
    ]
    stored = history.load(saved.conversation_id or 0).messages
    assert [m.content for m in stored] == ["Tell me about rivers", reply.text]
    assert stored[1].state is MessageState.COMPLETE


def test_a_stopped_turn_is_paid_for_with_an_estimate_of_what_arrived(
    sim: SimulatorServer, ledger: UsageLedger, history: History
) -> None:
    """Stopped mid-answer: the provider billed what it generated, so the ledger says so."""
    sim.chunk_delay = 0.02
    sim.answer_words = 200
    saved = SavedConversation(history)
    reply = Reply(asked_model=MODEL)

    async def stop_after_some_text() -> None:
        arrived = asyncio.Event()

        def on_event(event: object) -> None:
            if isinstance(event, TextDelta) and len(reply.parts) >= 5:
                arrived.set()

        task = asyncio.ensure_future(
            turn_on(sim, ledger).run(plan(), reply, saved=saved, hooks=TurnHooks(on_event=on_event))
        )
        await asyncio.wait_for(arrived.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(stop_after_some_text())
    assert reply.state is RunState.STOPPED and reply.text
    [(source, _model, prompt, completion, estimated)] = rows(ledger)
    assert (source, estimated) == ("window", 1)
    assert completion == count_text(reply.text, MODEL) > 0
    assert prompt > 0
    stored = history.load(saved.conversation_id or 0).messages[-1]
    assert (stored.state, stored.content) == (MessageState.STOPPED, reply.text)
    assert stored.usage is not None and stored.usage.estimated


def test_a_cut_connection_is_paid_for_with_an_estimate(
    sim: SimulatorServer, ledger: UsageLedger
) -> None:
    sim.script(Fault.disconnect(after_chunks=4))
    reply = asyncio.run(turn_on(sim, ledger).run(plan()))
    assert reply.state is RunState.FAILED and reply.text
    [(_source, _model, _prompt, completion, estimated)] = rows(ledger)
    assert estimated == 1 and completion == count_text(reply.text, MODEL) > 0


def test_a_refused_request_costs_nothing(sim: SimulatorServer, ledger: UsageLedger) -> None:
    sim.script(Fault.status(401))
    reply = asyncio.run(turn_on(sim, ledger).run(plan()))
    assert reply.state is RunState.FAILED and reply.problem is not None
    assert rows(ledger) == []


def test_no_client_fails_with_the_surfaces_words(ledger: UsageLedger) -> None:
    missing = NotConnected("Chatdesk is not connected", "Add a key.")
    turn = Turn(
        client=lambda: None, source=Source.CLI, ledger=lambda: ledger, not_connected=missing
    )
    reply = asyncio.run(turn.run(plan()))
    assert reply.problem is missing and rows(ledger) == []


def budget(ask: object = None, *, spent: str = "10") -> BudgetPolicy:
    from decimal import Decimal

    settings = Settings(monthly_budget_usd=10.0, budget_hard_limit=True)
    return BudgetPolicy(
        settings=lambda: settings,
        month=lambda: Spend(requests=1, cost_usd=Decimal(spent)),
        ask=ask,  # type: ignore[arg-type]
    )


def test_a_request_that_could_cross_a_hard_limit_is_declined_unsent(
    sim: SimulatorServer, ledger: UsageLedger, history: History
) -> None:
    asked: list[str] = []

    async def say_no(question: object) -> bool:
        asked.append(getattr(question, "headline", ""))
        return False

    saved = SavedConversation(history)
    reply = asyncio.run(turn_on(sim, ledger, budget=budget(say_no)).run(plan(), saved=saved))
    assert reply.state is RunState.DECLINED and asked
    assert sim.requests == [] and rows(ledger) == []
    assert saved.conversation_id is None


def test_without_a_question_the_budget_refuses(sim: SimulatorServer, ledger: UsageLedger) -> None:
    reply = asyncio.run(turn_on(sim, ledger, budget=budget()).run(plan()))
    assert reply.state is RunState.FAILED and isinstance(reply.problem, OverBudgetRefused)
    assert sim.requests == []


def test_a_reply_killed_mid_stream_is_paid_for_at_the_next_start(
    history: History, ledger: UsageLedger
) -> None:
    """A kill leaves a reply marked streaming; the next start estimates and records it."""
    conversation = history.create_conversation(model=MODEL)
    history.add_message(conversation, ChatMessage.user("Tell me about rivers"))
    message = history.begin_reply(conversation, model=MODEL)
    shown = "Rivers carve valleys over thousands of years"
    history.save_partial(message, shown)

    found = history.recover_interrupted()
    assert asyncio.run(settle_interrupted(history, ledger, found)) == 1
    [(source, _model, prompt, completion, estimated)] = rows(ledger)
    assert (source, estimated) == ("recovered", 1)
    assert completion == count_text(shown, MODEL) and prompt > 0
    stored = history.load(conversation).messages[-1]
    assert stored.state is MessageState.INTERRUPTED and stored.usage is not None
    # Recorded once: a second start finds nothing more to pay for.
    assert asyncio.run(settle_interrupted(history, ledger, history.recover_interrupted())) == 0
