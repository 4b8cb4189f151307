"""View as code in the window: the exact last request as curl and Python, ready to copy."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from pytestqt.qtbot import QtBot

from app.core.as_code import Endpoint, SentRequest, as_curl, as_python
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.request import build_request
from app.simulator import SimulatorServer
from app.ui.conversations.code_dialog import NOTHING_SENT, SHORTENED_NOTE, CodeDialog
from tests.support.conversations import png_part
from tests.support.qt import TEST_KEY, ChatWindow, Runner, wait_until
from tests.support.schema import schema_errors

# The offscreen platform cannot size or raise top-level windows; on a desktop these work.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise)")


def curl_body(command: str) -> Any:
    lines = command.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith("<<'JSON'"))
    return json.loads("\n".join(lines[start + 1 : lines.index("JSON", start + 1)]))


def python_arguments(code: str) -> dict[str, Any]:
    for node in ast.walk(ast.parse(code)):
        if (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) == "client.chat.completions.create"
        ):
            return {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg is not None}
    raise AssertionError("no create() call")


def open_code_dialog(qtbot: QtBot, chat: ChatWindow) -> CodeDialog:
    """Ctrl+Shift+C, as a user would press it in the composer."""
    qtbot.keyClick(
        chat.window.composer,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    dialog = chat.window.conversation_actions.code_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def test_before_any_request_the_dialog_says_nothing_was_sent(
    qtbot: QtBot, open_chat: Callable[..., ChatWindow], simulator: SimulatorServer
) -> None:
    """Opened on a fresh conversation, View as code explains there is no request to show yet."""
    chat = open_chat(simulator.base_url)
    with qtbot.waitActive(chat.window):
        chat.window.activateWindow()
    dialog = open_code_dialog(qtbot, chat)
    assert dialog.note_label.text() == NOTHING_SENT
    assert not dialog.tabs.isVisible()


def test_view_as_code_shows_the_exact_request_just_sent(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """After a reply with an image, both tabs hold the very body the server received."""
    chat = open_chat(simulator.base_url)
    picture = tmp_path / "chart.png"
    Image.new("RGB", (40, 30), (30, 120, 200)).save(picture)

    async def scenario() -> None:
        chat.window.image_area.add_files([str(picture)])
        await wait_until(lambda: len(chat.window.image_area.parts()) == 1, "the image")
        qtbot.keyClicks(chat.window.composer, "What does this chart show?")
        qtbot.keyClick(chat.window.composer, Qt.Key.Key_Return)
        await wait_until(lambda: chat.controller.busy, "the reply to start")
        await wait_until(lambda: not chat.controller.busy, "the reply to finish")

    run(scenario())
    with qtbot.waitActive(chat.window):
        chat.window.activateWindow()
    dialog = open_code_dialog(qtbot, chat)

    [received] = simulator.requests
    clipboard = QGuiApplication.clipboard()
    qtbot.mouseClick(dialog.curl_tab.copy_button, Qt.MouseButton.LeftButton)
    curl = clipboard.text()
    assert curl_body(curl) == received.body
    assert schema_errors(curl_body(curl)) == []
    assert f"curl '{simulator.base_url}/chat/completions'" in curl
    qtbot.mouseClick(dialog.python_tab.copy_button, Qt.MouseButton.LeftButton)
    python = clipboard.text()
    assert python_arguments(python) == received.body
    assert dialog.python_tab.copied_label.text() == "Python code copied."

    image_url = received.body["messages"][-1]["content"][1]["image_url"]["url"]
    assert image_url in curl and image_url in python
    for shown in (dialog.curl_tab.view.toPlainText(), dialog.python_tab.view.toPlainText()):
        assert "What does this chart show?" in shown
        assert "OPENAI_API_KEY" in shown
        assert TEST_KEY not in shown
    assert TEST_KEY not in curl and TEST_KEY not in python


def test_a_new_chat_forgets_the_last_request(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """The code shown belongs to the conversation: a new chat has no request to show."""
    chat = open_chat(simulator.base_url)

    async def scenario() -> None:
        qtbot.keyClicks(chat.window.composer, "Hello")
        qtbot.keyClick(chat.window.composer, Qt.Key.Key_Return)
        await wait_until(lambda: chat.controller.busy, "the reply to start")
        await wait_until(lambda: not chat.controller.busy, "the reply to finish")

    run(scenario())
    assert chat.controller.last_request is not None
    chat.controller.new_chat()
    chat.window.conversation_actions.view_code_action.trigger()
    dialog = chat.window.conversation_actions.code_dialog
    assert dialog is not None
    assert dialog.note_label.text() == NOTHING_SENT


def test_big_images_are_shortened_on_screen_but_copied_whole(qtbot: QtBot) -> None:
    """A pasted photo's base64 is cut on screen, said so, and copied in full."""
    body = build_request(
        "gpt-4o",
        [ChatMessage.user("Describe it", (png_part((0, 0, 0)),))],
        ChatParams(temperature=0.2),
    )
    body["messages"][0]["content"][1]["image_url"]["url"] += "A" * 400_000
    endpoint = Endpoint("http://localhost:8080/v1", organization="org-team")
    dialog = CodeDialog()
    qtbot.addWidget(dialog)
    dialog.show_request(SentRequest(body, endpoint))
    dialog.show()

    assert SHORTENED_NOTE in dialog.note_label.text()
    assert len(dialog.curl_tab.view.toPlainText()) < 10_000
    assert "more characters)" in dialog.python_tab.view.toPlainText()
    qtbot.mouseClick(dialog.curl_tab.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == as_curl(body, endpoint)
    qtbot.mouseClick(dialog.python_tab.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == as_python(body, endpoint)
    assert dialog.curl_tab.view.isReadOnly() and dialog.python_tab.view.isReadOnly()
    monospace = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
    assert dialog.curl_tab.view.font().family() == monospace
