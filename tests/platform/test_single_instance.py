"""One Chatdesk per data folder: later launches hand over to it (real processes under Xvfb)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.simulator import SimulatorServer
from tests.end2end.test_quick_ask_desktop import MAIN, POPUP, api_env, wait_for_log
from tests.support.desktop import WAIT_LIMIT_S, Desktop, start_tray, xvfb_desktop


@pytest.fixture
def desktop() -> Iterator[Desktop]:
    with xvfb_desktop() as screen:
        yield screen


def test_a_quick_ask_launch_opens_the_popup_in_the_running_chatdesk(
    desktop: Desktop, data_dir: Path, simulator: SimulatorServer
) -> None:
    """`chatdesk --quick-ask` beside a running Chatdesk opens its popup and exits at once."""
    first = desktop.start_app(data_dir, env=api_env(simulator))
    desktop.wait_for_window(MAIN)
    assert not desktop.windows(POPUP)

    second = desktop.start_app(data_dir, "--quick-ask", env=api_env(simulator))
    assert second.wait(timeout=WAIT_LIMIT_S) == 0
    desktop.wait_for_window(POPUP)
    assert first.poll() is None
    assert len(desktop.windows(MAIN)) == 1


def test_a_quick_ask_launch_with_nothing_running_starts_in_the_tray_with_the_popup(
    desktop: Desktop, data_dir: Path, simulator: SimulatorServer
) -> None:
    """With no Chatdesk running, `--quick-ask` starts it in the tray with only the popup open."""
    start_tray(desktop)
    desktop.start_app(data_dir, "--quick-ask", env=api_env(simulator))
    desktop.wait_for_window(POPUP)
    wait_for_log(data_dir, "global hotkey")
    assert not desktop.windows(MAIN)


def test_a_second_launch_brings_back_the_window_closed_to_the_tray(
    desktop: Desktop, data_dir: Path, simulator: SimulatorServer
) -> None:
    """Closing the window keeps Chatdesk in the tray; launching it again shows the window."""
    start_tray(desktop)
    first = desktop.start_app(data_dir, env=api_env(simulator))
    window = desktop.wait_for_window(MAIN)
    wait_for_log(data_dir, "global hotkey")

    # Asked again if the first request is lost while the app is still busy starting up.
    deadline = time.monotonic() + WAIT_LIMIT_S
    while desktop.windows(MAIN):
        assert time.monotonic() < deadline, "the window did not close"
        desktop.close_window(window)
        time.sleep(0.5)
    assert first.poll() is None

    second = desktop.start_app(data_dir, env=api_env(simulator))
    assert second.wait(timeout=WAIT_LIMIT_S) == 0
    assert desktop.wait_for_window(MAIN) == window


def test_without_a_tray_closing_the_window_quits(
    desktop: Desktop, data_dir: Path, simulator: SimulatorServer
) -> None:
    """With no tray to stay in, closing the window ends Chatdesk, and the next start is normal."""
    first = desktop.start_app(data_dir, env=api_env(simulator))
    window = desktop.wait_for_window(MAIN)
    wait_for_log(data_dir, "global hotkey")

    deadline = time.monotonic() + WAIT_LIMIT_S
    while first.poll() is None:
        assert time.monotonic() < deadline, "Chatdesk kept running after its window closed"
        desktop.close_window(window)
        time.sleep(0.5)
    assert first.returncode == 0

    desktop.start_app(data_dir, env=api_env(simulator))
    desktop.wait_for_window(MAIN)


def test_a_chatdesk_that_was_killed_does_not_block_the_next_start(
    desktop: Desktop, data_dir: Path, simulator: SimulatorServer
) -> None:
    """After a crash (SIGKILL leaves the lock and socket behind), Chatdesk starts normally."""
    first = desktop.start_app(data_dir, env=api_env(simulator))
    desktop.wait_for_window(MAIN)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=WAIT_LIMIT_S)
    desktop.wait_until_hidden(MAIN)
    assert (data_dir / "chatdesk.lock").exists()

    again = desktop.start_app(data_dir, env=api_env(simulator))
    desktop.wait_for_window(MAIN)
    assert again.poll() is None


def test_separate_data_folders_run_separate_instances(
    desktop: Desktop, tmp_path: Path, simulator: SimulatorServer
) -> None:
    """Two data folders (--data-dir) are two independent Chatdesks, each with its window."""
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        desktop.start_app(folder, env=api_env(simulator))
    deadline = time.monotonic() + WAIT_LIMIT_S
    while len(desktop.windows(MAIN)) < 2:
        assert time.monotonic() < deadline, "the second Chatdesk did not open its window"
        time.sleep(0.05)
