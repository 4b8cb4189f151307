"""Helpers for tests that drive the whole windowed session (`GuiSession`) on real widgets."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.paths import AppPaths
from app.core.redact import SecretRegistry
from app.core.secrets import SecretStore
from app.core.settings_store import SettingsStore
from app.ui.settings.dialog import SettingsDialog
from app.ui.widgets.status_bar import ConnectionState
from app.ui.widgets.theme import ThemeController
from app.wiring import AppContext
from tests.support.qt import Runner, wait_until


class MemorySecretStore:
    """A keyring in memory, for tests that are not about the keyring itself."""

    backend_name = "memory"

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}

    def get(self, account: str) -> str | None:
        return self.secrets.get(account)

    def set(self, account: str, secret: str) -> None:
        self.secrets[account] = secret

    def delete(self, account: str) -> bool:
        return self.secrets.pop(account, None) is not None


def make_context(
    data_dir: Path, *, environ: Mapping[str, str] | None = None, store: SecretStore | None = None
) -> AppContext:
    """An `AppContext` under `data_dir` with the given environment and secret store."""
    paths = AppPaths.under(data_dir).ensure()
    return AppContext(
        paths=paths,
        settings_store=SettingsStore(paths.settings_file),
        environ=dict(environ or {}),
        secrets=SecretRegistry(),
        _secret_store=store if store is not None else MemorySecretStore(),
    )


def is_ready(session: GuiSession) -> bool:
    return session.window.status.connection_label.property("state") == ConnectionState.READY


def open_settings(qtbot: QtBot, session: GuiSession) -> SettingsDialog:
    """Open the settings dialog with Ctrl+, as a user would."""
    window = session.window
    with qtbot.waitActive(window):
        window.activateWindow()
    qtbot.keyClick(window.composer, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    dialog = session.settings_dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    return dialog


async def settle(dialog: SettingsDialog) -> None:
    """Wait until the dialog's keyring look-ups, saves and tests are done."""
    await wait_until(lambda: not dialog.busy, "the settings dialog to finish")


# Fixtures carry explicit names so test modules can import them without shadowing.
@pytest.fixture(name="theme_controller")
def theme_controller_fixture(qapp: QApplication) -> Iterator[ThemeController]:
    """A theme controller on the test application, undone afterwards."""
    controller = ThemeController(qapp)
    yield controller
    controller.restore()


@pytest.fixture(name="open_session")
def open_session_fixture(qtbot: QtBot, run: Runner[Any]) -> Iterator[Callable[..., GuiSession]]:
    """Build and show a `GuiSession` (window, controller, wiring); shut down afterwards."""
    opened: list[GuiSession] = []

    def open_one(context: AppContext, **options: Any) -> GuiSession:
        session = GuiSession(context, **options)
        qtbot.addWidget(session.window)
        session.window.show()
        qtbot.waitExposed(session.window)
        opened.append(session)
        return session

    yield open_one
    for session in opened:
        run(session.shutdown())
