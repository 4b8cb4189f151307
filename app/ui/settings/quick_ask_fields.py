"""The settings dialog's quick-ask group: its generated fields by name, and the hotkey's status.

The fields themselves (the hotkey, the quick-ask model, keeping to the tray) are generated from
the settings' metadata like every other; what is written by hand here is the note under the
hotkey saying whether a global hotkey works on this desktop, and what to bind where it cannot.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtWidgets import QFormLayout, QWidget

from app.ui.settings.fields import (
    CheckField,
    LineField,
    ModelField,
    NoteLabel,
    Notes,
    SettingWidget,
)
from app.ui.widgets.theme import Tone


class QuickAskFields:
    """The group's widgets (children of the dialog), under the names its callers use."""

    def __init__(self, dialog: QWidget, fields: Mapping[str, SettingWidget], notes: Notes) -> None:
        hotkey, model, tray = fields["hotkey"], fields["quick_ask_model"], fields["close_to_tray"]
        assert isinstance(hotkey, LineField)
        assert isinstance(model, ModelField)
        assert isinstance(tray, CheckField)
        self.hotkey_edit, self.model_combo, self.close_to_tray_check = hotkey, model, tray
        self._notes = notes
        self.hotkey_status_label = NoteLabel(dialog, "hotkeyStatusLabel", "Hotkey status")

    def add_hotkey_status(self, form: QFormLayout) -> None:
        """The hotkey's status, under its field."""
        self._notes.add(form, self.hotkey_status_label)

    def show_hotkey_status(self, text: str, tone: Tone = Tone.NORMAL) -> None:
        """Say whether the global hotkey works here, and what to do where it does not."""
        self._notes.say(self.hotkey_status_label, text, tone)
