"""The settings dialog, generated from the settings' metadata, with the API key on top.

Non-modal: the window stays usable while it is open. The settings' fields are generated from
their metadata (`form.py`, with a widget per kind in `fields.py`). What is more than a setting
is written by hand and placed in its group: the API key and Test connection (`api_key.py`), the
note on the base URL this session uses, the hotkey's status (`quick_ask_fields.py`).

Save checks every field first and saves nothing while any is invalid; each problem is shown
under its field. The key is stored before the settings file is written, since the keyring is
the step that can fail for reasons outside Chatdesk; the dialog keeps no copy of it once saved
or closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QHideEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.problems import UserFacingError
from app.core.redact import SecretRegistry
from app.core.secrets import KeyResolver
from app.core.settings import CONNECTION_FIELDS, Group
from app.core.settings_checks import InvalidSetting, check_base_url
from app.core.settings_keys import TEST_TIMEOUT_S, problem_text
from app.core.settings_store import SettingsStore
from app.ui.settings.api_key import ApiKeySection, ConnectionTester
from app.ui.settings.fields import NoteLabel, Notes, make_button
from app.ui.settings.form import SettingsForm
from app.ui.settings.quick_ask_fields import QuickAskFields
from app.ui.tasks import report_bug
from app.ui.widgets.theme import Tone

Track = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]

KEY_FIELD = "api_key"


class SettingsDialog(QDialog):
    """Edit the settings; `key_changed` is emitted after a key was stored or deleted.

    Test connection runs through `tester` (the session's `Connection.test_connection`): the
    dialog never builds a client itself.
    """

    key_changed = Signal()

    def __init__(
        self,
        store: SettingsStore,
        keys: KeyResolver,
        *,
        tester: ConnectionTester,
        models: Iterable[str] = (),
        session_base_url: str | None = None,
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
        self._session_base_url = session_base_url
        self._track_with = track
        self._pending: set[asyncio.Task[None]] = set()
        self._notes = Notes(self._on_note_shown)
        self.key = ApiKeySection(self, keys, self._notes, tester=tester, registry=registry)
        self._build(list(models))
        self.load()

    # Building

    def _build(self, models: Sequence[str]) -> None:
        key = self.key
        # The key section's widgets, by the names the dialog's callers know them by.
        self.key_edit, self.show_key_button = key.edit, key.show_button
        self.key_status_label, self.key_error_label = key.status_label, key.error_label
        self.delete_key_button, self.test_button = key.delete_button, key.test_button
        self.test_result_label = key.test_result_label
        key.delete_button.clicked.connect(self.on_delete_key_button_clicked)
        key.test_button.clicked.connect(self.on_test_button_clicked)

        self.form = form = SettingsForm(self, self._notes, models)
        self.fields = form.fields
        self.errors: dict[str, QLabel] = {KEY_FIELD: key.error_label, **form.errors}
        self.session_note = NoteLabel(self, "sessionBaseUrlNote", "Base URL in use")
        self.quick_ask = QuickAskFields(self, form.fields, self._notes)
        self.hotkey_status_label = self.quick_ask.hotkey_status_label
        boxes = form.boxes(
            heads={Group.CONNECTION: key.add_rows},
            after={
                "base_url": functools.partial(self._notes.add, label=self.session_note),
                "hotkey": self.quick_ask.add_hotkey_status,
            },
        )
        # The generated fields by the names the dialog's callers know them by.
        self.base_url_edit = form.widget("base_url", QLineEdit)
        self.base_url_edit.editingFinished.connect(self.on_base_url_edit_editing_finished)
        self.organization_edit = form.widget("organization", QLineEdit)
        self.project_edit = form.widget("project", QLineEdit)
        self.model_combo = form.widget("default_model", QComboBox)
        self.send_combo = form.widget("send_shortcut", QComboBox)
        self.theme_combo = form.widget("theme", QComboBox)
        self.budget_edit = form.widget("monthly_budget_usd", QLineEdit)
        self.hard_limit_check = form.widget("budget_hard_limit", QCheckBox)

        self.status_label = NoteLabel(self, "saveStatusLabel", "Save result")
        # Plain buttons: a QDialogButtonBox keeps Tab cycling between its own buttons.
        self.save_button = make_button(self, "saveButton", "Save")
        self.save_button.setToolTip("Check every field, then store the key and save the settings")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.on_save_button_clicked)
        self.close_button = make_button(self, "closeButton", "Close")
        self.close_button.clicked.connect(self.close)
        self._lay_out(boxes)

    def _lay_out(self, boxes: list[QGroupBox]) -> None:
        content = QWidget(self)
        content.setObjectName("settingsContent")
        fields_column = QVBoxLayout(content)
        fields_column.setContentsMargins(16, 16, 16, 8)
        fields_column.setSpacing(12)
        for box in boxes:
            fields_column.addWidget(box)
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

        order = [*self.key.widgets, *self.fields.values(), self.save_button, self.close_button]
        # A closed ring: the button box would otherwise keep Tab cycling between its buttons.
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)
        # An explicit minimum: otherwise the layout would reset it whenever a message appears.
        self.setMinimumSize(480, 320)
        self.resize(640, self._fitting_height())

    # Showing

    def load(self) -> None:
        """Fill the fields from the saved settings, dropping unsaved edits and messages."""
        settings = self._store.current
        self.key.reset()
        self.form.load(settings)
        self._notes.say(self.status_label, "")
        session = self._session_base_url
        if session and session.rstrip("/") != settings.base_url:
            self._notes.say(
                self.session_note,
                f"This session uses {session} (from --base-url or OPENAI_BASE_URL); the base URL "
                "saved here applies when Chatdesk starts without it.",
                Tone.MUTED,
            )
        else:
            self._notes.say(self.session_note, "")

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
        target: QWidget = self.fields.get(field, self.key_edit)
        target.setFocus(Qt.FocusReason.OtherFocusReason)

    def refresh_key_status(self) -> None:
        self._track(self.update_key_status())

    def show_hotkey_status(self, text: str, tone: Tone = Tone.NORMAL) -> None:
        """Say whether the global hotkey works here, and what to do where it does not."""
        self.quick_ask.show_hotkey_status(text, tone)

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

    def on_base_url_edit_editing_finished(self) -> None:
        with contextlib.suppress(InvalidSetting):
            check_base_url(self.base_url_edit.text())
            self.refresh_key_status()

    # The work, as coroutines tests can await

    async def save(self) -> bool:
        """Check everything, then store the key (if one was entered) and save the settings."""
        values = self.form.checked_values()
        key_valid, key = self.key.checked_key()
        if values is None or not key_valid:
            self._notes.say(
                self.status_label, "Nothing was saved: fix the marked fields.", Tone.ERROR
            )
            return False
        self._set_busy(True)
        try:
            described = None
            if key:
                described = await self.key.store(str(values["base_url"]), key)
                if described is None:
                    self._notes.say(self.status_label, "Nothing was saved.", Tone.ERROR)
                    return False
            try:
                self._store.update(**values)
            except UserFacingError as problem:
                stored = "The key was stored, but the settings were not saved: " if key else ""
                self._notes.say(self.status_label, stored + problem_text(problem), Tone.ERROR)
                return False
        finally:
            self._set_busy(False)
        if described is not None:
            self._notes.say(self.status_label, f"Saved; stored the {described}.", Tone.SUCCESS)
            self.key_changed.emit()
        else:
            self._notes.say(self.status_label, "Saved.", Tone.SUCCESS)
        await self.update_key_status()
        return True

    async def delete_key(self) -> None:
        """Remove the stored key for the base URL shown."""
        base_url = self._status_base_url()
        self._set_busy(True)
        try:
            deleted = await self.key.delete(base_url)
        finally:
            self._set_busy(False)
        if deleted is None:
            return
        self._notes.say(
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
        await self.key.update_status(self._status_base_url())

    async def test_connection(self) -> bool:
        """List the server's models with the key and connection fields as entered."""
        values = self.form.checked_values(only=CONNECTION_FIELDS)
        key_valid, key = self.key.checked_key()
        if values is None or not key_valid:
            self._notes.say(self.test_result_label, "Fix the marked fields first.", Tone.ERROR)
            return False
        timeout_s = min(TEST_TIMEOUT_S, self._store.current.request_timeout_s)
        models = await self.key.test(key, values, timeout_s, self.model_combo.currentText())
        if models is None:
            return False
        self.form.offer_models(models)
        return True

    # Helpers

    def _status_base_url(self) -> str:
        try:
            return check_base_url(self.base_url_edit.text())
        except InvalidSetting:
            return self._store.current.base_url

    def _set_busy(self, busy: bool) -> None:
        self.save_button.setEnabled(not busy)
        self.key.set_busy(busy)

    def _on_note_shown(self, label: QLabel) -> None:
        if self.isVisible():
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
            task.add_done_callback(report_bug)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    # Closing keeps no secret: the key field is emptied whenever the dialog goes away.

    def hideEvent(self, event: QHideEvent) -> None:
        self.key.forget()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.key_edit.clear()
        super().closeEvent(event)


async def _ignore_result(coroutine: Coroutine[Any, Any, object]) -> None:
    await coroutine
