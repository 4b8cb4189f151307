"""The global quick-ask hotkey: one interface, a backend per kind of desktop, and a null one.

- `PynputHotkey`: X11, Windows and macOS, through pynput's keyboard hook. Its callbacks run on
  pynput's own thread; they reach Qt through a signal (a queued connection). pynput fails to
  import without a display, so it is imported only when the hotkey is registered.
- `PortalHotkey`: Wayland desktops whose xdg-desktop-portal offers GlobalShortcuts. Spoken to
  with jeepney (pure-Python D-Bus, already there for the keyring's Secret Service) on a worker
  thread: PySide6's QtDBus cannot marshal the portal's `a(sa{sv})` shortcut list.
- `NullHotkey`: no backend works here; it carries the reason, which Settings shows beside how to
  bind `chatdesk --quick-ask` in the desktop's own keyboard settings.

A backend emits `activated` when the hotkey is pressed and `failed(headline, remedy)` when a
registration made in the background did not work out; `register` raises `HotkeyUnavailable`
for what it can tell at once.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sys
import threading
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.problems import UserFacingError

log = logging.getLogger(__name__)

_PYNPUT_MODIFIERS = {
    "ctrl": "<ctrl>",
    "alt": "<alt>",
    "shift": "<shift>",
    "super": "<cmd>",
    "meta": "<cmd>",
    "cmd": "<cmd>",
}
# The xdg shortcuts spec's modifier names (used for the portal's preferred trigger).
_PORTAL_MODIFIERS = {
    "ctrl": "CTRL",
    "alt": "ALT",
    "shift": "SHIFT",
    "super": "LOGO",
    "meta": "LOGO",
    "cmd": "LOGO",
}
_READY_TIMEOUT_S = 3.0
_HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "vnc", "eglfs", "linuxfb"})
SHORTCUT_ID = "quick-ask"


class HotkeyUnavailable(UserFacingError):
    """The global hotkey cannot work with this backend here; the remedy says what can."""


def display_hotkey(hotkey: str) -> str:
    """`ctrl+alt+space` as people write it: Ctrl+Alt+Space."""
    parts = hotkey.split("+")
    return "+".join(part.capitalize() if len(part) > 1 else part.upper() for part in parts)


class HotkeyBackend(QObject):
    """Registers one global hotkey; `activated` is emitted on the GUI thread when it is pressed."""

    activated = Signal()
    failed = Signal(str, str)
    # What is used, in a few words ("X11 keyboard hook", "desktop portal").
    name = "none"

    def register(self, hotkey: str) -> None:
        """Start listening for `hotkey` (as the setting spells it); replaces an earlier one."""
        raise NotImplementedError

    def unregister(self) -> None:
        """Stop listening (nothing happens when none is registered)."""


class NullHotkey(HotkeyBackend):
    """No global hotkey here; `reason` says why, for Settings to show."""

    def __init__(self, reason: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.reason = reason

    def register(self, hotkey: str) -> None:
        raise HotkeyUnavailable(
            f"Global hotkeys are not available here: {self.reason}",
            "Bind the quick-ask command to a key in your desktop's keyboard settings.",
        )


class PynputHotkey(HotkeyBackend):
    """pynput's `GlobalHotKeys` (X11, Windows; macOS with the accessibility permission)."""

    name = "keyboard hook (pynput)"
    # pynput calls back on its own thread; a signal queues the call onto the GUI thread.
    _pressed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._listener: Any = None
        self._pressed.connect(self.activated)

    def register(self, hotkey: str) -> None:
        self.unregister()
        try:
            from pynput import keyboard  # type: ignore[import-untyped]
        except Exception as exc:  # pynput raises ImportError, Xlib errors… without a display
            raise HotkeyUnavailable(
                "The keyboard hook could not start: no usable display",
                f"pynput said: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}",
            ) from None
        combination = pynput_combination(hotkey, known_keys=set(keyboard.Key.__members__))
        listener = keyboard.GlobalHotKeys({combination: self._on_pressed})
        listener.daemon = True
        listener.start()
        # `wait()` never returns when the listener dies before it is ready (no XRecord, say).
        waiter = threading.Thread(target=listener.wait, daemon=True)
        waiter.start()
        waiter.join(_READY_TIMEOUT_S)
        if not listener.is_alive() or waiter.is_alive():
            problem = _listener_error(listener)
            _stop_listener(listener)
            raise HotkeyUnavailable(
                "The keyboard hook could not start", problem or "pynput's listener did not start."
            )
        if sys.platform == "darwin" and not getattr(listener, "IS_TRUSTED", True):
            _stop_listener(listener)
            raise HotkeyUnavailable(
                "macOS has not allowed Chatdesk to watch for its hotkey",
                "Open System Settings → Privacy & Security → Accessibility, turn Chatdesk on, "
                "then quit and start Chatdesk again.",
            )
        self._listener = listener
        log.info("global hotkey %s registered with pynput", hotkey)

    def unregister(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _stop_listener(listener)

    def _on_pressed(self) -> None:
        self._pressed.emit()


def _stop_listener(listener: Any) -> None:
    # pynput's stop() waits for its listener to be ready, which one that never started never
    # is: stopping on a daemon thread keeps the GUI (and quitting) from waiting on it.
    threading.Thread(target=listener.stop, name="pynput-stop", daemon=True).start()


def _listener_error(listener: Any) -> str:
    try:
        listener.join(0.1)
    except Exception as exc:
        return f"pynput said: {exc}"
    return ""


def pynput_combination(hotkey: str, *, known_keys: set[str]) -> str:
    """`ctrl+alt+space` in pynput's spelling, `<ctrl>+<alt>+<space>`."""
    *modifiers, key = hotkey.split("+")
    parts = [_PYNPUT_MODIFIERS[m] for m in modifiers]
    if len(key) == 1:
        parts.append(key)
    elif key in known_keys:
        parts.append(f"<{key}>")
    else:
        raise HotkeyUnavailable(
            f"The hotkey's key “{key}” is not one Chatdesk can listen for",
            "Use a letter, a digit, space, or a function key such as f9.",
        )
    return "+".join(parts)


def portal_trigger(hotkey: str) -> str:
    """`ctrl+alt+space` as the xdg shortcuts spec writes it, `CTRL+ALT+space`."""
    *modifiers, key = hotkey.split("+")
    return "+".join([*(_PORTAL_MODIFIERS[m] for m in modifiers), key])


class PortalHotkey(HotkeyBackend):
    """org.freedesktop.portal.GlobalShortcuts on the session bus (Wayland desktops).

    The portal asks the user to confirm (or change) the key the first time; what they choose is
    the desktop's business. Everything, from connecting to the bus on, runs on a worker thread
    that owns the D-Bus connection (the bus may start the portal service first, which takes
    time); whatever goes wrong arrives as `failed`. Closing the connection ends the session.
    """

    name = "desktop portal (GlobalShortcuts)"
    _pressed = Signal()
    _failed_in_thread = Signal(str, str)

    def __init__(self, bus_address: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus_address = bus_address
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pressed.connect(self.activated)
        self._failed_in_thread.connect(self.failed)

    def register(self, hotkey: str) -> None:
        self.unregister()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(hotkey, self._stop), name="portal-hotkey", daemon=True
        )
        self._thread.start()

    def unregister(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(2 * _POLL_S)

    def _serve(self, hotkey: str, stop: threading.Event) -> None:
        try:
            from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped]
        except ImportError:
            self._failed_in_thread.emit(
                "The desktop portal cannot be reached from this build", "jeepney is missing."
            )
            return
        try:
            connection = open_dbus_connection(bus=self._bus_address or "SESSION")
        except Exception as exc:
            self._failed_in_thread.emit(
                "There is no D-Bus session to reach the desktop portal", str(exc)
            )
            return
        try:
            _check_portal(connection)
            session = _bind(connection, hotkey, stop)
            log.info("global hotkey bound through the desktop portal (asked for %s)", hotkey)
            self._listen(connection, session, stop)
        except UserFacingError as problem:
            if not stop.is_set():
                self._failed_in_thread.emit(problem.headline, problem.remedy)
        except Exception as exc:
            if not stop.is_set():
                log.warning("portal hotkey stopped: %s", exc)
                self._failed_in_thread.emit(
                    "The desktop portal stopped delivering the hotkey", str(exc)
                )
        finally:
            with contextlib.suppress(OSError):
                connection.close()

    def _listen(self, connection: Any, session: str, stop: threading.Event) -> None:
        from jeepney import MatchRule, message_bus  # type: ignore[import-untyped]

        rule = MatchRule(
            type="signal",
            interface=_SHORTCUTS_INTERFACE,
            member="Activated",
            path=_PORTAL_PATH,
        )
        connection.send_and_get_reply(message_bus.AddMatch(rule), timeout=_CALL_TIMEOUT_S)
        with connection.filter(rule, bufsize=16) as signals:
            while not stop.is_set():
                try:
                    message = connection.recv_until_filtered(signals, timeout=_POLL_S)
                except TimeoutError:
                    continue
                activated_session, shortcut_id = message.body[0], message.body[1]
                if activated_session == session and shortcut_id == SHORTCUT_ID:
                    self._pressed.emit()


_PORTAL_NAME = "org.freedesktop.portal.Desktop"
_PORTAL_PATH = "/org/freedesktop/portal/desktop"
_SHORTCUTS_INTERFACE = "org.freedesktop.portal.GlobalShortcuts"
# How often the portal thread looks up from waiting to see whether it should stop.
_POLL_S = 0.25
_CALL_TIMEOUT_S = 5.0


class _PortalRefused(UserFacingError):
    pass


def _portal_address() -> Any:
    from jeepney import DBusAddress

    return DBusAddress(_PORTAL_PATH, bus_name=_PORTAL_NAME, interface=_SHORTCUTS_INTERFACE)


def _check_portal(connection: Any) -> None:
    from jeepney import Properties

    try:
        reply = connection.send_and_get_reply(
            Properties(_portal_address()).get("version"), timeout=_CALL_TIMEOUT_S
        )
    except TimeoutError:
        reply = None
    if reply is None or reply.header.message_type.name == "error":
        detail = reply.body[0] if reply is not None and reply.body else "no answer"
        log.info("no GlobalShortcuts portal: %s", detail)
        raise HotkeyUnavailable(
            "This desktop's portal offers no global shortcuts to apps",
            "Bind the quick-ask command to a key in your desktop's keyboard settings.",
        )


def _bind(connection: Any, hotkey: str, stop: threading.Event) -> str:
    from jeepney import new_method_call

    portal = _portal_address()
    token = f"chatdesk{secrets.token_hex(6)}"
    results = _request(
        connection,
        token,
        new_method_call(
            portal,
            "CreateSession",
            "a{sv}",
            ({"handle_token": ("s", token), "session_handle_token": ("s", token)},),
        ),
        stop,
    )
    session = str(results.get("session_handle", ("s", ""))[1])
    if not session:
        raise _PortalRefused("The desktop portal did not open a shortcuts session", "")
    bind_token = f"{token}b"
    shortcut = (
        SHORTCUT_ID,
        {
            "description": ("s", "Open Chatdesk's quick-ask popup"),
            "preferred_trigger": ("s", portal_trigger(hotkey)),
        },
    )
    _request(
        connection,
        bind_token,
        new_method_call(
            portal,
            "BindShortcuts",
            "oa(sa{sv})sa{sv}",
            (session, [shortcut], "", {"handle_token": ("s", bind_token)}),
        ),
        stop,
    )
    return session


def _request(connection: Any, token: str, call: Any, stop: threading.Event) -> dict[str, Any]:
    """Make a portal call that answers through a Request object's Response; its results."""
    from jeepney import MatchRule, message_bus

    sender = connection.unique_name.lstrip(":").replace(".", "_")
    path = f"/org/freedesktop/portal/desktop/request/{sender}/{token}"
    rule = MatchRule(
        type="signal", interface="org.freedesktop.portal.Request", member="Response", path=path
    )
    # Subscribed before calling: the response may come before the call's own reply is read.
    connection.send_and_get_reply(message_bus.AddMatch(rule), timeout=_CALL_TIMEOUT_S)
    with connection.filter(rule) as responses:
        reply = connection.send_and_get_reply(call, timeout=_CALL_TIMEOUT_S)
        if reply.header.message_type.name == "error":
            raise _PortalRefused(
                "The desktop portal refused the global shortcut",
                str(reply.body[0] if reply.body else ""),
            )
        # The portal may show the user a dialog first: wait as long as they take.
        while True:
            if stop.is_set():
                raise _PortalRefused("Stopped", "")
            try:
                response = connection.recv_until_filtered(responses, timeout=_POLL_S)
                break
            except TimeoutError:
                continue
    code, results = response.body
    if code != 0:
        raise _PortalRefused(
            "The global shortcut was not granted"
            if code == 1
            else "The desktop portal could not set up the global shortcut",
            "Allow it when the desktop asks, or bind the quick-ask command in the keyboard "
            "settings.",
        )
    return dict(results)


def choose_backend(
    environ: Mapping[str, str], *, qt_platform: str, system: str = sys.platform
) -> HotkeyBackend:
    """The backend that can work in this session, or a `NullHotkey` saying why none can."""
    if qt_platform in _HEADLESS_PLATFORMS:
        return NullHotkey(f"Chatdesk runs without a screen (Qt platform “{qt_platform}”)")
    if system in ("win32", "darwin"):
        return PynputHotkey()
    wayland = (
        environ.get("XDG_SESSION_TYPE", "").lower() == "wayland"
        or qt_platform.startswith("wayland")
        or (bool(environ.get("WAYLAND_DISPLAY")) and not environ.get("DISPLAY"))
    )
    if wayland:
        # X11 keyboard hooks see only X11 apps' keys under Wayland: never a global hotkey.
        if not environ.get("DBUS_SESSION_BUS_ADDRESS") and not environ.get("XDG_RUNTIME_DIR"):
            return NullHotkey("this is a Wayland desktop and there is no D-Bus session")
        return PortalHotkey()
    if not environ.get("DISPLAY"):
        return NullHotkey("there is no X11 display")
    return PynputHotkey()
