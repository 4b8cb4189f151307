"""The settings dialog's building blocks: one widget per kind of setting, and the notes under
fields (problems, statuses) that take no room while they are empty.

Each setting widget is built from the setting's metadata (`app.core.settings.SettingInfo`): its
kind picks the class, and its label, doc and placeholder name and explain it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.core.settings import SettingInfo, Widget
from app.ui.widgets.theme import Tone, set_tone


def describe(widget: QWidget, info: SettingInfo) -> None:
    """Name and explain `widget` for screen readers and tooltips, as its setting does."""
    widget.setAccessibleName(info.label)
    widget.setAccessibleDescription(info.doc)
    widget.setToolTip(info.doc)


def object_name(info: SettingInfo, suffix: str) -> str:
    """`base_url` with "Edit" → "baseUrlEdit": names styles and test failures can refer to."""
    first, *rest = info.name.split("_")
    return first + "".join(part.title() for part in rest) + suffix


class LineField(QLineEdit):
    """A setting typed as one line of text."""

    def __init__(self, info: SettingInfo, parent: QWidget, models: Sequence[str] = ()) -> None:
        super().__init__(parent)
        self.setObjectName(object_name(info, "Edit"))
        self.setClearButtonEnabled(True)
        self.setPlaceholderText(info.placeholder)
        describe(self, info)

    def load(self, value: object) -> None:
        self.setText(str(value))

    def raw(self) -> object:
        return self.text()


class AmountField(LineField):
    """Dollars as text, shown to the cent; empty for no amount."""

    def load(self, value: object) -> None:
        self.setText("" if value is None else f"{value:.2f}")


class ModelField(QComboBox):
    """A model name: one of the known models, or any other the user types."""

    def __init__(self, info: SettingInfo, parent: QWidget, models: Sequence[str] = ()) -> None:
        super().__init__(parent)
        self.setObjectName(object_name(info, "Combo"))
        self.setEditable(True)
        self.addItems(list(models))
        describe(self, info)
        editor = self.lineEdit()
        if editor is not None:
            # The editable part is what takes the focus: screen readers name it too.
            editor.setAccessibleName(info.label)

    def offer(self, models: Sequence[str]) -> None:
        """Add `models` (a server's) to the choices, keeping those already there."""
        for model in models:
            if self.findText(model) < 0:
                self.addItem(model)

    def load(self, value: object) -> None:
        text = str(value)
        if self.findText(text) < 0:
            self.insertItem(0, text)
        self.setCurrentText(text)

    def raw(self) -> object:
        return self.currentText()


class ChoiceField(QComboBox):
    """One of the setting's choices, each shown in words."""

    def __init__(self, info: SettingInfo, parent: QWidget, models: Sequence[str] = ()) -> None:
        super().__init__(parent)
        self.setObjectName(object_name(info, "Combo"))
        for value, text in info.choices:
            self.addItem(text, value)
        describe(self, info)

    def load(self, value: object) -> None:
        self.setCurrentIndex(self.findData(value))

    def raw(self) -> object:
        return self.currentData()


class CheckField(QCheckBox):
    """A yes or no setting, labelled with its label."""

    def __init__(self, info: SettingInfo, parent: QWidget, models: Sequence[str] = ()) -> None:
        super().__init__(info.label, parent)
        self.setObjectName(object_name(info, "Check"))
        describe(self, info)

    def load(self, value: object) -> None:
        self.setChecked(bool(value))

    def raw(self) -> object:
        return self.isChecked()


SettingWidget = LineField | ModelField | ChoiceField | CheckField
_KINDS: dict[Widget, Callable[[SettingInfo, QWidget, Sequence[str]], SettingWidget]] = {
    Widget.TEXT: LineField,
    Widget.AMOUNT: AmountField,
    Widget.MODEL: ModelField,
    Widget.CHOICE: ChoiceField,
    Widget.CHECK: CheckField,
}


def setting_widget(info: SettingInfo, parent: QWidget, models: Sequence[str]) -> SettingWidget:
    """The widget that edits `info`'s setting, as its kind says; `models` fill model pickers."""
    return _KINDS[info.widget](info, parent, models)


def make_button(parent: QWidget, name: str, text: str) -> QPushButton:
    button = QPushButton(text, parent)
    button.setObjectName(name)
    button.setAccessibleName(text)
    # Enter in a field saves (the Save button is the default); no other button may take it.
    button.setAutoDefault(False)
    return button


def buddy(parent: QWidget, text: str, field: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setBuddy(field)
    return label


def new_form() -> QFormLayout:
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    form.setVerticalSpacing(6)
    return form


class NoteLabel(QLabel):
    """A wrapped message under a field, as tall as its text needs at the width it is given.

    QLabel's own size hint guesses a narrow, tall shape for wrapped text, and form layouts take
    that guess: the message would float in empty space.
    """

    def __init__(self, parent: QWidget, name: str, accessible: str) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setAccessibleName(accessible)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Layouts ask a widget's size policy, not the label, whether its height depends on its
        # width; without this a wrapped message gets the height of a narrow guess.
        policy = self.sizePolicy()
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.hide()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.width() <= hint.width():
            return hint
        return QSize(hint.width(), self.heightForWidth(self.width()))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.height() != self.heightForWidth(self.width()):
            self.updateGeometry()


class Notes:
    """Shows and hides the notes under fields; `shown(label)` is called after a note appears."""

    def __init__(self, shown: Callable[[QLabel], None]) -> None:
        self._shown = shown
        self._rows: dict[QLabel, QFormLayout] = {}

    def add(self, form: QFormLayout, label: QLabel) -> None:
        """Put `label` on a row of its own in `form`, hidden until it has something to say."""
        # Hiding the whole row, not just the label, leaves no gap while it is empty.
        form.addRow("", label)
        form.setRowVisible(label, False)
        self._rows[label] = form

    def say(self, label: QLabel, text: str, tone: Tone = Tone.NORMAL) -> None:
        label.setText(text)
        label.setAccessibleDescription(text)
        set_tone(label, tone)
        form = self._rows.get(label)
        if form is not None:
            form.setRowVisible(label, bool(text))
        else:
            label.setVisible(bool(text))
        if text:
            self._shown(label)
