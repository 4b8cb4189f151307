"""The system tray icon and its menu: Quick ask, Show/Hide window, New chat, Pause hotkey, Quit.

A click on the icon (left or right) opens the menu: on Linux panels a left click is what most
people try first, and the first entry is Quick ask.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtGui import QAction, QCursor, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

MENU_TITLE = "Chatdesk menu"


class TrayIcon(QObject):
    """Chatdesk's tray icon. Its signals forward what was chosen in the menu."""

    quick_ask_requested = Signal()
    window_toggle_requested = Signal()
    new_chat_requested = Signal()
    hotkey_pause_toggled = Signal(bool)
    hotkey_setup_requested = Signal()
    quit_requested = Signal()

    def __init__(
        self, icon: QIcon, window_visible: Callable[[], bool], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._window_visible = window_visible
        self.icon = QSystemTrayIcon(icon, self)
        self.icon.setToolTip("Chatdesk")
        self.menu = QMenu()
        self.menu.setObjectName("trayMenu")
        # The menu's own window title: what finds it among the screen's windows.
        self.menu.setWindowTitle(MENU_TITLE)
        self.quick_ask_action = self._action("Quick ask", self.quick_ask_requested)
        self.window_action = self._action("Show window", self.window_toggle_requested)
        self.new_chat_action = self._action("New chat", self.new_chat_requested)
        self.menu.addSeparator()
        self.pause_action = QAction("Pause hotkey", self.menu)
        self.pause_action.setCheckable(True)
        self.pause_action.toggled.connect(self.hotkey_pause_toggled)
        self.menu.addAction(self.pause_action)
        self.hotkey_setup_action = self._action("Hotkey unavailable…", self.hotkey_setup_requested)
        self.hotkey_setup_action.setVisible(False)
        self.menu.addSeparator()
        self.quit_action = self._action("Quit Chatdesk", self.quit_requested)
        self.menu.aboutToShow.connect(self.on_menu_about_to_show)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self.on_icon_activated)

    def _action(self, text: str, signal: SignalInstance) -> QAction:
        action = QAction(text, self.menu)
        action.triggered.connect(signal)
        self.menu.addAction(action)
        return action

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    @property
    def visible(self) -> bool:
        return self.icon.isVisible()

    def set_hotkey(self, shown: str, *, working: bool, paused: bool) -> None:
        """Show the hotkey beside Quick ask, and offer Pause only where it works."""
        self.quick_ask_action.setText(f"Quick ask\t{shown}" if shown and working else "Quick ask")
        self.pause_action.setVisible(working or paused)
        self.pause_action.blockSignals(True)
        self.pause_action.setChecked(paused)
        self.pause_action.blockSignals(False)
        self.hotkey_setup_action.setVisible(not working and not paused and bool(shown))

    def say(self, title: str, text: str) -> None:
        """A short notice from the tray (a desktop notification where there is one)."""
        self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 8000)

    def on_menu_about_to_show(self) -> None:
        self.window_action.setText("Hide window" if self._window_visible() else "Show window")

    def on_icon_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is QSystemTrayIcon.ActivationReason.Trigger:
            self.menu.popup(QCursor.pos())
        elif reason is QSystemTrayIcon.ActivationReason.MiddleClick:
            self.quick_ask_requested.emit()

    def close(self) -> None:
        self.icon.hide()
        self.menu.deleteLater()
