"""The main window's commands and their keys, declared once.

Every command of the window is a row of `WINDOW_ACTIONS`: its name, its text, its keys and the
signal or slot it triggers. The object that holds a command's handler builds its action from the
row (`add_actions`): the window its own commands, the Conversation menu
(`app.ui.conversations.actions`) the menu's. So every shortcut of the window, and every tooltip
that names one, comes from this table, and two commands cannot take the same keys unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


class Owner(Enum):
    """Which object builds a command's action and holds its handler."""

    WINDOW = "the main window"
    CONVERSATION_MENU = "the Conversation menu"


@dataclass(frozen=True)
class WindowAction:
    """One of the window's commands: its name, what it does, its keys and what it triggers."""

    name: str
    text: str
    # None: no keys of its own (reached from a menu only).
    shortcut: str | QKeySequence.StandardKey | None
    # The owner's signal (without arguments) or slot the command triggers.
    handler: str
    owner: Owner = Owner.WINDOW
    tooltip: str = ""


_MENU = Owner.CONVERSATION_MENU

WINDOW_ACTIONS = (
    WindowAction("stop", "Stop the reply", "Esc", "stop_requested"),
    WindowAction("focus_composer", "Go to the message", "Ctrl+L", "focus_composer"),
    WindowAction("new_chat", "New chat", QKeySequence.StandardKey.New, "new_chat_requested"),
    # Spelled out: QKeySequence.Preferences is empty on Windows and most Linux desktops.
    WindowAction("settings", "Settings…", "Ctrl+,", "on_settings_button_clicked"),
    WindowAction("usage", "Usage…", "Ctrl+Shift+U", "usage_requested"),
    WindowAction(
        "export_markdown",
        "Export as &Markdown…",
        None,
        "on_export_markdown_action_triggered",
        _MENU,
    ),
    WindowAction("export_json", "Export as &JSON…", None, "on_export_json_action_triggered", _MENU),
    WindowAction(
        "view_code", "View as &code…", "Ctrl+Shift+C", "on_view_code_action_triggered", _MENU
    ),
    WindowAction(
        "compare",
        "Compare &models…",
        "Ctrl+Shift+M",
        "compare_requested",
        _MENU,
        tooltip="Send the draft to two or three models (or parameter sets) side by side",
    ),
)


def add_actions(owner: Owner, handlers: QObject, window: QWidget) -> dict[str, QAction]:
    """The actions of `owner`'s commands, by name, each triggering its handler on `handlers`."""
    actions: dict[str, QAction] = {}
    for command in WINDOW_ACTIONS:
        if command.owner is not owner:
            continue
        action = QAction(command.text, window)
        action.setObjectName(f"{command.name}Action")
        if command.tooltip:
            action.setToolTip(command.tooltip)
        action.triggered.connect(getattr(handlers, command.handler))
        if command.shortcut is not None:
            action.setShortcut(QKeySequence(command.shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            # Part of the window, so its keys work anywhere in it with no menu open.
            window.addAction(action)
        actions[command.name] = action
    return actions


def keys_text(action: QAction) -> str:
    """The keys of `action`, as this platform writes them (for tooltips)."""
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
