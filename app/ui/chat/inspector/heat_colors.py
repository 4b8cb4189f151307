"""The heat-map's colours: a ramp from "certain" to "unlikely", even to the eye, in both themes.

The ramp runs in OKLCH, where equal steps of lightness and chroma look like equal steps, from a
faint warm tint (a near-certain token) to a strong coral (an unlikely one). In a light theme the
hot end is darker than the base, in a dark theme lighter; either way it moves away from the
base, and every step keeps the theme's text readable on it (WCAG AA, tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

# Colours per ramp: tokens are tinted with the nearest of these (one text format each).
STEPS = 40


@dataclass(frozen=True)
class _End:
    lightness: float
    chroma: float
    hue: float


@dataclass(frozen=True)
class HeatRamp:
    """Maps a probability to a background colour for one theme."""

    certain: _End
    unlikely: _End

    @classmethod
    def for_palette(cls, palette: QPalette) -> HeatRamp:
        dark = palette.color(QPalette.ColorRole.Base).lightnessF() < 0.5
        return DARK_RAMP if dark else LIGHT_RAMP

    def level(self, probability: float) -> int:
        """The ramp step for `probability`: 0 for certain, `STEPS` for impossible."""
        return round((1.0 - min(max(probability, 0.0), 1.0)) * STEPS)

    def color(self, probability: float) -> QColor:
        return self.color_at(self.level(probability))

    def color_at(self, level: int) -> QColor:
        t = min(max(level, 0), STEPS) / STEPS
        a, b = self.certain, self.unlikely
        red, green, blue = oklch_to_srgb(
            a.lightness + (b.lightness - a.lightness) * t,
            a.chroma + (b.chroma - a.chroma) * t,
            a.hue + (b.hue - a.hue) * t,
        )
        return QColor.fromRgbF(red, green, blue)


LIGHT_RAMP = HeatRamp(_End(0.975, 0.03, 95.0), _End(0.72, 0.15, 28.0))
DARK_RAMP = HeatRamp(_End(0.28, 0.03, 85.0), _End(0.50, 0.13, 25.0))


def oklch_to_srgb(lightness: float, chroma: float, hue: float) -> tuple[float, float, float]:
    """An OKLCH colour (hue in degrees) as sRGB channels in 0..1, clipped to the gamut."""
    a = chroma * math.cos(math.radians(hue))
    b = chroma * math.sin(math.radians(hue))
    l_ = (lightness + 0.3963377774 * a + 0.2158037573 * b) ** 3
    m_ = (lightness - 0.1055613458 * a - 0.0638541728 * b) ** 3
    s_ = (lightness - 0.0894841775 * a - 1.2914855480 * b) ** 3
    linear = (
        4.0767416621 * l_ - 3.3077115913 * m_ + 0.2309699292 * s_,
        -1.2684380046 * l_ + 2.6097574011 * m_ - 0.3413193965 * s_,
        -0.0041960863 * l_ - 0.7034186147 * m_ + 1.7076147010 * s_,
    )
    red, green, blue = (_gamma(min(max(channel, 0.0), 1.0)) for channel in linear)
    return red, green, blue


def _gamma(value: float) -> float:
    return 12.92 * value if value <= 0.0031308 else 1.055 * value ** (1 / 2.4) - 0.055


class HeatLegend(QWidget):
    """A small bar of the ramp, from 100% (left) to 0% (right), with a tick at 50%."""

    _BAR_WIDTH = 160
    _BAR_HEIGHT = 10

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("heatLegend")
        self.setAccessibleName("Legend: a faint tint is a likely token, coral an unlikely one")
        self.setToolTip("Background of each token: how likely the model found it")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        width = metrics.horizontalAdvance("Probability  100%  ") + self._BAR_WIDTH
        width += metrics.horizontalAdvance("  0%")
        return QSize(width, max(metrics.height(), self._BAR_HEIGHT) + 4)

    def paintEvent(self, event: QPaintEvent) -> None:
        ramp = HeatRamp.for_palette(self.palette())
        painter = QPainter(self)
        metrics = self.fontMetrics()
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText)
        painter.setPen(muted)
        height = self.height()
        baseline = (height + metrics.ascent() - metrics.descent()) // 2
        x = 0
        for text in ("Probability", "  100%  "):
            painter.drawText(x, baseline, text)
            x += metrics.horizontalAdvance(text)
        top = (height - self._BAR_HEIGHT) / 2
        bar = QRectF(x, top, self._BAR_WIDTH, self._BAR_HEIGHT)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for level in range(STEPS + 1):
            gradient.setColorAt(level / STEPS, ramp.color_at(level))
        painter.fillRect(bar, gradient)
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.drawRect(bar)
        middle = bar.center().x()
        painter.drawLine(int(middle), int(bar.bottom()) - 3, int(middle), int(bar.bottom()))
        painter.setPen(muted)
        painter.drawText(int(bar.right()) + metrics.horizontalAdvance("  "), baseline, "0%")
        painter.end()
