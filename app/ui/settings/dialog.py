"""The settings dialog: API key, server, organization and project, default model, send key, theme.

Non-modal: the window stays usable while it is open. The API key goes only to the system
keyring, through `KeyResolver` in a worker thread (keyring calls can block on D-Bus or an unlock
prompt); the dialog keeps no copy of it once saved or closed.

Save checks every field first and saves nothing while any is invalid; each problem is shown
under its field. The key is stored before the settings file is written, since the keyring is
the step that can fail for reasons outside Chatdesk.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import fields
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QHideEvent, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.client import ChatClient, ConnectionConfig
from app.core.failures import ApiFailure
from app.core.problems import UserFacingError
from app.core.redact import SecretRegistry
from app.core.secrets import (
    API_KEYS_PAGE,
    ENV_VAR,
    KeyDescription,
    KeyResolver,
    validate_new_key,
)
from app.core.settings import (
    InvalidSetting,
    SendShortcut,
    Settings,
    SettingsStore,
    Theme,
    check_base_url,
)
from app.core.settings_keys import (
    TEST_TIMEOUT_S,
    connection_to_test,
    failure_text,
    key_status_text,
    problem_text,
    read_key_status,
    success_text,
)
from app.ui.settings.quick_ask_fields import QUICK_ASK_FIELDS, QuickAskFields
from app.ui.tasks import report_bug
from app.ui.widgets.theme import Tone, set_tone

Track = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]

KEY_FIELD = "api_key"
# The dialog's own fields, in the order they are checked and shown.
SETTING_FIELDS = (
    "base_url",
    "organization",
    "project",
    "default_model",
    "send_shortcut",
    "theme",
    "monthly_budget_usd",
    "budget_hard_limit",
    *QUICK_ASK_FIELDS,
)
CONNECTION_FIELDS = frozenset({"base_url", "organization", "project"})
_SEND_CHOICES = (
    (SendShortcut.ENTER, "Enter (Shift+Enter adds a line)"),
    (SendShortcut.CTRL_ENTER, "Ctrl+Enter (Enter adds a line)"),
)
_THEME_CHOICES = (
    (Theme.SYSTEM, "Same as the system"),
    (Theme.LIGHT, "Light"),
    (Theme.DARK, "Dark"),
)
_CHECKS: dict[str, Callable[[object], object]] = {
    f.name: f.metadata["check"] for f in fields(Settings)
}


class NoteLabel(QLabel):
    """A wrapped message under a field, as tall as its text needs at the width it is given.

    QLabel's own size hint guesses a narrow, tall shape for wrapped text, and form layouts take
    that guess: the message would float in empty space.
    """

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.width() <= hint.width():
            return hint
        return QSize(hint.width(), self.heightForWidth(self.width()))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.height() != self.heightForWidth(self.width()):
            self.updateGeometry()


class SettingsDialog(QDialog):
    """Edit the settings; `key_changed` is emitted after a key was stored or deleted."""

    key_changed = Signal()

    def __init__(
        self,
        store: SettingsStore,
        keys: KeyResolver,
        *,
        models: Iterable[str] = (),
        session_base_url: str | None = None,
        client_factory: Callable[[ConnectionConfig], ChatClient] = ChatClient,
        registry: SecretRegistry | None = None,
        track: Track | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Chatdesk Settings")
        self.setAccessibleName("Settings")
        self.setModal(False)
        self.setSizeGripEnabled(True)
        self._store = store
        self._keys = keys
        self._session_base_url = session_base_url
        self._client_factory = client_factory
        self._registry = registry
        self._track_with = track
        self._pending: set[asyncio.Task[None]] = set()
        self._status_generation = 0
        self._has_stored_key = False
        self._busy_saving = False
        self._note_rows: dict[QLabel, QFormLayout] = {}
        self._build(list(models))
        self.load()

    # Building

    def _build(self, models: list[str]) -> None:
        self.key_edit = self._line_edit("apiKeyEdit", "API key")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("Paste a key to store it (sk-…)")
        self.key_edit.setInputMethodHints(
            Qt.InputMethodHint.ImhSensitiveData
            | Qt.InputMethodHint.ImhNoPredictiveText
            | Qt.InputMethodHint.ImhNoAutoUppercase
        )
        self.key_edit.setAccessibleDescription(
            f"Stored only in the system keyring. Get a key at {API_KEYS_PAGE}"
        )
        self.show_key_button = QToolButton(self)
        self.show_key_button.setObjectName("showKeyButton")
        self.show_key_button.setText("Show")
        self.show_key_button.setCheckable(True)
        self.show_key_button.setAccessibleName("Show key")
        self.show_key_button.setToolTip("Show the key you are typing")
        self.show_key_button.toggled.connect(self.on_show_key_button_toggled)
        self.key_status_label = self._note("keyStatusLabel", "Current key")
        self.key_error_label = self._note("apiKeyError", "API key problem")
        self.delete_key_button = self._button("deleteKeyButton", "Delete stored key")
        self.delete_key_button.setToolTip("Remove the key stored for this base URL")
        self.delete_key_button.setEnabled(False)
        self.delete_key_button.clicked.connect(self.on_delete_key_button_clicked)
        self.test_button = self._button("testConnectionButton", "Test connection")
        self.test_button.setToolTip(
            "List the server's models with the key and base URL above (nothing is saved)"
        )
        self.test_button.clicked.connect(self.on_test_button_clicked)
        self.test_result_label = self._note("testResultLabel", "Connection test result")

        self.base_url_edit = self._setting_edit("baseUrlEdit", "base_url")
        self.base_url_edit.editingFinished.connect(self.on_base_url_edit_editing_finished)
        self.session_note = self._note("sessionBaseUrlNote", "Base URL in use")
        self.organization_edit = self._setting_edit("organizationEdit", "organization")
        self.organization_edit.setPlaceholderText("org-… (optional)")
        self.project_edit = self._setting_edit("projectEdit", "project")
        self.project_edit.setPlaceholderText("proj_… (optional)")

        self.model_combo = QComboBox(self)
        self.model_combo.setObjectName("defaultModelCombo")
        self.model_combo.setEditable(True)
        self.model_combo.addItems(models)
        self._describe(self.model_combo, "default_model")
        model_edit = self.model_combo.lineEdit()
        if model_edit is not None:
            model_edit.setAccessibleName(self.model_combo.accessibleName())
        self.send_combo = self._choice_combo("sendShortcutCombo", "send_shortcut", _SEND_CHOICES)
        self.theme_combo = self._choice_combo("themeCombo", "theme", _THEME_CHOICES)
        self.quick_ask = QuickAskFields(self, models, self._describe)
        self.hotkey_status_label = self._note("hotkeyStatusLabel", "Hotkey status")
        self.budget_edit = self._setting_edit("monthlyBudgetEdit", "monthly_budget_usd")
        self.budget_edit.setPlaceholderText("No budget")
        self.hard_limit_check = QCheckBox(self._label("budget_hard_limit"), self)
        self.hard_limit_check.setObjectName("budgetHardLimitCheck")
        self._describe(self.hard_limit_check, "budget_hard_limit")

        self.errors: dict[str, QLabel] = {
            KEY_FIELD: self.key_error_label,
            **{
                name: self._note(f"{name}Error", f"{self._label(name)} problem")
                for name in SETTING_FIELDS
            },
        }
        self.status_label = self._note("saveStatusLabel", "Save result")
        # Plain buttons: a QDialogButtonBox keeps Tab cycling between its own buttons.
        self.save_button = self._button("saveButton", "Save")
        self.save_button.setToolTip("Check every field, then store the key and save the settings")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.on_save_button_clicked)
        self.close_button = self._button("closeButton", "Close")
        self.close_button.clicked.connect(self.close)
        self._lay_out()

    def _lay_out(self) -> None:
        key_row = QHBoxLayout()
        key_row.setSpacing(6)
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.show_key_button)
        key_buttons = QHBoxLayout()
        key_buttons.setSpacing(6)
        key_buttons.addWidget(self.test_button)
        key_buttons.addWidget(self.delete_key_button)
        key_buttons.addStretch(1)

        server = QFormLayout()
        self._form_defaults(server)
        server.addRow(self._buddy("API &key", self.key_edit), key_row)
        self._add_note(server, self.key_status_label)
        self._add_note(server, self.key_error_label)
        server.addRow("", key_buttons)
        self._add_note(server, self.test_result_label)
        self._add_setting_row(server, "base_url", self.base_url_edit, "&Base URL")
        self._add_note(server, self.session_note)
        self._add_setting_row(server, "organization", self.organization_edit, "&Organization")
        self._add_setting_row(server, "project", self.project_edit, "&Project")
        server_box = QGroupBox("Connection", self)
        server_box.setLayout(server)

        chat = QFormLayout()
        self._form_defaults(chat)
        self._add_setting_row(chat, "default_model", self.model_combo, "Default &model")
        self._add_setting_row(chat, "send_shortcut", self.send_combo, "&Send with")
        self._add_setting_row(chat, "theme", self.theme_combo, "&Theme")
        chat_box = QGroupBox("Chat and appearance", self)
        chat_box.setLayout(chat)

        quick = QFormLayout()
        self._form_defaults(quick)
        self._add_setting_row(quick, "hotkey", self.quick_ask.hotkey_edit, "&Hotkey")
        self._add_note(quick, self.hotkey_status_label)
        self._add_setting_row(quick, "quick_ask_model", self.quick_ask.model_combo, "Mo&del")
        quick.addRow("", self.quick_ask.close_to_tray_check)
        self._add_note(quick, self.errors["close_to_tray"])
        quick_box = QGroupBox("Quick ask and tray", self)
        quick_box.setLayout(quick)

        budget = QFormLayout()
        self._form_defaults(budget)
        self._add_setting_row(budget, "monthly_budget_usd", self.budget_edit, "Monthly &budget ($)")
        budget.addRow("", self.hard_limit_check)
        self._add_note(budget, self.errors["budget_hard_limit"])
        budget_box = QGroupBox("Spending", self)
        budget_box.setLayout(budget)

        content = QWidget(self)
        content.setObjectName("settingsContent")
        fields_column = QVBoxLayout(content)
        fields_column.setContentsMargins(16, 16, 16, 8)
        fields_column.setSpacing(12)
        fields_column.addWidget(server_box)
        fields_column.addWidget(chat_box)
        fields_column.addWidget(quick_box)
        fields_column.addWidget(budget_box)
        fields_column.addWidget(self.status_label)
        fields_column.addStretch(1)
        # Messages appear and disappear under the fields; inside a scroll area they never change
        # the dialog's minimum size, and a small screen can still reach every field.
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setObjectName("settingsScrollArea")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.scroll_area.setWidget(content)
        self._content = content
        self._column = column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 12)
        column.setSpacing(8)
        column.addWidget(self.scroll_area, 1)
        self._buttons_row = buttons_row = QHBoxLayout()
        buttons_row.setContentsMargins(16, 0, 16, 0)
        buttons_row.addStretch(1)
        buttons_row.addWidget(self.save_button)
        buttons_row.addWidget(self.close_button)
        column.addLayout(buttons_row)

        order: list[QWidget] = [
            self.key_edit,
            self.show_key_button,
            self.test_button,
            self.delete_key_button,
            self.base_url_edit,
            self.organization_edit,
            self.project_edit,
            self.model_combo,
            self.send_combo,
            self.theme_combo,
            *self.quick_ask.widgets,
            self.budget_edit,
            self.hard_limit_check,
            self.save_button,
            self.close_button,
        ]
        # A closed ring: the button box would otherwise keep Tab cycling between its buttons.
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)
        # An explicit minimum: otherwise the layout would reset it whenever a message appears.
        self.setMinimumSize(480, 320)
        self.resize(640, self._fitting_height())

    def _form_defaults(self, form: QFormLayout) -> None:
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setVerticalSpacing(6)

    def _add_setting_row(self, form: QFormLayout, name: str, field: QWidget, text: str) -> None:
        form.addRow(self._buddy(text, field), field)
        self._add_note(form, self.errors[name])

    def _add_note(self, form: QFormLayout, label: QLabel) -> None:
        # Hiding the whole row, not just the label, leaves no gap while it is empty.
        form.addRow("", label)
        form.setRowVisible(label, False)
        self._note_rows[label] = form

    def _buddy(self, text: str, field: QWidget) -> QLabel:
        label = QLabel(text, self)
        label.setBuddy(field)
        return label

    @staticmethod
    def _label(name: str) -> str:
        return Settings.describe(name)[0]

    def _describe(self, widget: QWidget, name: str) -> None:
        label, doc = Settings.describe(name)
        widget.setAccessibleName(label)
        widget.setAccessibleDescription(doc)
        widget.setToolTip(doc)

    def _line_edit(self, object_name: str, accessible: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(object_name)
        edit.setAccessibleName(accessible)
        edit.setClearButtonEnabled(True)
        return edit

    def _setting_edit(self, object_name: str, name: str) -> QLineEdit:
        edit = self._line_edit(object_name, self._label(name))
        self._describe(edit, name)
        return edit

    def _choice_combo(
        self, object_name: str, name: str, choices: Iterable[tuple[Any, str]]
    ) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(object_name)
        for value, text in choices:
            combo.addItem(text, value)
        self._describe(combo, name)
        return combo

    def _button(self, object_name: str, text: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(object_name)
        button.setAccessibleName(text)
        button.setAutoDefault(False)
        return button

    def _note(self, object_name: str, accessible: str) -> QLabel:
        label = NoteLabel(self)
        label.setObjectName(object_name)
        label.setAccessibleName(accessible)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Layouts ask a widget's size policy, not the label, whether its height depends on its
        # width; without this a wrapped message gets the height of a narrow guess.
        policy = label.sizePolicy()
        policy.setHeightForWidth(True)
        label.setSizePolicy(policy)
        label.hide()
        return label

    # Showing

    def load(self) -> None:
        """Fill the fields from the saved settings, dropping unsaved edits and messages."""
        settings = self._store.current
        self.key_edit.clear()
        self.base_url_edit.setText(settings.base_url)
        self.organization_edit.setText(settings.organization)
        self.project_edit.setText(settings.project)
        if self.model_combo.findText(settings.default_model) < 0:
            self.model_combo.insertItem(0, settings.default_model)
        self.model_combo.setCurrentText(settings.default_model)
        self.send_combo.setCurrentIndex(self.send_combo.findData(settings.send_shortcut))
        self.theme_combo.setCurrentIndex(self.theme_combo.findData(settings.theme))
        self.quick_ask.load(settings)
        budget = settings.monthly_budget_usd
        self.budget_edit.setText("" if budget is None else f"{budget:.2f}")
        self.hard_limit_check.setChecked(settings.budget_hard_limit)
        for label in self.errors.values():
            self._say(label, "")
        self._say(self.status_label, "")
        self._say(self.test_result_label, "")
        session = self._session_base_url
        if session and session.rstrip("/") != settings.base_url:
            self._say(
                self.session_note,
                f"This session uses {session} (from --base-url or OPENAI_BASE_URL); the base URL "
                "saved here applies when Chatdesk starts without it.",
                Tone.MUTED,
            )
        else:
            self._say(self.session_note, "")

    def open_at(self, field: str = "") -> None:
        """Show the dialog (fresh if it was closed) with the keyboard focus on `field`."""
        if not self.isVisible():
            self.load()
            self.refresh_key_status()
        if self.isVisible():
            # Already open, perhaps behind the window: bring it forward.
            self.raise_()
        self.show()
        self.activateWindow()
        target = {
            KEY_FIELD: self.key_edit,
            "base_url": self.base_url_edit,
            "theme": self.theme_combo,
            "hotkey": self.quick_ask.hotkey_edit,
            "send_shortcut": self.send_combo,
            "monthly_budget_usd": self.budget_edit,
        }.get(field, self.key_edit)
        target.setFocus(Qt.FocusReason.OtherFocusReason)

    def refresh_key_status(self) -> None:
        self._track(self.update_key_status())

    @property
    def busy(self) -> bool:
        """Whether a save, delete, test or keyring look-up is still running."""
        return any(not task.done() for task in self._pending)

    # Slots

    def on_save_button_clicked(self) -> None:
        self._track(_ignore_result(self.save()))

    def on_delete_key_button_clicked(self) -> None:
        self._track(self.delete_key())

    def on_test_button_clicked(self) -> None:
        self._track(_ignore_result(self.test_connection()))

    def on_show_key_button_toggled(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.key_edit.setEchoMode(mode)
        self.show_key_button.setText("Hide" if shown else "Show")

    def on_base_url_edit_editing_finished(self) -> None:
        with contextlib.suppress(InvalidSetting):
            check_base_url(self.base_url_edit.text())
            self.refresh_key_status()

    # The work, as coroutines tests can await

    async def save(self) -> bool:
        """Check everything, then store the key (if one was entered) and save the settings."""
        values = self._checked_values()
        key_valid, key = self._checked_key()
        if values is None or not key_valid:
            self._say(self.status_label, "Nothing was saved: fix the marked fields.", Tone.ERROR)
            return False
        self._set_busy(True)
        try:
            if key:
                base_url = str(values["base_url"])
                keys = self._keys

                # A closure, not arguments: the executor logs its arguments at debug level.
                def store() -> KeyDescription:
                    return keys.store_key(base_url, key)

                try:
                    described = await asyncio.get_running_loop().run_in_executor(None, store)
                except UserFacingError as problem:
                    self._say(self.key_error_label, problem_text(problem), Tone.ERROR)
                    self._say(self.status_label, "Nothing was saved.", Tone.ERROR)
                    return False
                self.key_edit.clear()
            try:
                self._store.update(**values)
            except UserFacingError as problem:
                stored = "The key was stored, but the settings were not saved: " if key else ""
                self._say(self.status_label, stored + problem_text(problem), Tone.ERROR)
                return False
        finally:
            self._set_busy(False)
        if key:
            self._say(self.status_label, f"Saved; stored the {described}.", Tone.SUCCESS)
            self.key_changed.emit()
        else:
            self._say(self.status_label, "Saved.", Tone.SUCCESS)
        await self.update_key_status()
        return True

    async def delete_key(self) -> None:
        """Remove the stored key for the base URL shown."""
        base_url = self._status_base_url()
        self._set_busy(True)
        try:
            deleted = await asyncio.get_running_loop().run_in_executor(
                None, self._keys.delete_key, base_url
            )
        except UserFacingError as problem:
            self._say(self.key_error_label, problem_text(problem), Tone.ERROR)
            return
        finally:
            self._set_busy(False)
        self._say(
            self.status_label,
            f"Deleted the key stored for {base_url}."
            if deleted
            else f"No key was stored for {base_url}.",
            Tone.SUCCESS if deleted else Tone.MUTED,
        )
        if deleted:
            self.key_changed.emit()
        await self.update_key_status()

    async def update_key_status(self) -> None:
        """Show which key is in use for the base URL shown, and where it comes from."""
        self._status_generation += 1
        generation = self._status_generation
        base_url = self._status_base_url()
        if not self.key_status_label.text():
            self._say(self.key_status_label, "Looking up the key…", Tone.MUTED)
        status = await asyncio.get_running_loop().run_in_executor(
            None, read_key_status, self._keys, base_url
        )
        if generation != self._status_generation:
            return  # a newer look-up (another base URL) is under way
        tone = Tone.ERROR if status.unavailable is not None else Tone.NORMAL
        self._say(self.key_status_label, key_status_text(status), tone)
        self._has_stored_key = status.stored is not None
        self.delete_key_button.setEnabled(self._has_stored_key and not self._busy_saving)

    async def test_connection(self) -> bool:
        """List the server's models with the key and connection fields as entered."""
        values = self._checked_values(only=CONNECTION_FIELDS)
        key_valid, key = self._checked_key()
        if values is None or not key_valid:
            self._say(self.test_result_label, "Fix the marked fields first.", Tone.ERROR)
            return False
        base_url = str(values["base_url"])
        self.test_button.setEnabled(False)
        self._say(self.test_result_label, f"Connecting to {base_url}…", Tone.MUTED)
        keys, timeout_s = self._keys, min(TEST_TIMEOUT_S, self._store.current.request_timeout_s)

        def configure() -> ConnectionConfig | None:
            return connection_to_test(keys, key, values, timeout_s)

        try:
            # A closure, not arguments: the executor logs its arguments at debug level.
            config = await asyncio.get_running_loop().run_in_executor(None, configure)
            if config is None:
                self._say(
                    self.test_result_label,
                    f"No API key to test with: paste one above or set {ENV_VAR}.",
                    Tone.ERROR,
                )
                return False
            client = self._client_factory(config)
            try:
                models = await client.list_models()
            finally:
                await client.aclose()
        except ApiFailure as failure:
            self._say(self.test_result_label, failure_text(failure, base_url), Tone.ERROR)
            return False
        except UserFacingError as problem:
            self._say(self.test_result_label, problem_text(problem), Tone.ERROR)
            return False
        finally:
            self.test_button.setEnabled(True)
        self._say(
            self.test_result_label,
            success_text(base_url, models, self.model_combo.currentText()),
            Tone.SUCCESS,
        )
        for model in models:
            if self.model_combo.findText(model) < 0:
                self.model_combo.addItem(model)
        return True

    # Helpers

    def _checked_values(self, only: frozenset[str] | None = None) -> dict[str, object] | None:
        """The fields' values as settings; None (with the problems shown) if any is invalid."""
        raw: dict[str, object] = {
            "base_url": self.base_url_edit.text(),
            "organization": self.organization_edit.text(),
            "project": self.project_edit.text(),
            "default_model": self.model_combo.currentText(),
            "send_shortcut": self.send_combo.currentData(),
            "theme": self.theme_combo.currentData(),
            **self.quick_ask.values(),
            "monthly_budget_usd": self.budget_edit.text(),
            "budget_hard_limit": self.hard_limit_check.isChecked(),
        }
        values: dict[str, object] = {}
        valid = True
        for name, value in raw.items():
            if only is not None and name not in only:
                continue
            try:
                values[name] = _CHECKS[name](value)
            except InvalidSetting as problem:
                self._say(self.errors[name], problem_text(problem), Tone.ERROR)
                valid = False
            else:
                self._say(self.errors[name], "")
        return values if valid else None

    def _checked_key(self) -> tuple[bool, str]:
        """Whether the key field is valid, and the key ready to store ("" when left empty)."""
        text = self.key_edit.text()
        if not text.strip():
            self._say(self.key_error_label, "")
            return True, ""
        try:
            key = validate_new_key(text)
        except UserFacingError as problem:
            self._say(self.key_error_label, problem_text(problem), Tone.ERROR)
            return False, ""
        self._say(self.key_error_label, "")
        if self._registry is not None:
            # Even a key that is only tested must never reach a log line unmasked.
            self._registry.add(key)
        return True, key

    def _status_base_url(self) -> str:
        try:
            return check_base_url(self.base_url_edit.text())
        except InvalidSetting:
            return self._store.current.base_url

    def _set_busy(self, busy: bool) -> None:
        self._busy_saving = busy
        self.save_button.setEnabled(not busy)
        self.delete_key_button.setEnabled(not busy and self._has_stored_key)

    def show_hotkey_status(self, text: str, tone: Tone = Tone.NORMAL) -> None:
        """Say whether the global hotkey works here, and what to do where it does not."""
        self._say(self.hotkey_status_label, text, tone)

    def _say(self, label: QLabel, text: str, tone: Tone = Tone.NORMAL) -> None:
        label.setText(text)
        label.setAccessibleDescription(text)
        set_tone(label, tone)
        form = self._note_rows.get(label)
        if form is not None:
            form.setRowVisible(label, bool(text))
        else:
            label.setVisible(bool(text))
        if text and self.isVisible():
            # After the layouts have taken the message in: their size hints are stale until then.
            QTimer.singleShot(0, self, functools.partial(self._grow_to_fit, label))

    def _fitting_height(self) -> int:
        """The height that shows every field and message without scrolling."""
        margins = self._column.contentsMargins()
        return (
            self._content.sizeHint().height()
            + self._buttons_row.sizeHint().height()
            + self._column.spacing()
            + margins.top()
            + margins.bottom()
        )

    def _grow_to_fit(self, label: QLabel) -> None:
        wanted = self._fitting_height()
        screen = self.screen()
        if screen is not None:
            wanted = min(wanted, screen.availableGeometry().height())
        if wanted > self.height():
            self.resize(self.width(), wanted)
        if label.isVisible():
            self.scroll_area.ensureWidgetVisible(label)

    def _track(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        if self._track_with is not None:
            task = self._track_with(coroutine)
        else:
            task = asyncio.ensure_future(coroutine)
            task.add_done_callback(_report_failure)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    # Closing keeps no secret: the key field is emptied whenever the dialog goes away.

    def hideEvent(self, event: QHideEvent) -> None:
        self.key_edit.clear()
        self.show_key_button.setChecked(False)
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.key_edit.clear()
        super().closeEvent(event)


async def _ignore_result(coroutine: Coroutine[Any, Any, object]) -> None:
    await coroutine


def _report_failure(task: asyncio.Task[None]) -> None:
    report_bug(task)
