"""The whole window with its history: the sidebar, search, delete and undo, and a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.messages import ChatMessage
from app.core.store.history import History
from app.core.store.records import MessageState
from app.core.tokens import count_text
from app.simulator import SimulatorServer
from tests.support.gui_session import make_context, open_session_fixture  # noqa: F401
from tests.support.qt import TEST_KEY, Runner, wait_until


def start(
    open_session: Callable[..., GuiSession], data_dir: Path, simulator: SimulatorServer
) -> GuiSession:
    context = make_context(data_dir, environ={"OPENAI_API_KEY": TEST_KEY})
    return open_session(context, base_url=simulator.base_url)


def seed(data_dir: Path, title: str, *exchanges: tuple[str, str]) -> int:
    history = History.open(data_dir / "chatdesk.db")
    conversation = history.create_conversation(model="gpt-4o-mini")
    for prompt, answer in exchanges:
        history.add_message(conversation, ChatMessage.user(prompt))
        history.add_message(conversation, ChatMessage.assistant(answer))
    history.rename(conversation, title)
    history.close()
    return conversation


def titles(session: GuiSession) -> list[str]:
    return [c.title for c in session.window.sidebar.conversations()]


def test_the_sidebar_lists_stored_conversations_and_a_click_opens_one(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Stored conversations are listed newest first; choosing one shows it in the chat view."""
    seed(data_dir, "Birds", ("Name a bird", "A heron."))
    seed(data_dir, "Trees", ("Name a tree", "An oak."))
    session = start(open_session, data_dir, simulator)
    sidebar = session.window.sidebar
    assert titles(session) == ["Trees", "Birds"]

    view = sidebar.list_view
    rect = view.visualRect(view.model().index(1, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    run(wait_until(lambda: "A heron." in session.window.chat_view.rendered_text(), "Birds"))
    assert session.controller.conversation_id is not None
    assert sidebar.open_conversation == session.controller.conversation_id


def test_a_new_conversation_appears_at_the_top_of_the_sidebar_once_sent(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Sending the first message stores the chat, titled by the prompt, at the top and selected."""
    seed(data_dir, "Older", ("Hi", "Hello."))
    session = start(open_session, data_dir, simulator)
    composer = session.window.composer

    async def scenario() -> None:
        await session.connect()
        qtbot.keyClicks(composer, "Plan a trip to Lisbon")
        qtbot.keyClick(composer, Qt.Key.Key_Return)
        await wait_until(lambda: session.controller.busy, "the reply to start")
        await wait_until(lambda: not session.controller.busy, "the reply to finish")

    run(scenario())
    assert titles(session) == ["Plan a trip to Lisbon", "Older"]
    assert session.window.sidebar.open_conversation == session.controller.conversation_id


# The offscreen platform cannot raise the search window and says so; real platforms can.
@pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise)")
def test_ctrl_k_finds_a_message_and_opens_its_conversation_there(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Ctrl+K, a word from an old answer and Enter open that conversation at that message."""
    seed(data_dir, "Cooking", ("How long do I boil an egg?", "About nine minutes for hard."))
    seed(data_dir, "Other", ("Something else", "Indeed."))
    session = start(open_session, data_dir, simulator)
    window = session.window
    with qtbot.waitActive(window):
        window.activateWindow()
    qtbot.keyClick(window.composer, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    dialog = session.browser.search_dialog if session.browser is not None else None
    assert dialog is not None and dialog.isVisible()

    qtbot.keyClicks(dialog.query_edit, "nine minu")
    run(wait_until(lambda: len(dialog.hits()) == 1 and not dialog.busy, "the search result"))
    qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Return)

    run(wait_until(lambda: "nine minutes" in window.chat_view.rendered_text(), "the hit"))
    assert not dialog.isVisible()
    assert titles(session)[0] == "Other"  # opening does not reorder the list
    assert window.sidebar.open_conversation == session.controller.conversation_id


def test_deleting_the_open_conversation_starts_a_new_chat_and_undo_restores_it(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Delete empties the window and drops the row; Undo brings the conversation back."""
    conversation = seed(data_dir, "Keep me", ("Question", "Answer."))
    session = start(open_session, data_dir, simulator)
    browser = session.browser
    assert browser is not None
    run(browser.load_and_show(conversation))
    sidebar = session.window.sidebar

    sidebar.list_view.setFocus()
    sidebar.request_delete(conversation)

    assert titles(session) == []
    assert session.window.chat_view.is_empty
    assert session.controller.conversation_id is None
    assert sidebar.undo_bar.undo_button.isVisible()
    qtbot.mouseClick(sidebar.undo_bar.undo_button, Qt.MouseButton.LeftButton)
    assert titles(session) == ["Keep me"]


def test_a_reply_cut_off_by_a_kill_shows_as_interrupted_at_the_next_start(
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """A reply left streaming by a dead process is opened at start, marked interrupted."""
    history = History.open(data_dir / "chatdesk.db")
    conversation = history.create_conversation(model="gpt-4o-mini")
    history.add_message(conversation, ChatMessage.user("Write an essay"))
    reply = history.begin_reply(conversation, model="gpt-4o-mini")
    history.save_partial(reply, "The first paragraph")
    session = start(open_session, data_dir, simulator)
    browser = session.browser
    assert browser is not None

    async def scenario() -> None:
        await session.connect()
        await browser.tidy()
        # What the provider billed before the kill is paid for, estimated, once counted.
        await wait_until(lambda: history.load(conversation).messages[1].usage, "the estimate")

    run(scenario())
    stored = history.load(conversation).messages[1]
    assert stored.state is MessageState.INTERRUPTED
    assert stored.usage is not None and stored.usage.estimated
    assert stored.usage.completion_tokens == count_text("The first paragraph", "gpt-4o-mini")
    rendered = session.window.chat_view.rendered_text()
    assert "The first paragraph" in rendered and "Interrupted" in rendered
    assert "Continue" in rendered
    history.close()


def test_conversations_saved_elsewhere_appear_when_the_window_is_activated(
    qtbot: QtBot,
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """An exchange saved by `chatdesk ask` meanwhile is listed once the user returns."""
    session = start(open_session, data_dir, simulator)
    assert titles(session) == []
    seed(data_dir, "Asked from the terminal", ("What time is it in Tokyo?", "Evening."))

    window = session.window
    window.sidebar.list_view.setFocus()
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    with qtbot.waitActive(other):
        other.activateWindow()
    with qtbot.waitActive(window):
        window.activateWindow()

    assert titles(session) == ["Asked from the terminal"]
