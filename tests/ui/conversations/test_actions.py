"""The Conversation menu: exporting the open conversation as Markdown or JSON from the window."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.core.catalog import CATALOG
from app.core.export.files import image_folder
from app.core.export.from_json import read_conversation_json
from app.core.store.history import History
from app.core.store.records import StoredConversation
from app.ui.conversations.actions import NOTHING_TO_EXPORT
from app.ui.main_window import MainWindow
from tests.support.conversations import open_history, png_bytes, rich_conversation
from tests.support.qt import MODEL, Runner


@dataclass
class SaveDialog:
    """Stands in for the system's Save dialog: records what it was asked, answers `answer`."""

    answer: Path | None
    asked: list[tuple[str, Path, str]] = field(default_factory=list)

    def __call__(self, parent: QWidget, caption: str, suggested: Path, filter_: str) -> Path | None:
        self.asked.append((caption, suggested, filter_))
        return self.answer


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    store = open_history(tmp_path / "data")
    yield store
    store.close()


@pytest.fixture
def conversation(history: History) -> StoredConversation:
    return rich_conversation(history)


@pytest.fixture
def window(qtbot: QtBot) -> MainWindow:
    window = MainWindow(CATALOG, MODEL)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def export(window: MainWindow, run: Runner[Any], which: str) -> None:
    """Pick an entry of the Conversation menu and wait for the files to be written."""
    actions = window.conversation_actions
    action = {"markdown": actions.export_markdown_action, "json": actions.export_json_action}

    async def scenario() -> None:
        action[which].trigger()
        await actions.finish_exports()

    run(scenario())


def test_the_conversation_menu_offers_exports_and_view_as_code(window: MainWindow) -> None:
    """The window's Conversation button opens a menu with its four entries."""
    menu = window.conversation_button.menu()
    assert window.conversation_button.isVisible()
    assert [a.text() for a in menu.actions() if not a.isSeparator()] == [
        "Export as &Markdown…",
        "Export as &JSON…",
        "View as &code…",
        "Compare &models…",
    ]
    assert window.conversation_actions.view_code_action.shortcut().toString() == "Ctrl+Shift+C"
    assert window.conversation_actions.compare_action.shortcut().toString() == "Ctrl+Shift+M"


def test_exporting_with_nothing_open_says_so(window: MainWindow, run: Runner[Any]) -> None:
    """With no conversation yet, Export explains why instead of asking for a file name."""
    save = SaveDialog(None)
    window.conversation_actions.choose_path = save
    export(window, run, "markdown")
    assert window.banner.isVisible()
    assert window.banner.headline == NOTHING_TO_EXPORT
    assert save.asked == []


def test_export_as_markdown_writes_the_file_and_its_images(
    window: MainWindow,
    run: Runner[Any],
    conversation: StoredConversation,
    tmp_path: Path,
) -> None:
    """Markdown export suggests a name from the title and writes the text and its pictures."""
    target = tmp_path / "exports" / "trip.md"
    save = SaveDialog(target)
    window.conversation_actions.choose_path = save
    window.set_exporter(lambda: conversation)
    export(window, run, "markdown")

    [(caption, suggested, _)] = save.asked
    assert caption == "Export as Markdown"
    assert suggested.name == "What is in these pictures.md"
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# What is in these pictures?\n")
    [picture] = image_folder(target).iterdir()
    assert picture.read_bytes() == png_bytes((200, 30, 30))
    assert window.status.currentMessage() == f"Exported to {target} and 1 image"
    assert not window.banner.isVisible()


def test_export_as_json_reimports_as_the_same_conversation(
    window: MainWindow,
    run: Runner[Any],
    history: History,
    conversation: StoredConversation,
    tmp_path: Path,
) -> None:
    """The JSON file written from the menu is valid JSON holding every message."""
    target = tmp_path / "chat"
    window.conversation_actions.choose_path = SaveDialog(target)
    window.set_exporter(lambda: history.load(conversation.id))
    export(window, run, "json")

    written = target.with_name("chat.json")
    text = written.read_text(encoding="utf-8")
    assert json.loads(text)["title"] == conversation.title
    again = read_conversation_json(text)
    assert [(m.role, m.content, m.state) for m in again.messages] == [
        (m.role, m.content, m.state) for m in conversation.messages
    ]
    assert again.params == conversation.params
    assert window.status.currentMessage() == f"Exported to {written}"


def test_cancelling_the_save_dialog_writes_nothing(
    window: MainWindow, run: Runner[Any], conversation: StoredConversation, tmp_path: Path
) -> None:
    """Cancel in the Save dialog leaves no file and no message behind."""
    window.conversation_actions.choose_path = SaveDialog(None)
    window.set_exporter(lambda: conversation)
    export(window, run, "json")
    assert not window.banner.isVisible()
    assert window.status.currentMessage() == ""


def test_a_failed_export_is_shown_in_the_banner(
    window: MainWindow, run: Runner[Any], conversation: StoredConversation, tmp_path: Path
) -> None:
    """Saving where no file can be written says which file failed and what to do."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    window.conversation_actions.choose_path = SaveDialog(blocker / "chat.json")
    window.set_exporter(lambda: conversation)
    export(window, run, "json")
    assert window.banner.headline == "Could not write chat.json"
    assert "Choose another folder" in window.banner.remedy
