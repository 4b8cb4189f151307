"""Each conversation keeps its own unsent draft; the composer only shows the open one's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.store.history import History
from app.simulator import SimulatorServer
from tests.support.qt import ChatWindow, Runner
from tests.ui.chat.test_controller_replies import reply_to


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    store = History.open(tmp_path / "chatdesk.db")
    yield store
    store.close()


def test_a_draft_stays_with_its_conversation(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    history: History,
) -> None:
    chat = open_chat(simulator.base_url, history=history)
    controller, composer = chat.controller, chat.window.composer
    run(reply_to(qtbot, chat, "What is a pelican?"))
    first = controller.conversation_id
    assert first is not None
    qtbot.keyClicks(composer, "And what do they eat")

    controller.new_chat()
    assert composer.text() == ""
    # Undo in the new chat does not bring back what was typed in the other conversation.
    qtbot.keyClick(composer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert composer.text() == ""
    qtbot.keyClicks(composer, "Unrelated question")

    controller.open_conversation(history.load(first))
    assert composer.text() == "And what do they eat"
    assert controller.draft_request()[1][-1].text == "And what do they eat"


def test_text_typed_in_an_unsaved_chat_carries_into_the_next_new_chat(
    qtbot: QtBot, open_chat: Callable[..., ChatWindow], simulator: SimulatorServer
) -> None:
    chat = open_chat(simulator.base_url)
    qtbot.keyClicks(chat.window.composer, "Half a thought")
    chat.controller.new_chat()
    assert chat.window.composer.text() == "Half a thought"
