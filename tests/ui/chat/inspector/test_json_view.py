"""The JSON view of JSON-mode answers, end to end against the simulator."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.params import ChatParams
from app.core.store.history import History
from app.simulator import SimulatorServer
from app.ui.chat.inspector.dock import InspectorDock
from app.ui.chat.inspector.json_tree import JsonItem
from tests.support.qt import ChatWindow, Runner, wait_until
from tests.ui.chat.test_controller_replies import click_link, reply_to, send
from tests.ui.markdown.structure import anchors

# Lower case: the header link "JSON" is found by its text, case-sensitively.
PROMPT = "Describe a heron as json"


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    store = History.open(tmp_path / "chatdesk.db")
    yield store
    store.close()


@pytest.fixture
def slow_simulator() -> Iterator[SimulatorServer]:
    with SimulatorServer(chunk_delay=0.02, answer_words=80) as server:
        yield server


def links(chat: ChatWindow) -> list[str]:
    return [text for text, _ in anchors(chat.window.chat_view.document())]


def dock(chat: ChatWindow) -> InspectorDock:
    return chat.window.inspector_dock


def top_keys(chat: ChatWindow) -> list[str]:
    tree = dock(chat).json_page.tree
    return [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]


def test_a_json_answer_is_checked_and_shown_as_a_tree(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """JSON opens the answer as a tree of its keys and values, marked as valid JSON."""
    chat = open_chat(simulator.base_url)
    chat.controller.set_params(ChatParams(json_mode=True))
    run(reply_to(qtbot, chat, PROMPT))
    answer = json.loads(chat.window.chat_view.last_reply_text())

    click_link(qtbot, chat, "JSON")

    page = dock(chat).json_page
    assert dock(chat).isVisible() and page.isVisible()
    assert page.status_label.text() == f"✓ Valid JSON: object with {len(answer)} keys"
    assert top_keys(chat) == list(answer)
    items = {item.path: item for item in page.tree.items()}
    assert items[".model"].text(1) == json.dumps(answer["model"])
    assert items[".images"].text(1) == "[0 items]"
    assert items[".simulated"].text(1) == "true"
    # Below the tree, the document as indented JSON.
    assert json.loads(page.detail.toPlainText()) == answer


def test_a_node_copies_as_json(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """Selecting a node shows its JSON below the tree; Ctrl+C and Copy put it on the clipboard."""
    chat = open_chat(simulator.base_url)
    chat.controller.set_params(ChatParams(json_mode=True))
    run(reply_to(qtbot, chat, PROMPT))
    click_link(qtbot, chat, "JSON")
    page = dock(chat).json_page
    item = next(i for i in page.tree.items() if i.path == ".prompt")

    page.tree.setCurrentItem(item)
    page.tree.setFocus()
    qtbot.keyClick(page.tree, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)

    assert QApplication.clipboard().text() == json.dumps(PROMPT)
    assert page.path_label.text() == ".prompt"
    assert page.detail.toPlainText() == json.dumps(PROMPT)
    QApplication.clipboard().clear()
    qtbot.mouseClick(page.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == json.dumps(PROMPT)


def test_an_answer_cut_off_by_the_token_limit_is_marked_and_shows_what_arrived(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """A JSON answer cut short by max tokens says so, and its tree holds the part that came."""
    chat = open_chat(simulator.base_url)
    chat.controller.set_params(ChatParams(json_mode=True, max_output_tokens=30))
    run(reply_to(qtbot, chat, PROMPT))
    text = chat.window.chat_view.last_reply_text()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert "JSON" not in links(chat)

    click_link(qtbot, chat, "Invalid JSON")

    page = dock(chat).json_page
    status = page.status_label.text()
    assert status.startswith("✗ Not valid JSON. Cut off by the token limit (line ")
    assert "Below is the part that arrived." in status
    keys = top_keys(chat)
    assert keys[:3] == ["model", "simulated", "prompt"]
    assert all(f'"{key}"' in text for key in keys)


def test_a_broken_json_answer_shows_its_text_with_the_fault_marked(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """An answer broken mid-way has no tree; its text is shown with the fault highlighted."""
    broken = '{"name": "heron",\n "legs": 2 "wings": 2}'
    simulator.script_answer(broken)
    chat = open_chat(simulator.base_url)
    chat.controller.set_params(ChatParams(json_mode=True))
    run(reply_to(qtbot, chat, PROMPT))

    click_link(qtbot, chat, "Invalid JSON")

    page = dock(chat).json_page
    assert page.status_label.text() == (
        "✗ Not valid JSON. Not valid JSON: expecting ',' delimiter (line 2, column 12)."
    )
    assert not page.tree.isVisible()
    assert page.detail.toPlainText() == broken
    [mark] = page.detail.extraSelections()
    assert mark.cursor.selectedText() == '"'


def test_the_json_view_follows_a_new_answer_and_checks_it_when_complete(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
) -> None:
    """With the JSON view open, the next answer takes it over: checked once it has arrived."""
    chat = open_chat(slow_simulator.base_url)
    chat.controller.set_params(ChatParams(json_mode=True))
    page = dock(chat).json_page

    async def scenario() -> None:
        await reply_to(qtbot, chat, PROMPT)
        click_link(qtbot, chat, "JSON")
        send(qtbot, chat, "And a stork, as json")
        await wait_until(lambda: chat.controller.busy, "the second answer to start")
        await wait_until(lambda: "stork" in chat.window.chat_view.last_reply_text(), "text")
        assert page.status_label.text() == "The JSON is checked when the answer is complete…"
        await wait_until(lambda: not chat.controller.busy, "the second answer to finish")

    run(scenario())
    assert page.status_label.text().startswith("✓ Valid JSON")
    items = {item.path: item for item in page.tree.items()}
    assert "stork" in items[".prompt"].text(1)


def test_a_stored_json_answer_opens_as_a_tree_again(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    history: History,
) -> None:
    """Reopened from the history, a JSON answer offers the same tree."""
    chat = open_chat(simulator.base_url, history=history)
    chat.controller.set_params(ChatParams(json_mode=True))
    run(reply_to(qtbot, chat, PROMPT))
    answer = json.loads(chat.window.chat_view.last_reply_text())
    chat.controller.new_chat()

    [summary] = history.list_conversations()
    chat.controller.open_conversation(history.load(summary.id))
    click_link(qtbot, chat, "JSON")

    assert dock(chat).json_page.status_label.text().startswith("✓ Valid JSON")
    assert top_keys(chat) == list(answer)
    assert all(isinstance(item, JsonItem) for item in dock(chat).json_page.tree.items())
