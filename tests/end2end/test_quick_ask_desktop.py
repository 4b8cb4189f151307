"""Quick ask on a real X11 desktop: the real app under Xvfb, trayer's tray, keys from xdotool."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.paths import DATABASE_FILENAME
from app.simulator import SimulatorServer
from tests.support.desktop import (
    WAIT_LIMIT_S,
    Desktop,
    start_tray,
    tray_icons,
    xvfb_desktop,
)
from tests.support.qt import TEST_KEY

MAIN = "^Chatdesk$"
POPUP = "^Quick ask — Chatdesk$"
MENU = "^Chatdesk menu$"


@pytest.fixture
def desktop() -> Iterator[Desktop]:
    with xvfb_desktop() as screen:
        yield screen


def api_env(simulator: SimulatorServer) -> dict[str, str]:
    return {"OPENAI_BASE_URL": simulator.base_url, "OPENAI_API_KEY": TEST_KEY}


def wait_for_log(data_dir: Path, text: str) -> str:
    """The app's log once it contains `text` (how the test knows start-up got that far)."""
    log = data_dir / "logs" / "chatdesk.log"
    deadline = time.monotonic() + WAIT_LIMIT_S
    while True:
        content = log.read_text(encoding="utf-8") if log.exists() else ""
        if text in content:
            return content
        if time.monotonic() > deadline:
            raise AssertionError(f"the log never said {text!r}:\n{content[-3000:]}")
        time.sleep(0.05)


def rows(data_dir: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / DATABASE_FILENAME) as db:
        return db.execute(query).fetchall()


def wait_for_rows(data_dir: Path, query: str, count: int) -> list[tuple[object, ...]]:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while True:
        found = rows(data_dir, query) if (data_dir / DATABASE_FILENAME).exists() else []
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{query!r} found {found}")
        time.sleep(0.1)


def test_tray_icon_is_shown_and_a_click_opens_its_menu(
    desktop: Desktop, data_dir: Path, simulator: SimulatorServer
) -> None:
    """Chatdesk's icon appears in the tray; clicking it opens the menu with Quick ask."""
    panel = start_tray(desktop)
    desktop.start_app(data_dir, env=api_env(simulator))
    desktop.wait_for_window(MAIN)
    wait_for_log(data_dir, "global hotkey")

    deadline = time.monotonic() + WAIT_LIMIT_S
    while not (icons := tray_icons(desktop, panel)):
        assert time.monotonic() < deadline, "no Chatdesk icon in the tray"
        time.sleep(0.05)
    x, y, width, height = desktop.geometry(icons[0])
    assert width > 0 and height > 0
    desktop.run("xdotool", "mousemove", str(x + width // 2), str(y + height // 2), "click", "1")
    menu = desktop.wait_for_window(MENU)
    *_, menu_height = desktop.geometry(menu)
    assert menu_height > 4 * 10  # several entries, not an empty strip

    # Its first entry, Quick ask, opens the popup.
    desktop.run("xdotool", "key", "Down", "Return")
    desktop.wait_for_window(POPUP)


def test_hotkey_opens_the_popup_which_streams_and_saves_an_answer(
    desktop: Desktop, data_dir: Path, simulator: SimulatorServer
) -> None:
    """Ctrl+Alt+Space from anywhere opens quick ask; Enter gets an answer, saved and paid for."""
    desktop.start_app(data_dir, env=api_env(simulator))
    desktop.wait_for_window(MAIN)
    wait_for_log(data_dir, "registered with pynput")
    assert not desktop.windows(POPUP)

    desktop.run("xdotool", "key", "ctrl+alt+space")
    popup = desktop.wait_for_window(POPUP)
    desktop.run("xdotool", "type", "--delay", "10", "What is a context window?")
    desktop.run("xdotool", "key", "Return")

    messages = wait_for_rows(
        data_dir,
        "SELECT role, content FROM messages WHERE state = 'complete' ORDER BY id",
        2,
    )
    assert messages[0] == ("user", "What is a context window?")
    assert messages[1][0] == "assistant" and "context window" in str(messages[1][1])
    assert wait_for_rows(data_dir, "SELECT source FROM usage_ledger", 1) == [("quick-ask",)]

    desktop.run("xdotool", "key", "Escape")
    desktop.wait_until_hidden(POPUP)
    # Hidden, not destroyed: the next hotkey press only has to show it again.
    assert popup in desktop.windows(POPUP, visible=False)


def test_without_a_hotkey_backend_chatdesk_says_how_to_bind_one(
    desktop: Desktop, data_dir: Path, simulator: SimulatorServer
) -> None:
    """On a Wayland desktop whose portal has no global shortcuts, the hotkey problem is reported."""
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    desktop.processes.append(bus)  # type: ignore[arg-type]
    assert bus.stdout is not None
    address = bus.stdout.readline().strip()
    wayland = {"XDG_SESSION_TYPE": "wayland", "DBUS_SESSION_BUS_ADDRESS": address}
    desktop.start_app(data_dir, env=api_env(simulator) | wayland)
    desktop.wait_for_window(MAIN)

    log = wait_for_log(data_dir, "unavailable")
    assert "portal offers no global shortcuts" in log
    assert f"--data-dir {data_dir} --quick-ask" in log

    # The command it suggests really opens quick ask in the running Chatdesk.
    second = desktop.start_app(data_dir, "--quick-ask", env=api_env(simulator) | wayland)
    assert second.wait(timeout=WAIT_LIMIT_S) == 0
    desktop.wait_for_window(POPUP)
