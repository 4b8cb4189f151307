"""Replies go on streaming behind other conversations, and every stop is paid for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.core.store.database import open_database
from app.core.store.history import History
from app.core.store.ledger import UsageLedger
from app.core.store.records import MessageState
from app.core.tokens import count_text
from app.simulator import SimulatorServer
from app.ui.chat.session import MAX_STREAMING
from app.ui.conversations.list_model import ANSWERING, UNSEEN
from tests.support.qt import MODEL, ChatWindow, Runner, wait_until
from tests.ui.chat.test_controller_replies import send


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    store = History.open(tmp_path / "chatdesk.db")
    yield store
    store.close()


@pytest.fixture
def ledger(tmp_path: Path) -> UsageLedger:
    return UsageLedger(open_database(tmp_path / "chatdesk.db"))


@pytest.fixture
def slow_simulator() -> Iterator[SimulatorServer]:
    """Long answers, streamed slowly enough to switch conversations in the middle of one."""
    with SimulatorServer(chunk_delay=0.02, answer_words=300) as server:
        yield server


def ledger_rows(ledger: UsageLedger) -> list[tuple[Any, ...]]:
    return ledger._connection.execute(
        "SELECT source, prompt_tokens, completion_tokens, estimated FROM usage_ledger"
    ).fetchall()


def stored_reply(history: History, conversation_id: int) -> Any:
    return history.load(conversation_id).messages[-1]


def test_a_reply_keeps_streaming_while_another_conversation_is_open(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
    history: History,
) -> None:
    """A new chat mid-answer leaves the answer streaming into its own conversation; it is
    complete in the history afterwards, and opening it again shows it whole."""
    chat = open_chat(slow_simulator.base_url, history=history)
    controller = chat.controller

    async def scenario() -> int:
        send(qtbot, chat, "Tell me a long story")
        await wait_until(lambda: len(chat.window.chat_view.reply_text()) > 40, "text to arrive")
        first = controller.conversation_id
        assert first is not None
        controller.new_chat()
        assert controller.streaming == (first,)
        assert not controller.busy and chat.window.chat_view.is_empty
        await wait_until(lambda: not controller.streaming, "the first reply to finish behind")
        return first

    first = run(scenario())
    reply = stored_reply(history, first)
    assert reply.state is MessageState.COMPLETE and reply.finish_reason == "stop"
    assert len(reply.content.split()) >= 100
    run(reopen(controller, history, first))
    assert chat.window.chat_view.last_reply_text() == reply.content


async def reopen(controller: Any, history: History, conversation_id: int) -> None:
    controller.open_conversation(history.load(conversation_id))


def test_coming_back_shows_the_reply_live_and_it_ends_on_screen(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
    history: History,
) -> None:
    chat = open_chat(slow_simulator.base_url, history=history)
    controller, view = chat.controller, chat.window.chat_view

    async def scenario() -> None:
        send(qtbot, chat, "Tell me a long story")
        await wait_until(lambda: len(view.reply_text()) > 40, "text to arrive")
        first = controller.conversation_id
        controller.new_chat()
        assert view.is_empty
        controller.open_conversation(history.load(first))
        # Back on it: the reply so far is shown, and it keeps growing here.
        assert controller.busy and controller.streaming == ()
        shown = len(view.reply_text())
        await wait_until(lambda: len(view.reply_text()) > shown + 20, "the reply to grow live")
        await wait_until(lambda: not controller.busy, "the reply to finish")

    run(scenario())
    [summary] = history.list_conversations()
    assert view.last_reply_text() == stored_reply(history, summary.id).content


def test_two_conversations_stream_at_once_and_both_are_stored_intact(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
    history: History,
) -> None:
    chat = open_chat(slow_simulator.base_url, history=history)
    controller, view = chat.controller, chat.window.chat_view
    model = chat.window.sidebar.model
    # As the conversation browser wires them in the window.
    controller.background_changed.connect(chat.window.sidebar.show_activity)

    async def scenario() -> list[int]:
        ids = []
        for prompt in ("Tell me about rivers", "Tell me about glaciers"):
            send(qtbot, chat, prompt)
            await wait_until(lambda: len(view.reply_text()) > 60, "text to arrive")
            ids.append(controller.conversation_id)
            controller.new_chat()
        assert controller.streaming == tuple(ids)
        assert [model.activity(i) for i in ids] == [ANSWERING, ANSWERING]
        await wait_until(lambda: not controller.streaming, "both replies to finish behind")
        # Finished while nobody looked: the sidebar says so until they are opened.
        assert [model.activity(i) for i in ids] == [UNSEEN, UNSEEN]
        controller.open_conversation(history.load(ids[0]))
        assert model.activity(ids[0]) is None
        return ids

    ids = run(scenario())
    prompts = [history.load(i).messages[0].content for i in ids]
    assert prompts == ["Tell me about rivers", "Tell me about glaciers"]
    for conversation_id in ids:
        reply = stored_reply(history, conversation_id)
        assert reply.state is MessageState.COMPLETE and len(reply.content.split()) >= 100


def test_past_the_cap_a_new_message_waits_with_a_clear_message(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    history: History,
) -> None:
    with SimulatorServer(chunk_delay=0.03, answer_words=400) as simulator:
        chat = open_chat(simulator.base_url, history=history)
        controller, view = chat.controller, chat.window.chat_view

        async def scenario() -> None:
            for index in range(MAX_STREAMING):
                send(qtbot, chat, f"Question {index}")
                await wait_until(lambda: len(view.reply_text()) > 60, "text to arrive")
                controller.new_chat()
            chat.window.composer.setPlainText("One more")
            controller.on_composer_submitted()
            assert f"{MAX_STREAMING} replies are still streaming" in chat.window.banner.headline
            assert chat.window.composer.text() == "One more"
            await controller.stop_and_wait()

        run(scenario())


def test_esc_is_paid_for_with_an_estimate_of_what_was_shown(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
    history: History,
    ledger: UsageLedger,
) -> None:
    """Stopped mid-answer, the reply still cost what was generated: the ledger, the status
    bar and the budget count it, marked estimated."""
    chat = open_chat(slow_simulator.base_url, history=history, ledger=ledger)
    view = chat.window.chat_view

    async def scenario() -> None:
        send(qtbot, chat, "Tell me a long story")
        await wait_until(lambda: len(view.reply_text()) > 60, "text to arrive")
        chat.controller.stop()
        await wait_until(lambda: not chat.controller.busy, "the reply to stop")
        await wait_until(lambda: ledger_rows(ledger), "the estimate to be recorded")

    run(scenario())
    reply = chat.controller.reply
    assert reply is not None and reply.text
    [(source, prompt, completion, estimated)] = ledger_rows(ledger)
    assert (source, estimated) == ("window", 1)
    assert completion == count_text(reply.text, MODEL) > 0 and prompt > 0
    assert chat.controller._spend is not None
    assert chat.controller._spend.session.requests == 1
    assert chat.controller._spend.session.estimated_requests == 1


def test_a_follow_up_sent_just_before_a_new_chat_stays_in_its_conversation(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
    history: History,
) -> None:
    """The turn belongs to the conversation it was sent in, even if the user leaves it before
    the turn has started."""
    chat = open_chat(slow_simulator.base_url, history=history)
    controller = chat.controller

    async def scenario() -> int:
        send(qtbot, chat, "First question")
        await wait_until(lambda: not controller.busy, "the first reply")
        first = controller.conversation_id
        assert first is not None
        send(qtbot, chat, "A follow-up")
        controller.new_chat()  # before the event loop has run the turn's task
        assert controller.streaming == (first,) and chat.window.chat_view.is_empty
        await wait_until(lambda: not controller.streaming, "the follow-up to finish behind")
        return first

    first = run(scenario())
    [summary] = history.list_conversations()
    assert summary.id == first
    prompts = [m.content for m in history.load(first).messages if m.role.value == "user"]
    assert prompts == ["First question", "A follow-up"]
