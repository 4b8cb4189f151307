"""Starting the windowed app: the smoke exit, the no-key welcome, demo mode, the excepthook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.application import EXIT_AFTER_SHOWN_ENV, GuiSession, excepthook_installed
from app.core.messages import Role
from app.core.paths import AppPaths
from app.core.redact import SecretRegistry
from app.core.settings_store import SettingsStore
from app.ui.widgets.status_bar import ConnectionState
from app.wiring import AppContext
from tests.support.qt import Runner, wait_until

REPO = Path(__file__).resolve().parents[2]


class MemorySecretStore:
    """A keyring holding nothing, so no key is found anywhere."""

    backend_name = "memory"

    def __init__(self) -> None:
        self._secrets: dict[str, str] = {}

    def get(self, account: str) -> str | None:
        return self._secrets.get(account)

    def set(self, account: str, secret: str) -> None:
        self._secrets[account] = secret

    def delete(self, account: str) -> bool:
        return self._secrets.pop(account, None) is not None


def keyless_context(data_dir: Path) -> AppContext:
    paths = AppPaths.under(data_dir).ensure()
    return AppContext(
        paths=paths,
        settings_store=SettingsStore(paths.settings_file),
        environ={},
        secrets=SecretRegistry(),
        _secret_store=MemorySecretStore(),
    )


def test_demo_mode_starts_and_exits_cleanly_when_asked(tmp_path: Path) -> None:
    """`python -m app --demo` with the smoke-check variable shows the window, then exits 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update({EXIT_AFTER_SHOWN_ENV: "1", "QT_QPA_PLATFORM": "offscreen"})
    data_dir = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "app", "--demo", "--data-dir", str(data_dir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    log = (data_dir / "logs" / "chatdesk.log").read_text(encoding="utf-8")
    assert "window shown" in log
    assert "SDK ready" in log


def test_without_a_key_the_window_welcomes_and_try_the_demo_switches_to_the_simulator(
    qtbot: QtBot, run: Runner[Any], data_dir: Path
) -> None:
    """Without a key the welcome page explains how to add one; "Try the demo" then chats."""
    session = GuiSession(keyless_context(data_dir))
    window = session.window
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)

    async def scenario() -> None:
        await session.connect()
        assert window.pages.currentWidget() is window.welcome
        assert "OPENAI_API_KEY" in window.welcome.body_label.text()
        assert "chatdesk key set" in window.welcome.body_label.text()
        assert not window.composer.isEnabled()
        assert window.status.connection_label.property("state") == ConnectionState.NO_KEY
        assert session.client is None

        qtbot.mouseClick(window.welcome.demo_button, Qt.MouseButton.LeftButton)
        await wait_until(
            lambda: window.status.connection_label.property("state") == ConnectionState.READY,
            "the demo to be ready",
        )
        assert window.pages.currentWidget() is window.chat_view
        assert window.composer.isEnabled()
        assert window.windowTitle().startswith("Chatdesk")
        qtbot.keyClicks(window.composer, "Hello demo")
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
        await wait_until(window.stop_button.isEnabled, "the reply to start")
        await wait_until(lambda: not session.controller.busy, "the reply to finish")
        await session.shutdown()

    run(scenario())

    conversation = session.controller.conversation
    assert [m.role for m in conversation] == [Role.USER, Role.ASSISTANT]
    assert conversation[1].text
    assert session.client is None


def test_the_connection_announces_no_client_then_the_demo_client(
    qtbot: QtBot, run: Runner[Any], data_dir: Path
) -> None:
    """Without a key `client_changed` says None, with the reason; the demo then brings a client."""
    session = GuiSession(keyless_context(data_dir))
    qtbot.addWidget(session.window)
    session.window.show()
    changes: list[object] = []
    session.connection.client_changed.connect(changes.append)

    async def scenario() -> None:
        await session.connect()
        assert changes == [None]
        assert session.connection.problem is not None
        assert session.connection.problem.headline == "No API key"
        await session.connection.start_demo()
        assert changes == [None, session.client]
        assert session.connection.problem is None
        await session.shutdown()

    run(scenario())

    assert session.client is None


def test_a_bug_in_a_task_reaches_the_banner_through_the_excepthook(
    qtbot: QtBot, run: Runner[Any], data_dir: Path
) -> None:
    """An exception escaping a tracked task is shown in the banner; the old hook returns."""
    session = GuiSession(keyless_context(data_dir))
    qtbot.addWidget(session.window)
    before = sys.excepthook

    async def broken() -> None:
        raise ValueError("a bug")

    async def scenario() -> None:
        with excepthook_installed(session.report_bug):
            task = session.track(broken())
            await wait_until(task.done, "the task to fail")
            await wait_until(session.window.banner.isVisible, "the banner")

    session.window.show()
    run(scenario())

    assert sys.excepthook is before
    assert "ValueError" in session.window.banner.headline
    assert "chatdesk.log" in session.window.banner.remedy
