"""Choosing the global-hotkey backend, and the portal backend on a real (private) D-Bus."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.platform.hotkey import (
    HotkeyUnavailable,
    NullHotkey,
    PortalHotkey,
    PynputHotkey,
    choose_backend,
    display_hotkey,
    portal_trigger,
    pynput_combination,
)

PORTAL_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS = "org.freedesktop.portal.GlobalShortcuts"
X11 = {"DISPLAY": ":5", "XDG_SESSION_TYPE": "x11"}
WAYLAND = {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}


@pytest.fixture
def private_bus() -> Iterator[str]:
    """A D-Bus session bus of its own, with no desktop portal on it."""
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert bus.stdout is not None
        yield bus.stdout.readline().strip()
    finally:
        bus.terminate()
        bus.wait(timeout=10)


def test_an_x11_desktop_gets_the_keyboard_hook() -> None:
    """On X11 the hotkey is pynput's keyboard hook."""
    assert isinstance(choose_backend(X11, qt_platform="xcb", system="linux"), PynputHotkey)


def test_windows_and_macos_get_the_keyboard_hook() -> None:
    """Windows and macOS use pynput too (macOS asks for the accessibility permission)."""
    for system, platform in (("win32", "windows"), ("darwin", "cocoa")):
        assert isinstance(choose_backend({}, qt_platform=platform, system=system), PynputHotkey)


def test_a_wayland_desktop_asks_the_portal_even_when_running_through_xwayland() -> None:
    """Under Wayland an X11 hook would see only X11 apps' keys, so the portal is asked."""
    environ = WAYLAND | {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent"}
    for platform in ("wayland", "xcb"):
        assert isinstance(
            choose_backend(environ, qt_platform=platform, system="linux"), PortalHotkey
        )


def test_no_screen_or_no_bus_means_no_hotkey_and_says_why() -> None:
    """Headless, without a display, or on Wayland with no D-Bus: a null backend with a reason."""
    offscreen = choose_backend(X11, qt_platform="offscreen", system="linux")
    no_display = choose_backend({}, qt_platform="xcb", system="linux")
    no_bus = choose_backend(WAYLAND, qt_platform="wayland", system="linux")
    for backend, reason in (
        (offscreen, "without a screen"),
        (no_display, "no X11 display"),
        (no_bus, "no D-Bus session"),
    ):
        assert isinstance(backend, NullHotkey)
        assert reason in backend.reason
        with pytest.raises(HotkeyUnavailable, match=reason):
            backend.register("ctrl+alt+space")


def test_hotkeys_are_spelled_for_each_backend() -> None:
    """The setting's spelling becomes pynput's, the portal's and the one people read."""
    keys = {"space", "f9"}
    assert pynput_combination("ctrl+alt+space", known_keys=keys) == "<ctrl>+<alt>+<space>"
    assert pynput_combination("super+shift+k", known_keys=keys) == "<cmd>+<shift>+k"
    assert portal_trigger("ctrl+alt+space") == "CTRL+ALT+space"
    assert display_hotkey("ctrl+alt+space") == "Ctrl+Alt+Space"
    with pytest.raises(HotkeyUnavailable, match="printscreen"):
        pynput_combination("ctrl+printscreen", known_keys=keys)


def test_the_portal_backend_reports_a_desktop_without_global_shortcuts(
    qtbot: QtBot, private_bus: str
) -> None:
    """With no GlobalShortcuts portal on the session bus, registering fails with a clear reason."""
    backend = PortalHotkey(bus_address=private_bus)
    with qtbot.waitSignal(backend.failed, timeout=30_000) as failed:
        backend.register("ctrl+alt+space")
    headline, remedy = failed.args
    assert headline == "This desktop's portal offers no global shortcuts to apps"
    assert "keyboard settings" in remedy
    backend.unregister()


def test_the_portal_backend_reports_an_unreachable_bus(qtbot: QtBot) -> None:
    """A session bus address that leads nowhere is reported, not ignored."""
    backend = PortalHotkey(bus_address="unix:path=/nonexistent/chatdesk-test-bus")
    with qtbot.waitSignal(backend.failed, timeout=30_000) as failed:
        backend.register("ctrl+alt+space")
    assert failed.args[0] == "There is no D-Bus session to reach the desktop portal"
    backend.unregister()


class FakeShortcutsPortal:
    """A stand-in for a desktop's GlobalShortcuts portal on a private bus (the true edge here).

    It speaks the portal's D-Bus protocol: Request objects answering with Response signals, a
    session, the shortcuts as bound, and Activated signals when `press()` is called.
    """

    def __init__(self, address: str) -> None:
        from jeepney import message_bus
        from jeepney.io.blocking import open_dbus_connection

        self.connection = open_dbus_connection(bus=address)
        self.connection.send_and_get_reply(message_bus.RequestName(PORTAL_NAME), timeout=5)
        self.bound: list[tuple[str, dict[str, tuple[str, object]]]] = []
        self.session = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def press(self) -> None:
        from jeepney import DBusAddress, new_signal

        portal = DBusAddress(PORTAL_PATH, interface=SHORTCUTS)
        activated = new_signal(portal, "Activated", "osta{sv}", (self.session, "quick-ask", 1, {}))
        self.connection.send(activated)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.connection.close()

    def _serve(self) -> None:
        from jeepney import HeaderFields, MessageType, new_method_return

        while not self._stop.is_set():
            try:
                message = self.connection.receive(timeout=0.1)
            except TimeoutError:
                continue
            if message.header.message_type is not MessageType.method_call:
                continue
            member = message.header.fields[HeaderFields.member]
            sender = message.header.fields[HeaderFields.sender]
            if member == "Get":
                self.connection.send(new_method_return(message, "v", (("u", 1),)))
            elif member == "CreateSession":
                token = message.body[0]["handle_token"][1]
                self.session = f"{PORTAL_PATH}/session/{sender[1:].replace('.', '_')}/{token}"
                self._respond(message, sender, token, {"session_handle": ("s", self.session)})
            elif member == "BindShortcuts":
                _session, shortcuts, _parent, options = message.body
                self.bound = list(shortcuts)
                self._respond(message, sender, options["handle_token"][1], {})

    def _respond(self, call: Any, sender: str, token: str, results: dict[str, Any]) -> None:
        from jeepney import DBusAddress, new_method_return, new_signal

        path = f"{PORTAL_PATH}/request/{sender[1:].replace('.', '_')}/{token}"
        self.connection.send(new_method_return(call, "o", (path,)))
        request = DBusAddress(path, interface="org.freedesktop.portal.Request")
        self.connection.send(new_signal(request, "Response", "ua{sv}", (0, results)))


def test_the_portal_backend_binds_the_shortcut_and_hears_it_pressed(
    qtbot: QtBot, private_bus: str
) -> None:
    """Through a GlobalShortcuts portal the hotkey is bound as asked and its presses arrive."""
    portal = FakeShortcutsPortal(private_bus)
    backend = PortalHotkey(bus_address=private_bus)
    failures: list[tuple[str, str]] = []
    backend.failed.connect(lambda *args: failures.append(args))
    try:
        backend.register("ctrl+alt+space")
        qtbot.waitUntil(lambda: bool(portal.bound), timeout=30_000)
        (shortcut_id, options) = portal.bound[0]
        assert shortcut_id == "quick-ask"
        assert options["preferred_trigger"] == ("s", "CTRL+ALT+space")
        pressed: list[bool] = []
        backend.activated.connect(lambda: pressed.append(True))

        def heard_after_pressing() -> bool:
            # Pressed again until heard: the backend subscribes just after the binding.
            portal.press()
            return bool(pressed)

        qtbot.waitUntil(heard_after_pressing, timeout=30_000)
        assert failures == []
    finally:
        backend.unregister()
        portal.close()
