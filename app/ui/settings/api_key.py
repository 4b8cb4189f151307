"""The settings dialog's API key section: the key field, its status, Delete and Test connection.

The key goes only to the system keyring, through `KeyResolver` in a worker thread (keyring calls
can block on D-Bus or an unlock prompt). A connection test is handed to the tester the dialog
was given: this section builds no client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLineEdit, QToolButton, QWidget

from app.core.client import ConnectionConfig
from app.core.failures import ApiFailure
from app.core.problems import UserFacingError
from app.core.redact import SecretRegistry
from app.core.secrets import API_KEYS_PAGE, ENV_VAR, KeyDescription, KeyResolver, validate_new_key
from app.core.settings_keys import (
    connection_to_test,
    failure_text,
    key_status_text,
    problem_text,
    read_key_status,
    success_text,
)
from app.ui.settings.fields import NoteLabel, Notes, buddy, make_button
from app.ui.widgets.theme import Tone

# The models the server at a connection offers; raises `ApiFailure` or `UserFacingError`.
ConnectionTester = Callable[[ConnectionConfig], Awaitable[list[str]]]


class ApiKeySection:
    """The key's widgets (children of the dialog) and what they do with the keyring."""

    def __init__(
        self,
        dialog: QWidget,
        keys: KeyResolver,
        notes: Notes,
        *,
        tester: ConnectionTester,
        registry: SecretRegistry | None = None,
    ) -> None:
        self._dialog = dialog
        self._keys = keys
        self._notes = notes
        self._tester = tester
        self._registry = registry
        self._status_generation = 0
        self._has_stored_key = False
        self._busy = False
        self.edit = QLineEdit(dialog)
        self.edit.setObjectName("apiKeyEdit")
        self.edit.setAccessibleName("API key")
        self.edit.setClearButtonEnabled(True)
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setPlaceholderText("Paste a key to store it (sk-…)")
        self.edit.setInputMethodHints(
            Qt.InputMethodHint.ImhSensitiveData
            | Qt.InputMethodHint.ImhNoPredictiveText
            | Qt.InputMethodHint.ImhNoAutoUppercase
        )
        self.edit.setAccessibleDescription(
            f"Stored only in the system keyring. Get a key at {API_KEYS_PAGE}"
        )
        self.show_button = QToolButton(dialog)
        self.show_button.setObjectName("showKeyButton")
        self.show_button.setText("Show")
        self.show_button.setCheckable(True)
        self.show_button.setAccessibleName("Show key")
        self.show_button.setToolTip("Show the key you are typing")
        self.show_button.toggled.connect(self.on_show_button_toggled)
        self.status_label = NoteLabel(dialog, "keyStatusLabel", "Current key")
        self.error_label = NoteLabel(dialog, "apiKeyError", "API key problem")
        self.delete_button = make_button(dialog, "deleteKeyButton", "Delete stored key")
        self.delete_button.setToolTip("Remove the key stored for this base URL")
        self.delete_button.setEnabled(False)
        self.test_button = make_button(dialog, "testConnectionButton", "Test connection")
        self.test_button.setToolTip(
            "List the server's models with the key and base URL above (nothing is saved)"
        )
        self.test_result_label = NoteLabel(dialog, "testResultLabel", "Connection test result")

    @property
    def widgets(self) -> list[QWidget]:
        """In tab order."""
        return [self.edit, self.show_button, self.test_button, self.delete_button]

    def add_rows(self, form: QFormLayout) -> None:
        """The section's rows, at the top of the connection group."""
        key_row = QHBoxLayout()
        key_row.setSpacing(6)
        key_row.addWidget(self.edit, 1)
        key_row.addWidget(self.show_button)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        form.addRow(buddy(self._dialog, "API &key", self.edit), key_row)
        self._notes.add(form, self.status_label)
        self._notes.add(form, self.error_label)
        form.addRow("", buttons)
        self._notes.add(form, self.test_result_label)

    def on_show_button_toggled(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.edit.setEchoMode(mode)
        self.show_button.setText("Hide" if shown else "Show")

    def forget(self) -> None:
        """Empty the key field and hide what was typed: the dialog keeps no copy of a key."""
        self.edit.clear()
        self.show_button.setChecked(False)

    def reset(self) -> None:
        """Drop what was typed and the messages of an earlier opening."""
        self.edit.clear()
        self._notes.say(self.error_label, "")
        self._notes.say(self.test_result_label, "")

    def set_busy(self, busy: bool) -> None:
        """No deleting while the dialog saves."""
        self._busy = busy
        self.delete_button.setEnabled(not busy and self._has_stored_key)

    def checked_key(self) -> tuple[bool, str]:
        """Whether the key field is valid, and the key ready to store ("" when left empty)."""
        text = self.edit.text()
        if not text.strip():
            self._notes.say(self.error_label, "")
            return True, ""
        try:
            key = validate_new_key(text)
        except UserFacingError as problem:
            self._notes.say(self.error_label, problem_text(problem), Tone.ERROR)
            return False, ""
        self._notes.say(self.error_label, "")
        if self._registry is not None:
            # Even a key that is only tested must never reach a log line unmasked.
            self._registry.add(key)
        return True, key

    async def store(self, base_url: str, key: str) -> KeyDescription | None:
        """Store `key` for `base_url`; None (with the problem shown) when the keyring refused."""
        keys = self._keys

        # A closure, not arguments: the executor logs its arguments at debug level.
        def store() -> KeyDescription:
            return keys.store_key(base_url, key)

        try:
            described = await asyncio.get_running_loop().run_in_executor(None, store)
        except UserFacingError as problem:
            self._notes.say(self.error_label, problem_text(problem), Tone.ERROR)
            return None
        self.edit.clear()
        return described

    async def delete(self, base_url: str) -> bool | None:
        """Remove the key stored for `base_url`: whether there was one; None if that failed."""
        try:
            return await asyncio.get_running_loop().run_in_executor(
                None, self._keys.delete_key, base_url
            )
        except UserFacingError as problem:
            self._notes.say(self.error_label, problem_text(problem), Tone.ERROR)
            return None

    async def update_status(self, base_url: str) -> None:
        """Show which key is in use for `base_url`, and where it comes from."""
        self._status_generation += 1
        generation = self._status_generation
        if not self.status_label.text():
            self._notes.say(self.status_label, "Looking up the key…", Tone.MUTED)
        status = await asyncio.get_running_loop().run_in_executor(
            None, read_key_status, self._keys, base_url
        )
        if generation != self._status_generation:
            return  # a newer look-up (another base URL) is under way
        tone = Tone.ERROR if status.unavailable is not None else Tone.NORMAL
        self._notes.say(self.status_label, key_status_text(status), tone)
        self._has_stored_key = status.stored is not None
        self.set_busy(self._busy)

    async def test(
        self, key: str, values: Mapping[str, object], timeout_s: float, default_model: str
    ) -> list[str] | None:
        """The models offered with `key` (else the one in use) and the connection `values`.

        None when the test failed; either way the result is shown under the Test button.
        """
        base_url = str(values["base_url"])
        self.test_button.setEnabled(False)
        say = self._notes.say
        say(self.test_result_label, f"Connecting to {base_url}…", Tone.MUTED)
        keys = self._keys

        # A closure, not arguments: the executor logs its arguments at debug level.
        def configure() -> ConnectionConfig | None:
            return connection_to_test(keys, key, values, timeout_s)

        try:
            config = await asyncio.get_running_loop().run_in_executor(None, configure)
            if config is None:
                say(
                    self.test_result_label,
                    f"No API key to test with: paste one above or set {ENV_VAR}.",
                    Tone.ERROR,
                )
                return None
            models = await self._tester(config)
        except ApiFailure as failure:
            say(self.test_result_label, failure_text(failure, base_url), Tone.ERROR)
            return None
        except UserFacingError as problem:
            say(self.test_result_label, problem_text(problem), Tone.ERROR)
            return None
        finally:
            self.test_button.setEnabled(True)
        say(self.test_result_label, success_text(base_url, models, default_model), Tone.SUCCESS)
        return models
