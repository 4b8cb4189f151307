"""The settings dialog: the key in the real keyring, connection tests, inline validation, and the
window reconnecting after a change."""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.connection import NO_KEY_PLACEHOLDER
from app.core.logs import setup_logging, teardown_logging
from app.core.paths import AppPaths
from app.core.redact import SecretRegistry, mask_secret
from app.core.secrets import (
    ENV_VAR,
    SERVICE_NAME,
    KeyResolver,
    SecretStore,
    SecretStoreUnavailable,
    account_for,
)
from app.core.settings_store import SettingsStore
from app.platform.keyring_store import KeyringSecretStore, NullSecretStore
from app.simulator import SimulatorServer
from app.ui.connection import list_models_at
from app.ui.settings.dialog import SettingsDialog
from app.ui.widgets.theme import TONE_PROPERTY
from tests.platform.conftest import (  # noqa: F401
    keyring_base_url_fixture,
    secret_service_fixture,
    secret_service_probe_fixture,
    secret_tool_fixture,
)
from tests.support.gui_session import (  # noqa: F401
    MemorySecretStore,
    is_ready,
    make_context,
    open_session_fixture,
    settle,
)
from tests.support.qt import Runner, wait_until


def project_key() -> str:
    return "sk-proj-" + secrets.token_urlsafe(60)


@dataclass
class Opened:
    dialog: SettingsDialog
    settings: SettingsStore
    store: SecretStore


@pytest.fixture
def make_dialog(qtbot: QtBot, data_dir: Path, run: Runner[Any]) -> Iterator[Callable[..., Opened]]:
    """Open a settings dialog on settings in `data_dir` and the given secret store, once it
    has looked up the current key."""

    def open_dialog(
        store: SecretStore | None = None, environ: Mapping[str, str] | None = None
    ) -> Opened:
        secret_store = store if store is not None else MemorySecretStore()
        settings = SettingsStore(data_dir / "settings.json")
        keys = KeyResolver(secret_store, dict(environ or {}), SecretRegistry())
        dialog = SettingsDialog(
            settings, keys, tester=list_models_at, models=["gpt-4o-mini", "gpt-4o"]
        )
        qtbot.addWidget(dialog)
        dialog.open_at("api_key")
        qtbot.waitExposed(dialog)
        run(settle(dialog))
        return Opened(dialog, settings, secret_store)

    yield open_dialog


def files_containing(root: Path, text: str) -> list[Path]:
    needle = text.encode()
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.keyring
def test_saved_key_lands_in_the_real_secret_service_and_nowhere_in_the_data_dir(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    make_dialog: Callable[..., Opened],
    secret_service: KeyringSecretStore,
    keyring_base_url: str,
    secret_tool: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Save puts the key in the Secret Service (seen by secret-tool), in no file we write and
    in no log record, not even before redaction."""
    caplog.set_level(logging.DEBUG)
    paths = AppPaths.under(data_dir).ensure()
    setup_logging(paths, logging.DEBUG, registry=SecretRegistry())
    try:
        opened = make_dialog(secret_service)
        dialog = opened.dialog
        key = project_key()
        dialog.base_url_edit.setText(keyring_base_url)
        qtbot.keyClicks(dialog.key_edit, key)
        assert dialog.key_edit.echoMode() is dialog.key_edit.EchoMode.Password

        async def scenario() -> None:
            await settle(dialog)
            qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
            await settle(dialog)

        run(scenario())
        logging.getLogger("chatdesk.test").debug("settings saved")
    finally:
        teardown_logging()

    found = subprocess.run(
        [secret_tool, "lookup", "service", SERVICE_NAME, "username", account_for(keyring_base_url)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout == key
    assert dialog.key_edit.text() == ""
    assert mask_secret(key) in dialog.key_status_label.text()
    assert "Secret Service" in dialog.key_status_label.text()
    saved = json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))
    assert saved == {"base_url": keyring_base_url}
    assert (data_dir / "logs" / "chatdesk.log").exists()
    assert files_containing(data_dir, key) == []
    assert files_containing(data_dir, key[-20:]) == []
    assert caplog.records
    assert key[-20:] not in caplog.text


def test_test_connection_lists_the_simulator_models_and_saves_nothing(
    run: Runner[Any],
    data_dir: Path,
    make_dialog: Callable[..., Opened],
    simulator: SimulatorServer,
) -> None:
    """Test connection with the entered key and base URL reports OK; nothing is stored."""
    opened = make_dialog()
    dialog = opened.dialog
    dialog.base_url_edit.setText(simulator.base_url)
    dialog.key_edit.setText("sk-test-connection-check")

    assert run(dialog.test_connection())

    result = dialog.test_result_label
    assert result.isVisible()
    assert result.text().startswith("Connection OK: 127.0.0.1:")
    assert "models" in result.text()
    assert result.property(TONE_PROPERTY) == "success"
    offered = {dialog.model_combo.itemText(i) for i in range(dialog.model_combo.count())}
    assert set(simulator.registry.ids()) <= offered
    assert not (data_dir / "settings.json").exists()
    assert isinstance(opened.store, MemorySecretStore)
    assert opened.store.secrets == {}


def test_test_connection_with_a_wrong_key_shows_the_rejection_inline(
    qtbot: QtBot, run: Runner[Any], make_dialog: Callable[..., Opened]
) -> None:
    """A key the server refuses (401) shows "API key rejected" under the Test button."""
    with SimulatorServer(api_key="sk-the-right-key-for-this-server") as simulator:
        dialog = make_dialog().dialog
        dialog.base_url_edit.setText(simulator.base_url)
        dialog.key_edit.setText("sk-a-wrong-key-for-this-server")

        async def scenario() -> None:
            qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
            await settle(dialog)

        run(scenario())

    text = dialog.test_result_label.text()
    assert text.startswith("API key rejected.")
    assert "sk-a-wrong-key-for-this-server" not in text
    assert dialog.test_result_label.property(TONE_PROPERTY) == "error"
    assert dialog.test_button.isEnabled()


def test_invalid_base_url_and_a_key_with_spaces_are_shown_inline_and_nothing_is_saved(
    run: Runner[Any], data_dir: Path, make_dialog: Callable[..., Opened]
) -> None:
    """Each bad field gets its own message; neither the key nor any setting is saved."""
    opened = make_dialog()
    dialog = opened.dialog
    dialog.base_url_edit.setText("ftp://example.com/v1")
    dialog.key_edit.setText("sk-proj-abc def")
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findText("Dark"))

    assert not run(dialog.save())

    url_error = dialog.errors["base_url"]
    assert url_error.isVisible()
    assert "not an http:// or https:// address" in url_error.text()
    assert "https://api.openai.com/v1" in url_error.text()
    assert dialog.key_error_label.isVisible()
    assert "spaces" in dialog.key_error_label.text()
    assert "Nothing was saved" in dialog.status_label.text()
    assert not (data_dir / "settings.json").exists()
    assert isinstance(opened.store, MemorySecretStore)
    assert opened.store.secrets == {}


def test_a_key_pasted_into_the_organization_field_is_refused(
    run: Runner[Any], data_dir: Path, make_dialog: Callable[..., Opened]
) -> None:
    """A setting shaped like a key never reaches settings.json."""
    dialog = make_dialog().dialog
    key = project_key()
    dialog.organization_edit.setText(key)

    assert not run(dialog.save())

    assert "looks like it contains an API key" in dialog.errors["organization"].text()
    assert key not in dialog.errors["organization"].text()
    assert not (data_dir / "settings.json").exists()


def test_without_a_keyring_the_dialog_says_so_and_points_to_the_environment_variable(
    run: Runner[Any], data_dir: Path, make_dialog: Callable[..., Opened]
) -> None:
    """No keyring: the key status explains it with the remedy, and Save stores nothing."""
    missing = NullSecretStore(SecretStoreUnavailable("No system keyring found"))
    opened = make_dialog(missing)
    dialog = opened.dialog
    run(settle(dialog))

    status = dialog.key_status_label.text()
    assert status.startswith("No system keyring found, so a key cannot be stored here.")
    assert ENV_VAR in status
    assert dialog.key_status_label.property(TONE_PROPERTY) == "error"
    assert not dialog.delete_key_button.isEnabled()

    dialog.key_edit.setText(project_key())
    dialog.project_edit.setText("proj_abc")
    assert not run(dialog.save())
    assert "No system keyring found" in dialog.key_error_label.text()
    assert not (data_dir / "settings.json").exists()


def test_a_key_from_the_environment_is_shown_masked_with_its_source(
    run: Runner[Any], make_dialog: Callable[..., Opened]
) -> None:
    """OPENAI_API_KEY is shown by kind and masked form, and said to take precedence."""
    key = project_key()
    dialog = make_dialog(environ={ENV_VAR: key}).dialog
    run(settle(dialog))

    status = dialog.key_status_label.text()
    assert f"project key {mask_secret(key)}" in status
    assert f"environment variable {ENV_VAR}" in status
    assert key not in status


def test_delete_removes_the_stored_key(
    qtbot: QtBot, run: Runner[Any], make_dialog: Callable[..., Opened]
) -> None:
    """Delete stored key empties the keyring entry for the base URL and says so."""
    store = MemorySecretStore()
    store.set(account_for("https://api.openai.com/v1"), project_key())
    dialog = make_dialog(store).dialog
    run(settle(dialog))
    assert dialog.delete_key_button.isEnabled()
    changed: list[int] = []
    dialog.key_changed.connect(lambda: changed.append(1))

    async def scenario() -> None:
        qtbot.mouseClick(dialog.delete_key_button, Qt.MouseButton.LeftButton)
        await settle(dialog)

    run(scenario())

    assert store.secrets == {}
    assert changed == [1]
    assert dialog.key_status_label.text() == "No key is stored for https://api.openai.com/v1."
    assert not dialog.delete_key_button.isEnabled()


def test_the_dialog_is_non_modal_and_every_control_is_named_in_tab_order(
    qtbot: QtBot, run: Runner[Any], make_dialog: Callable[..., Opened]
) -> None:
    """Nothing blocks the window; Tab walks key, its buttons, server fields, chat, Save."""
    dialog = make_dialog().dialog
    assert not dialog.isModal()
    assert dialog.windowModality() is Qt.WindowModality.NonModal
    focusable = [
        w
        for w in dialog.findChildren(QWidget)
        if w.focusPolicy() & Qt.FocusPolicy.TabFocus and w.isVisibleTo(dialog)
    ]
    assert focusable
    assert [w.objectName() for w in focusable if not w.accessibleName()] == []

    with qtbot.waitActive(dialog):
        dialog.activateWindow()
    dialog.key_edit.setFocus()
    visited = [dialog.focusWidget()]

    async def walk() -> None:
        for _ in range(16):
            qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
            visited.append(dialog.focusWidget())
        # Leaving the base URL field looks up its key.
        await settle(dialog)

    run(walk())
    assert [w.accessibleName() for w in visited] == [
        "API key",
        "Show key",
        "Test connection",
        "Base URL",
        "Organization",
        "Project",
        "Default model",
        "Send with",
        "Theme",
        "Quick ask hotkey",
        "Quick ask model",
        "Keep running in the tray",
        "Monthly budget ($)",
        "Ask before going over the budget",
        "Save",
        "Close",
        "API key",
    ]


def test_entering_a_key_on_the_welcome_page_switches_the_window_to_chat(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """First start without a key: Enter API key opens Settings there; saving one starts chat."""
    store = MemorySecretStore()
    session = open_session(make_context(data_dir, store=store))
    window = session.window

    async def scenario() -> None:
        await session.connect()
        assert window.pages.currentWidget() is window.welcome
        qtbot.mouseClick(window.welcome.key_button, Qt.MouseButton.LeftButton)
        dialog = session.settings_dialog
        assert dialog is not None
        assert dialog.isVisible()
        assert dialog.focusWidget() is dialog.key_edit
        await settle(dialog)
        dialog.base_url_edit.setText(simulator.base_url)
        qtbot.keyClicks(dialog.key_edit, "sk-test-first-start-key")
        qtbot.keyClick(dialog.key_edit, Qt.Key.Key_Return)
        await settle(dialog)
        await wait_until(lambda: is_ready(session), "the window to connect")
        client = session.client
        assert client is not None
        assert client.config.base_url == simulator.base_url
        assert client.config.api_key == "sk-test-first-start-key"
        await session.shutdown()

    run(scenario())

    assert store.secrets == {account_for(simulator.base_url): "sk-test-first-start-key"}
    assert window.pages.currentWidget() is window.chat_view
    assert window.composer.isEnabled()
    assert f"Ready · 127.0.0.1:{simulator.port}" == window.status.connection_label.text()


def test_changing_the_project_reconnects_the_window_client(
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Saving a new project replaces the window's client with one that sends it."""
    context = make_context(data_dir, environ={ENV_VAR: "sk-test-environment-key"})
    context.settings_store.update(base_url=simulator.base_url)
    session = open_session(context)
    configs = []

    async def scenario() -> None:
        await session.connect()
        first = session.client
        assert first is not None
        session.on_window_settings_requested("")
        dialog = session.settings_dialog
        assert dialog is not None
        await settle(dialog)
        dialog.project_edit.setText("proj_reconnected")
        assert await dialog.save()
        await wait_until(lambda: session.client is not first, "a new client")
        await wait_until(lambda: is_ready(session), "the new connection")
        configs.extend(c.config for c in (first, session.client) if c is not None)
        await session.shutdown()

    run(scenario())

    first, second = configs
    assert first.project == ""
    assert second.project == "proj_reconnected"
    assert second.api_key == "sk-test-environment-key"
    assert second.base_url == simulator.base_url


def test_test_connection_in_the_window_leaves_the_window_client_alone(
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """The session's Test connection lists models through a client of its own, then closes it."""
    context = make_context(data_dir, environ={ENV_VAR: "sk-test-environment-key"})
    context.settings_store.update(base_url=simulator.base_url)
    session = open_session(context)
    changes: list[object] = []

    async def scenario() -> None:
        await session.connect()
        await wait_until(lambda: is_ready(session), "the connection")
        session.connection.client_changed.connect(changes.append)
        first = session.client
        session.on_window_settings_requested("")
        dialog = session.settings_dialog
        assert dialog is not None
        await settle(dialog)
        assert await dialog.test_connection()
        assert session.client is first
        assert dialog.test_result_label.text().startswith("Connection OK")
        await session.shutdown()

    run(scenario())

    assert changes == []


def test_deleting_the_key_in_use_reconnects_without_it(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Delete stored key replaces the window's client; a local server then gets no key."""
    store = MemorySecretStore()
    store.set(account_for(simulator.base_url), "sk-test-key-to-delete")
    context = make_context(data_dir, store=store)
    context.settings_store.update(base_url=simulator.base_url)
    session = open_session(context)
    keys: list[str] = []

    async def scenario() -> None:
        await session.connect()
        first = session.client
        assert first is not None
        keys.append(first.config.api_key)
        session.on_window_settings_requested("")
        dialog = session.settings_dialog
        assert dialog is not None
        await settle(dialog)
        qtbot.mouseClick(dialog.delete_key_button, Qt.MouseButton.LeftButton)
        await settle(dialog)
        await wait_until(lambda: session.client is not first, "a new client")
        await wait_until(lambda: is_ready(session), "the new connection")
        assert session.client is not None
        keys.append(session.client.config.api_key)
        await session.shutdown()

    run(scenario())

    assert store.secrets == {}
    assert keys == ["sk-test-key-to-delete", NO_KEY_PLACEHOLDER]
    assert session.window.pages.currentWidget() is session.window.chat_view


def test_a_new_default_model_is_where_the_next_new_chat_starts(
    run: Runner[Any], data_dir: Path, open_session: Callable[..., GuiSession]
) -> None:
    """Saving a default model leaves the open chat alone; New chat then starts with it."""
    session = open_session(make_context(data_dir))

    async def scenario() -> None:
        session.on_window_settings_requested("")
        dialog = session.settings_dialog
        assert dialog is not None
        await settle(dialog)
        dialog.model_combo.setCurrentText("gpt-4o")
        assert await dialog.save()
        await session.shutdown()

    run(scenario())

    assert session.controller.model == "gpt-4o-mini"
    session.controller.new_chat()
    assert session.controller.model == "gpt-4o"
