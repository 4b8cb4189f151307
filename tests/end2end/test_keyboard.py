"""Keyboard and screen-reader use of the main window: shortcuts, tab order, accessible names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.secrets import ENV_VAR
from app.core.settings import SendShortcut
from app.simulator import SimulatorServer
from app.ui.window_actions import WINDOW_ACTIONS
from tests.support.gui_session import (  # noqa: F401
    is_ready,
    make_context,
    open_session_fixture,
    open_settings,
    settle,
)
from tests.support.qt import ChatWindow, Runner, wait_until


def focusable(root: QWidget) -> list[QWidget]:
    """Every widget in `root`'s windows that Tab can reach, shown now or on another page.

    Left out: the parts of compound widgets that hand their focus to the whole (a spin box's
    editor), and popups (a combo box's list), which are separate windows Tab never enters.
    """
    windows = {root, *(w for w in root.findChildren(QWidget) if w.isWindow() and w.isVisible())}
    return [
        w
        for w in root.findChildren(QWidget)
        if w.focusPolicy() & Qt.FocusPolicy.TabFocus
        and w.focusProxy() is None
        and w.window() in windows
    ]


def test_ctrl_comma_opens_the_settings_dialog_without_blocking_the_window(
    qtbot: QtBot, run: Runner[Any], data_dir: Path, open_session: Callable[..., GuiSession]
) -> None:
    """Ctrl+, opens Settings as a separate, non-modal window with the key field focused."""
    session = open_session(make_context(data_dir))
    dialog = open_settings(qtbot, session)
    run(settle(dialog))

    assert dialog.isVisible()
    assert not dialog.isModal()
    assert dialog.focusWidget() is dialog.key_edit
    assert session.window.isEnabled()


def test_the_settings_button_and_the_welcome_key_button_open_settings(
    qtbot: QtBot, run: Runner[Any], data_dir: Path, open_session: Callable[..., GuiSession]
) -> None:
    """The toolbar's Settings button opens the dialog; so does Enter API key on the welcome."""
    session = open_session(make_context(data_dir))
    asked: list[str] = []
    session.window.settings_requested.connect(asked.append)

    async def scenario() -> None:
        await session.connect()
        qtbot.mouseClick(session.window.settings_button, Qt.MouseButton.LeftButton)
        dialog = session.settings_dialog
        assert dialog is not None
        await settle(dialog)
        dialog.close()
        qtbot.mouseClick(session.window.welcome.key_button, Qt.MouseButton.LeftButton)
        await settle(dialog)
        assert dialog.focusWidget() is dialog.key_edit

    run(scenario())

    assert asked == ["", "api_key"]
    assert session.settings_dialog is not None
    assert session.settings_dialog.isVisible()


def test_ctrl_enter_setting_is_honoured_by_the_open_window_at_once(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """After saving "Ctrl+Enter", Enter adds a line and Ctrl+Enter sends, without a restart."""
    context = make_context(data_dir, environ={ENV_VAR: "sk-test-keyboard"})
    session = open_session(context, base_url=simulator.base_url)
    window = session.window

    async def scenario() -> None:
        await session.connect()
        await wait_until(lambda: is_ready(session), "the connection")
        session.on_window_settings_requested("send_shortcut")
        dialog = session.settings_dialog
        assert dialog is not None
        await settle(dialog)
        dialog.send_combo.setCurrentIndex(dialog.send_combo.findData(SendShortcut.CTRL_ENTER))
        assert await dialog.save()
        dialog.close()
        qtbot.keyClicks(window.composer, "first line")
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
        qtbot.keyClicks(window.composer, "second line")
        assert window.composer.text() == "first line\nsecond line"
        assert not session.controller.busy
        qtbot.keyClick(window.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        await wait_until(lambda: session.controller.busy, "the reply to start")
        await wait_until(lambda: not session.controller.busy, "the reply to finish")
        await session.shutdown()

    run(scenario())

    assert context.settings.send_shortcut is SendShortcut.CTRL_ENTER
    assert window.composer.send_shortcut is SendShortcut.CTRL_ENTER
    assert "Ctrl+Enter sends" in window.composer.placeholderText()
    assert [r.body["messages"][-1]["content"] for r in simulator.requests] == [
        "first line\nsecond line"
    ]


def test_the_window_commands_keep_their_keys_and_the_buttons_name_them(
    data_dir: Path, open_session: Callable[..., GuiSession]
) -> None:
    """Every shortcut of the window, the Conversation menu's too, comes from the one table and
    works with no menu open; tooltips say the keys."""
    window = open_session(make_context(data_dir)).window
    commands = window.window_actions | window.conversation_actions.actions

    keys = {name: action.shortcut().toString() for name, action in commands.items()}

    assert keys == {
        "stop": "Esc",
        "focus_composer": "Ctrl+L",
        "new_chat": "Ctrl+N",
        "settings": "Ctrl+,",
        "usage": "Ctrl+Shift+U",
        "export_markdown": "",
        "export_json": "",
        "view_code": "Ctrl+Shift+C",
        "compare": "Ctrl+Shift+M",
    }
    assert list(commands) == [command.name for command in WINDOW_ACTIONS]
    with_keys = [a for a in window.findChildren(QAction) if not a.shortcut().isEmpty()]
    assert sorted(action.objectName() for action in with_keys) == sorted(
        f"{name}Action" for name, shown in keys.items() if shown
    )
    assert all(action in window.actions() for action in with_keys)
    assert window.stop_button.toolTip().endswith("(Esc)")
    assert window.new_chat_button.toolTip().endswith("(Ctrl+N)")
    assert window.settings_button.toolTip().endswith("(Ctrl+,)")
    assert window.usage_button.toolTip().endswith("(Ctrl+Shift+U)")
    assert window.conversation_button.toolTip().endswith("(Ctrl+Shift+C)")


def test_every_focusable_control_in_the_window_has_an_accessible_name(
    run: Runner[Any], data_dir: Path, open_session: Callable[..., GuiSession]
) -> None:
    """Walking every widget Tab can reach (all pages, the banner, the dialog) finds no unnamed."""
    session = open_session(make_context(data_dir))
    window = session.window
    window.banner.show_problem("A problem", "A remedy", can_retry=True)

    async def scenario() -> None:
        session.on_window_settings_requested("")
        dialog = session.settings_dialog
        assert dialog is not None
        await settle(dialog)

    run(scenario())

    controls = focusable(window)
    assert len(controls) >= 10
    unnamed = [
        f"{type(w).__name__}#{w.objectName()} in {type(w.parentWidget()).__name__}"
        for w in controls
        if not w.accessibleName().strip()
    ]
    assert unnamed == []


def test_tab_goes_from_the_composer_to_send_then_the_controls_above(
    qtbot: QtBot, open_chat: Callable[..., ChatWindow], simulator: SimulatorServer
) -> None:
    """Tab order: composer, Send, (Stop when enabled,) model, Parameters, Usage, Settings, the
    conversation, then the sidebar."""
    window = open_chat(simulator.base_url).window
    with qtbot.waitActive(window):
        window.activateWindow()
    window.composer.setFocus()
    visited = [window.focusWidget()]
    for _ in range(8):
        qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Tab)
        visited.append(window.focusWidget())

    assert [w.accessibleName() for w in visited] == [
        "Message",
        "Send",
        "Model",
        "Parameters",
        "Usage",
        "Settings",
        "Conversation",
        "New chat",
        "Search conversations",
    ]
