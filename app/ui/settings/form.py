"""The generated part of the settings dialog: a box per group, a widget and a note per setting.

Everything here comes from the settings' metadata (`dialog_settings()`): which settings are
shown, in which group and order, with which kind of widget, label and explanation. A new setting
with a group appears in the dialog, is loaded, checked and saved, with no code here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QWidget

from app.core.settings import (
    Group,
    Settings,
    check_setting,
    dialog_settings,
)
from app.core.settings_checks import InvalidSetting
from app.core.settings_keys import problem_text
from app.ui.settings.fields import (
    CheckField,
    ModelField,
    NoteLabel,
    Notes,
    SettingWidget,
    buddy,
    new_form,
    setting_widget,
)
from app.ui.widgets.theme import Tone

# Rows written by hand, added to a group's form where they belong.
AddRows = Callable[[QFormLayout], None]
_W = TypeVar("_W", bound=QWidget)


class SettingsForm:
    """The settings' widgets and problem notes (children of `dialog`), in the order shown."""

    def __init__(self, dialog: QWidget, notes: Notes, models: Sequence[str]) -> None:
        self._dialog = dialog
        self._notes = notes
        self._groups = dialog_settings()
        self.fields: dict[str, SettingWidget] = {}
        self.errors: dict[str, QLabel] = {}
        for info in itertools.chain.from_iterable(self._groups.values()):
            self.fields[info.name] = setting_widget(info, dialog, models)
            self.errors[info.name] = NoteLabel(dialog, f"{info.name}Error", f"{info.label} problem")

    def widget(self, name: str, kind: type[_W]) -> _W:
        """The widget of setting `name`, as the kind of widget its caller expects."""
        widget = self.fields[name]
        assert isinstance(widget, kind), (name, kind)
        return widget

    def boxes(
        self, heads: Mapping[Group, AddRows], after: Mapping[str, AddRows]
    ) -> list[QGroupBox]:
        """A box per group; `heads` add a group's first rows, `after` the rows after a field."""
        return [
            self._box(group, heads.get(group), after)
            for group in self._groups
            if self._groups[group]
        ]

    def _box(self, group: Group, head: AddRows | None, after: Mapping[str, AddRows]) -> QGroupBox:
        form = new_form()
        if head is not None:
            head(form)
        for info in self._groups[group]:
            widget = self.fields[info.name]
            if isinstance(widget, CheckField):
                form.addRow("", widget)  # a check box carries its own label
            else:
                form.addRow(buddy(self._dialog, info.caption, widget), widget)
            self._notes.add(form, self.errors[info.name])
            if info.name in after:
                after[info.name](form)
        box = QGroupBox(group.value, self._dialog)
        box.setLayout(form)
        return box

    def load(self, settings: Settings) -> None:
        """Show `settings`, with no problem notes."""
        for name, widget in self.fields.items():
            widget.load(getattr(settings, name))
            self._notes.say(self.errors[name], "")

    def checked_values(self, only: frozenset[str] | None = None) -> dict[str, object] | None:
        """The fields' values as settings; None (with the problems shown) if any is invalid."""
        values: dict[str, object] = {}
        valid = True
        for name, widget in self.fields.items():
            if only is not None and name not in only:
                continue
            try:
                values[name] = check_setting(name, widget.raw())
            except InvalidSetting as problem:
                self._notes.say(self.errors[name], problem_text(problem), Tone.ERROR)
                valid = False
            else:
                self._notes.say(self.errors[name], "")
        return values if valid else None

    def offer_models(self, models: Sequence[str]) -> None:
        """Add a server's `models` to every model picker's choices."""
        for widget in self.fields.values():
            if isinstance(widget, ModelField):
                widget.offer(models)
