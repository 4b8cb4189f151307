"""The chat window keeps conversations in the history: written as they happen, reopened whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from app.core.endings import STOPPED as STOPPED_NOTE
from app.core.messages import ChatMessage, Role
from app.core.params import ChatParams
from app.core.store.history import History
from app.core.store.records import MessageState
from app.simulator import SimulatorServer
from app.ui.chat.stored_pages import MOST_SHOWN, PAGE, SHOWN_AT_OPEN
from tests.support.qt import ChatWindow, Runner, wait_until
from tests.ui.chat.test_controller_replies import click_link, reply_to, send, settled
from tests.ui.markdown.structure import anchors


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    store = History.open(tmp_path / "chatdesk.db")
    yield store
    store.close()


@pytest.fixture
def slow_simulator() -> Iterator[SimulatorServer]:
    """A simulator streaming a long answer slowly enough to read the history mid-reply."""
    with SimulatorServer(chunk_delay=0.03, answer_words=300) as server:
        yield server


def links(chat: ChatWindow) -> list[str]:
    return [text for text, _ in anchors(chat.window.chat_view.document())]


def test_an_exchange_is_stored_with_its_model_parameters_and_usage(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    history: History,
) -> None:
    """After a reply, the history holds the prompt, the complete answer, its usage and settings."""
    chat = open_chat(simulator.base_url, history=history)
    chat.controller.set_params(ChatParams(temperature=0.3))

    run(reply_to(qtbot, chat, "What is a pelican?"))

    [summary] = history.list_conversations()
    assert summary.title == "What is a pelican?"
    stored = history.load(summary.id)
    assert stored.params.temperature == 0.3
    user, reply = stored.messages
    assert (user.role, user.content) == (Role.USER, "What is a pelican?")
    assert reply.content == chat.window.chat_view.last_reply_text()
    assert reply.state is MessageState.COMPLETE
    assert reply.finish_reason == "stop"
    assert reply.usage is not None and reply.usage.completion_tokens > 0


def test_the_reply_is_on_disk_while_it_streams(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
    history: History,
    tmp_path: Path,
) -> None:
    """Another reader of the database sees the partial reply, marked streaming, before it ends."""
    chat = open_chat(slow_simulator.base_url, history=history)
    reader = History.open(tmp_path / "chatdesk.db")

    def stored_reply() -> Any:
        conversations = reader.list_conversations()
        if not conversations:
            return None
        messages = reader.load(conversations[0].id).messages
        return messages[1] if len(messages) > 1 else None

    async def scenario() -> None:
        send(qtbot, chat, "Tell me a long story")
        await wait_until(
            lambda: (r := stored_reply()) is not None and len(r.content) > 40,
            "the partial reply to be written",
        )
        partial = stored_reply()
        assert partial.state is MessageState.STREAMING
        assert chat.controller.busy
        assert chat.window.chat_view.last_reply_text().startswith(partial.content)
        chat.controller.stop()
        await wait_until(lambda: not chat.controller.busy, "the reply to stop")

    run(scenario())
    stopped = stored_reply()
    assert stopped.state is MessageState.STOPPED
    assert stopped.note == STOPPED_NOTE
    assert stopped.content == chat.controller.conversation[-1].text
    reader.close()


def test_a_stopped_reply_can_be_continued_into_the_same_message(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
    history: History,
) -> None:
    """Continue sends the partial answer back and streams more of it into the same message."""
    chat = open_chat(slow_simulator.base_url, history=history)
    view = chat.window.chat_view

    async def scenario() -> None:
        send(qtbot, chat, "Explain streaming")
        await wait_until(lambda: len(view.last_reply_text()) > 60, "some text")
        chat.controller.stop()
        await wait_until(lambda: not chat.controller.busy, "the reply to stop")
        await settled(chat)
        assert "Continue" in links(chat)
        click_link(qtbot, chat, "Continue")
        await wait_until(lambda: chat.controller.busy, "the continuation to start")
        await wait_until(lambda: not chat.controller.busy, "the continuation to finish")

    run(scenario())
    partial = slow_simulator.requests[0]
    continued = slow_simulator.requests[-1].body["messages"]
    assert partial.body["messages"][0] == continued[0]
    assert continued[1]["role"] == "assistant"
    assert continued[2]["role"] == "user" and "Continue" in continued[2]["content"]
    # One reply in the transcript and in the history, made of both parts.
    assert [m.role for m in chat.controller.conversation] == [Role.USER, Role.ASSISTANT]
    whole = chat.controller.conversation[-1].text
    assert whole.startswith(continued[1]["content"]) and len(whole) > len(continued[1]["content"])
    assert view.last_reply_text() == whole
    stored = history.load(history.list_conversations()[0].id).messages
    assert [m.content for m in stored] == ["Explain streaming", whole]
    assert stored[1].state is MessageState.COMPLETE
    assert "Continue" not in links(chat)


def test_regenerate_replaces_the_stored_exchange(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    history: History,
) -> None:
    """Regenerate leaves one stored reply for the question: the new one."""
    chat = open_chat(simulator.base_url, history=history)

    async def scenario() -> None:
        await reply_to(qtbot, chat, "first question")
        click_link(qtbot, chat, "Regenerate")
        await wait_until(lambda: len(simulator.requests) == 2, "the second request")
        await wait_until(lambda: not chat.controller.busy, "the new reply")
        await settled(chat)

    run(scenario())
    stored = history.load(history.list_conversations()[0].id).messages
    assert [m.role for m in stored] == [Role.USER, Role.ASSISTANT]
    assert stored[1].content == chat.window.chat_view.last_reply_text()


def test_an_opened_conversation_continues_where_it_left_off(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    history: History,
) -> None:
    """An opened conversation brings back its messages, model and parameters for the next turn."""
    conversation = history.create_conversation(
        model="gpt-4o", system_prompt="Be brief.", params=ChatParams(seed=7)
    )
    history.add_message(conversation, ChatMessage.user("Name a bird"))
    history.add_message(conversation, ChatMessage.assistant("A **heron**."))
    chat = open_chat(simulator.base_url, history=history)

    chat.controller.open_conversation(history.load(conversation))
    assert "A heron." in chat.window.chat_view.rendered_text()
    assert chat.window.model_combo.currentText() == "gpt-4o"
    run(reply_to(qtbot, chat, "Another one"))

    body = simulator.requests[0].body
    assert body["model"] == "gpt-4o" and body["seed"] == 7
    assert [m["content"] for m in body["messages"]] == [
        "Be brief.",
        "Name a bird",
        "A **heron**.",
        "Another one",
    ]
    assert len(history.load(conversation).messages) == 4
    assert chat.controller.conversation_id == conversation


def test_an_interrupted_reply_opens_with_continue_and_regenerate(
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    history: History,
) -> None:
    """A reply cut off by a crash is shown as interrupted, offering Continue and Regenerate."""
    conversation = history.create_conversation(model="gpt-4o-mini")
    history.add_message(conversation, ChatMessage.user("Write a poem"))
    reply = history.begin_reply(conversation, model="gpt-4o-mini")
    history.save_partial(reply, "Roses are red,")
    assert len(history.recover_interrupted()) == 1
    chat = open_chat(simulator.base_url, history=history)

    chat.controller.open_conversation(history.load(conversation))

    rendered = chat.window.chat_view.rendered_text()
    assert "Roses are red," in rendered
    assert "Interrupted" in rendered
    assert {"Continue", "Regenerate"} <= set(links(chat))
    # The window's estimate of the next request counts in the background: let it finish.
    run(settled(chat))


def test_a_long_conversation_shows_its_end_first_and_other_pages_on_demand(
    run: Runner[Any],
    qtbot: QtBot,
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    history: History,
) -> None:
    """A 200-message conversation opens at its end; earlier and later pages come a click away."""
    conversation = history.create_conversation(model="gpt-4o-mini")
    for index in range(100):
        history.add_message(conversation, ChatMessage.user(f"question {index}"))
        history.add_message(conversation, ChatMessage.assistant(f"answer {index}"))
    chat = open_chat(simulator.base_url, history=history)
    view = chat.window.chat_view

    chat.controller.open_conversation(history.load(conversation))

    assert len(view.messages) == SHOWN_AT_OPEN
    assert view.messages[-1].text() == "answer 99"
    earlier, later = view.earlier_button, view.later_button
    assert earlier.isVisible() and earlier.text() == f"Show {200 - SHOWN_AT_OPEN} earlier messages"
    assert not later.isVisible()
    assert "Edit" in links(chat)

    qtbot.mouseClick(earlier, Qt.MouseButton.LeftButton)
    first = 200 - SHOWN_AT_OPEN - PAGE
    assert view.messages[0].text() == f"question {first // 2}"
    qtbot.mouseClick(earlier, Qt.MouseButton.LeftButton)
    assert view.messages[0].text() == "question 0"
    assert len(view.messages) == MOST_SHOWN
    assert not earlier.isVisible()
    # Not at the end: the window does not offer to redo an exchange that is not the last.
    assert later.isVisible() and later.text() == f"Show {200 - MOST_SHOWN} later messages"
    assert "Edit" not in links(chat) and "Regenerate" not in links(chat)

    qtbot.mouseClick(later, Qt.MouseButton.LeftButton)
    assert view.messages[-1].text() == "answer 99"
    assert not later.isVisible()
    assert "Regenerate" in links(chat)
    # The window's estimate of the next request counts in the background: let it finish.
    run(settled(chat))


def test_sending_from_an_earlier_page_goes_to_the_end(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    history: History,
) -> None:
    """Sending while earlier messages are shown draws the end again and adds the turn there."""
    conversation = history.create_conversation(model="gpt-4o-mini")
    for index in range(100):
        history.add_message(conversation, ChatMessage.user(f"question {index}"))
        history.add_message(conversation, ChatMessage.assistant(f"answer {index}"))
    chat = open_chat(simulator.base_url, history=history)
    view = chat.window.chat_view
    chat.controller.open_conversation(history.load(conversation), at_position=0)
    assert view.later_button.isVisible()

    run(reply_to(qtbot, chat, "one more"))

    assert [m.text() for m in view.messages[-3:-1]] == ["answer 99", "one more"]
    assert not view.later_button.isVisible()
    qtbot.mouseClick(view.earlier_button, Qt.MouseButton.LeftButton)
    # Sliding back reads the conversation again: the new turn counts among the later messages.
    assert view.later_button.text() == "Show 2 later messages"


def test_opening_at_a_search_hit_shows_that_message_at_the_top(
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    history: History,
) -> None:
    """A hit deep in a long conversation is drawn and scrolled to, not left out of view."""
    conversation = history.create_conversation(model="gpt-4o-mini")
    for index in range(100):
        history.add_message(conversation, ChatMessage.user(f"question {index}"))
        history.add_message(conversation, ChatMessage.assistant("answer\n\n" * 5))
    [hit] = history.search("question 7")[-1:]
    chat = open_chat(simulator.base_url, history=history)
    view = chat.window.chat_view

    chat.controller.open_conversation(history.load(conversation), at_position=hit.position)

    assert view.messages[1].text() == "question 7"
    assert not view.following
    bar = view.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() < bar.maximum()
    top_line = view.cursorForPosition(QPoint(30, 30)).block().text()
    assert top_line.startswith("You") or top_line == "question 7"
    # The window's estimate of the next request counts in the background: let it finish.
    run(settled(chat))
