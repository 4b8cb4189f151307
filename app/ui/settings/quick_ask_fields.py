"""The settings dialog's quick-ask fields: the hotkey, the quick-ask model, keeping to the tray."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QWidget

from app.core.settings import Settings

QUICK_ASK_FIELDS = ("hotkey", "quick_ask_model", "close_to_tray")


class QuickAskFields:
    """The fields' widgets (children of the dialog), filled from and read into settings."""

    def __init__(
        self,
        dialog: QWidget,
        models: Iterable[str],
        describe: Callable[[QWidget, str], None],
    ) -> None:
        self.hotkey_edit = QLineEdit(dialog)
        self.hotkey_edit.setObjectName("hotkeyEdit")
        self.hotkey_edit.setClearButtonEnabled(True)
        self.hotkey_edit.setPlaceholderText("e.g. ctrl+alt+space (empty: no global hotkey)")
        describe(self.hotkey_edit, "hotkey")
        self.model_combo = QComboBox(dialog)
        self.model_combo.setObjectName("quickAskModelCombo")
        self.model_combo.setEditable(True)
        self.model_combo.addItems(list(models))
        describe(self.model_combo, "quick_ask_model")
        model_edit = self.model_combo.lineEdit()
        if model_edit is not None:
            # The editable part is what takes the focus: screen readers name it too.
            model_edit.setAccessibleName(self.model_combo.accessibleName())
        self.close_to_tray_check = QCheckBox(Settings.describe("close_to_tray")[0], dialog)
        self.close_to_tray_check.setObjectName("closeToTrayCheck")
        describe(self.close_to_tray_check, "close_to_tray")

    @property
    def widgets(self) -> list[QWidget]:
        """In tab order."""
        return [self.hotkey_edit, self.model_combo, self.close_to_tray_check]

    def load(self, settings: Settings) -> None:
        self.hotkey_edit.setText(settings.hotkey)
        if self.model_combo.findText(settings.quick_ask_model) < 0:
            self.model_combo.insertItem(0, settings.quick_ask_model)
        self.model_combo.setCurrentText(settings.quick_ask_model)
        self.close_to_tray_check.setChecked(settings.close_to_tray)

    def values(self) -> dict[str, object]:
        """The raw values, for the dialog to check and save with the others."""
        return {
            "hotkey": self.hotkey_edit.text(),
            "quick_ask_model": self.model_combo.currentText(),
            "close_to_tray": self.close_to_tray_check.isChecked(),
        }
