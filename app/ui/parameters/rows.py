"""The small building blocks of the parameter panel: a slider row and value formatting."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QSlider, QWidget

from app.core.params import NumericRange

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\"}


def decode_stop(text: str) -> str:
    """A stop sequence as typed (\\n, \\t, \\\\ escapes) to the text that is sent."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), text)


def encode_stop(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def show_unset(widget: QWidget, unset: bool) -> None:
    """Grey a readout's text while it only shows the API's default."""
    if unset:
        palette = widget.palette()
        palette.setColor(QPalette.ColorRole.Text, palette.color(QPalette.ColorRole.PlaceholderText))
        widget.setPalette(palette)
    else:
        widget.setPalette(QPalette())


def describe_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return name
    if isinstance(value, tuple):
        return f"{name}={list(value)!r}"
    if isinstance(value, float):
        return f"{name}={value:g}"
    return f"{name}={getattr(value, 'value', value)}"


class NumberRow:
    """Slider, numeric readout and Reset for one of `RANGES`."""

    def __init__(
        self, spec: NumericRange, edited: Callable[[str, float | None], None], parent: QWidget
    ) -> None:
        self.name = spec.param.value
        self.spec = spec
        self._edited = edited
        self._scale = round(1 / spec.step)
        self.label = QLabel(spec.label, parent)
        self.slider = QSlider(Qt.Orientation.Horizontal, parent)
        self.slider.setObjectName(f"{self.name}Slider")
        self.slider.setAccessibleName(spec.label)
        self.slider.setRange(round(spec.minimum * self._scale), round(spec.maximum * self._scale))
        self.slider.setPageStep(max(1, self._scale // 10))
        self.slider.setMinimumWidth(90)
        self.spin = QDoubleSpinBox(parent)
        self.spin.setObjectName(f"{self.name}Spin")
        self.spin.setAccessibleName(spec.label)
        self.spin.setRange(spec.minimum, spec.maximum)
        self.spin.setSingleStep(spec.step)
        self.spin.setDecimals(2)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.label.setBuddy(self.spin)
        self.slider.valueChanged.connect(self.on_slider_value_changed)
        self.spin.valueChanged.connect(self.on_spin_value_changed)

    @property
    def widgets(self) -> list[QWidget]:
        return [self.label, self.slider, self.spin]

    def show_value(self, value: float | None) -> None:
        shown = self.spec.api_default if value is None else value
        for widget in (self.slider, self.spin):
            widget.blockSignals(True)
        self.spin.setValue(shown)
        self.slider.setValue(round(shown * self._scale))
        for widget in (self.slider, self.spin):
            widget.blockSignals(False)

    def on_slider_value_changed(self, position: int) -> None:
        value = round(position / self._scale, 4)
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)
        self._edited(self.name, value)

    def on_spin_value_changed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * self._scale))
        self.slider.blockSignals(False)
        self._edited(self.name, round(value, 4))
