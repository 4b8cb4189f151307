"""Quitting while replies stream asks first; quitting anyway keeps each reply as stopped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.store.history import History
from app.core.store.records import MessageState
from app.simulator import SimulatorServer
from app.ui.quit_question import QUIT_ANYWAY
from tests.support.gui_session import make_context, open_session_fixture  # noqa: F401
from tests.support.qt import TEST_KEY, Runner, wait_until


# The offscreen platform cannot size a message box's window and says so; desktops can.
@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
def test_closing_while_replies_stream_asks_and_quit_anyway_keeps_them_stopped(
    qtbot: QtBot,
    qapp: QApplication,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
) -> None:
    # As `run_gui` has it: closing the window ends the session, not Qt's loop by itself.
    qapp.setQuitOnLastWindowClosed(False)
    with SimulatorServer(api_key=TEST_KEY, chunk_delay=0.02, answer_words=3000) as simulator:
        context = make_context(data_dir, environ={"OPENAI_API_KEY": TEST_KEY})
        session = open_session(context, base_url=simulator.base_url)
        window, controller = session.window, session.controller
        closed: list[bool] = []
        window.closed.connect(lambda: closed.append(True))

        async def send(prompt: str) -> None:
            qtbot.keyClicks(window.composer, prompt)
            qtbot.keyClick(window.composer, Qt.Key.Key_Return)
            await wait_until(lambda: len(window.chat_view.reply_text()) > 60, "text to arrive")

        async def scenario() -> None:
            await session.connect()
            await send("Tell me about rivers")
            # The first reply goes on behind a new chat; a second one streams on screen.
            controller.new_chat()
            await send("Tell me about glaciers")
            assert session.streaming_count() == 2

            window.close()
            await wait_until(lambda: session.quit_question.box is not None, "the question")
            box = session.quit_question.box
            assert box is not None and box.text() == "2 replies are still streaming"
            box.button(QMessageBox.StandardButton.Cancel).click()
            await wait_until(lambda: session.quit_question.box is None, "the answer")
            assert not closed and window.isVisible() and session.streaming_count() == 2

            window.close()
            await wait_until(lambda: session.quit_question.box is not None, "the question")
            box = session.quit_question.box
            assert box is not None
            [quit_button] = [b for b in box.buttons() if b.text() == QUIT_ANYWAY]
            quit_button.click()
            await wait_until(lambda: closed, "the window to close")
            # What the session does on quitting: every reply stops and is stored.
            await controller.stop_and_wait()

        try:
            run(scenario())
        finally:
            qapp.setQuitOnLastWindowClosed(True)

    history = History.open(data_dir / "chatdesk.db")
    try:
        replies = [history.load(c.id).messages[-1] for c in history.list_conversations()]
    finally:
        history.close()
    assert len(replies) == 2
    assert all(r.state is MessageState.STOPPED and r.content for r in replies)
    assert all(r.usage is not None and r.usage.estimated for r in replies)
