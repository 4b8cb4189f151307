"""Quick ask from anywhere: the tray icon, the global hotkey, the popup and later launches.

One `Companion` per windowed session. It owns the popup (built ahead, so the hotkey shows it at
once) with its controller, the tray icon when the desktop has a tray, and the hotkey backend
chosen by the wiring; it answers other launches' requests (`chatdesk`, `chatdesk --quick-ask`).

Closing the main window keeps Chatdesk in the tray when there is one (and the setting says so),
which it says once; with no tray, closing quits as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMainWindow

from app.core.notices import Notices
from app.core.problems import UserFacingError
from app.core.settings_store import SettingsChange, SettingsStore
from app.platform.hotkey import HotkeyBackend, HotkeyUnavailable, NullHotkey, display_hotkey
from app.platform.single_instance import QUICK_ASK, SHOW, SingleInstance
from app.ui.background import BackgroundImports
from app.ui.quick_ask.controller import ClientSource, HistorySource, QuickAskController
from app.ui.quick_ask.popup import QuickAskPopup
from app.ui.quick_ask.tray import TrayIcon
from app.ui.usage.budget_guard import BudgetGuard
from app.ui.usage.spend_tracker import SpendTracker
from app.ui.widgets.theme import Tone

log = logging.getLogger(__name__)

TRAY_NOTICE = "closed-to-tray"
HOTKEY_NOTICE = "hotkey-unavailable"


class HotkeyState(StrEnum):
    OFF = "off"  # the setting is empty
    WORKING = "working"
    PAUSED = "paused"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class HotkeyStatus:
    """How the global hotkey stands, for Settings and the tray menu."""

    state: HotkeyState
    hotkey: str
    backend: str = ""
    headline: str = ""
    remedy: str = ""


def hotkey_status_text(status: HotkeyStatus, command: str) -> tuple[str, Tone]:
    """What Settings says about the hotkey, and in which tone."""
    shown = display_hotkey(status.hotkey) if status.hotkey else ""
    bind = (
        f"To open quick ask with a key, bind this command in your desktop's keyboard settings "
        f"(GNOME: Settings → Keyboard → Custom Shortcuts; KDE Plasma: System Settings → "
        f"Shortcuts → Add New → Command): {command}"
    )
    match status.state:
        case HotkeyState.WORKING:
            working = f"{shown} opens quick ask from any app (through the {status.backend})."
            return working, Tone.MUTED
        case HotkeyState.PAUSED:
            return f"{shown} is paused from the tray menu; resume it there.", Tone.MUTED
        case HotkeyState.OFF:
            return f"No global hotkey. {bind}", Tone.MUTED
        case HotkeyState.UNAVAILABLE:
            remedy = f" {status.remedy}" if status.remedy else ""
            return f"{shown} does not work here. {status.headline}.{remedy} {bind}", Tone.ERROR
    raise AssertionError(status.state)


class Companion(QObject):
    """The tray, the hotkey and the quick-ask popup of one windowed session."""

    quit_requested = Signal()
    settings_requested = Signal(str)
    # Forwarded from the popup's 'Open in Chatdesk': the history conversation to open.
    open_conversation_requested = Signal(int)
    hotkey_status_changed = Signal(str, str)

    def __init__(
        self,
        *,
        window: QMainWindow,
        new_chat: Callable[[], None],
        settings_store: SettingsStore,
        hotkey: HotkeyBackend,
        tray_available: bool,
        quick_ask_command: str,
        client: ClientSource,
        background: BackgroundImports,
        history: HistorySource | None = None,
        spend: SpendTracker | None = None,
        budget: BudgetGuard | None = None,
        notices: Notices | None = None,
        instance: SingleInstance | None = None,
        icon: QIcon | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._window = window
        self._settings_store = settings_store
        self._hotkey = hotkey
        self._command = quick_ask_command
        self._notices = notices
        self._instance = instance
        self._quitting = False
        self._paused = False
        settings = settings_store.current
        self.popup = QuickAskPopup()
        self.quick_ask = QuickAskController(
            self.popup,
            model=settings.quick_ask_model,
            client=client,
            background=background,
            history=history,
            spend=spend,
            budget=budget,
            parent=self,
        )
        self.quick_ask.open_conversation_requested.connect(
            self.on_quick_ask_open_conversation_requested
        )
        # Laid out and given its native window now, so the hotkey only has to map it.
        self.popup.ensurePolished()
        self.popup.adjustSize()
        self.popup.winId()
        self.status = HotkeyStatus(HotkeyState.OFF, settings.hotkey)
        self.tray: TrayIcon | None = None
        if tray_available:
            self.tray = TrayIcon(icon or window.windowIcon(), window.isVisible, parent=self)
            self.tray.quick_ask_requested.connect(self.open_quick_ask)
            self.tray.window_toggle_requested.connect(self.on_tray_window_toggle_requested)
            self.tray.new_chat_requested.connect(self.on_tray_new_chat_requested)
            self.tray.hotkey_pause_toggled.connect(self.on_tray_hotkey_pause_toggled)
            self.tray.hotkey_setup_requested.connect(self.on_tray_hotkey_setup_requested)
            self.tray.quit_requested.connect(self.quit)
        self._new_chat = new_chat
        hotkey.activated.connect(self.on_hotkey_activated)
        hotkey.failed.connect(self.on_hotkey_failed)
        if instance is not None:
            instance.command_received.connect(self.on_instance_command_received)
        window.installEventFilter(self)
        self._unsubscribe = settings_store.subscribe(self.on_settings_changed)

    def starts_in_tray(self, quick_ask: bool) -> bool:
        """Whether a `--quick-ask` start shows only the popup (the window waits in the tray)."""
        return quick_ask and self.tray is not None

    def start(self) -> None:
        """Show the tray icon and register the hotkey (after the window is up: pynput loads)."""
        if self.tray is not None:
            self.tray.show()
        self._register(self._settings_store.current.hotkey)

    def close(self) -> None:
        self._unsubscribe()
        self._hotkey.unregister()
        if self.tray is not None:
            self.tray.close()
        if self._instance is not None:
            self._instance.close()
        self.popup.close()

    def open_quick_ask(self) -> None:
        self.quick_ask.open()

    def show_window(self) -> None:
        window = self._window
        if window.isMinimized():
            window.showNormal()
        window.show()
        window.raise_()
        window.activateWindow()

    def quit(self) -> None:
        self._quitting = True
        self.quit_requested.emit()

    def attach_settings(self, show: Callable[[str, Tone], None]) -> None:
        """Keep a settings dialog's hotkey note (`show(text, tone)`) up to date."""
        self.hotkey_status_changed.connect(lambda text, tone: show(text, Tone(tone)))
        show(*hotkey_status_text(self.status, self._command))

    # The hotkey

    def _register(self, hotkey: str) -> None:
        self._hotkey.unregister()
        if not hotkey:
            self._set_status(HotkeyStatus(HotkeyState.OFF, hotkey))
            return
        if self._paused:
            self._set_status(HotkeyStatus(HotkeyState.PAUSED, hotkey, self._hotkey.name))
            return
        try:
            self._hotkey.register(hotkey)
        except HotkeyUnavailable as problem:
            self._unavailable(hotkey, problem)
            return
        self._set_status(HotkeyStatus(HotkeyState.WORKING, hotkey, self._hotkey.name))

    def _unavailable(self, hotkey: str, problem: UserFacingError) -> None:
        remedy = problem.remedy
        if isinstance(self._hotkey, NullHotkey):
            remedy = ""  # its remedy is the binding advice Settings adds anyway
        status = HotkeyStatus(HotkeyState.UNAVAILABLE, hotkey, "", problem.headline, remedy)
        log.warning(
            "global hotkey %s unavailable: %s.%s Bind `%s` in the desktop's keyboard settings.",
            hotkey,
            problem.headline,
            f" {remedy}" if remedy else "",
            self._command,
        )
        self._set_status(status)
        notices = self._notices
        if self.tray is not None and notices is not None and not notices.seen(HOTKEY_NOTICE):
            notices.mark(HOTKEY_NOTICE)
            self.tray.say(
                "The quick-ask hotkey does not work here",
                "Settings → Quick ask shows how to bind it in your desktop instead.",
            )

    def _set_status(self, status: HotkeyStatus) -> None:
        self.status = status
        if self.tray is not None:
            self.tray.set_hotkey(
                display_hotkey(status.hotkey) if status.hotkey else "",
                working=status.state is HotkeyState.WORKING,
                paused=status.state is HotkeyState.PAUSED,
            )
        text, tone = hotkey_status_text(status, self._command)
        self.hotkey_status_changed.emit(text, tone.value)

    def on_hotkey_activated(self) -> None:
        log.debug("hotkey pressed")
        self.open_quick_ask()

    def on_hotkey_failed(self, headline: str, remedy: str) -> None:
        self._unavailable(self.status.hotkey, UserFacingError(headline, remedy))

    def on_settings_changed(self, change: SettingsChange) -> None:
        if "hotkey" in change.changed:
            self._register(change.new.hotkey)
        if "quick_ask_model" in change.changed:
            self.quick_ask.set_model(change.new.quick_ask_model)

    # The tray and other launches

    def on_tray_window_toggle_requested(self) -> None:
        if self._window.isVisible():
            self._window.hide()
        else:
            self.show_window()

    def on_tray_new_chat_requested(self) -> None:
        self._new_chat()
        self.show_window()

    def on_tray_hotkey_pause_toggled(self, paused: bool) -> None:
        self._paused = paused
        self._register(self._settings_store.current.hotkey)

    def on_tray_hotkey_setup_requested(self) -> None:
        self.show_window()
        self.settings_requested.emit("hotkey")

    def on_instance_command_received(self, command: str) -> None:
        if command == QUICK_ASK:
            self.open_quick_ask()
        elif command == SHOW:
            self.show_window()

    def on_quick_ask_open_conversation_requested(self, conversation_id: int) -> None:
        self.show_window()
        self.open_conversation_requested.emit(conversation_id)

    # Closing the window

    def keeps_running_in_tray(self) -> bool:
        return (
            self.tray is not None
            and self.tray.visible
            and not self._quitting
            and self._settings_store.current.close_to_tray
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self._window
            and event.type() == QEvent.Type.Close
            and self.keeps_running_in_tray()
        ):
            event.ignore()
            self._window.hide()
            self._say_once_in_tray()
            return True
        return super().eventFilter(watched, event)

    def _say_once_in_tray(self) -> None:
        if self.tray is None or (self._notices is not None and self._notices.seen(TRAY_NOTICE)):
            return
        if self._notices is not None:
            self._notices.mark(TRAY_NOTICE)
        self.tray.say(
            "Chatdesk is still running",
            "Quick ask stays a hotkey away. Quit from the tray icon's menu; to quit when the "
            "window closes, turn off “Keep running in the tray” in Settings.",
        )
