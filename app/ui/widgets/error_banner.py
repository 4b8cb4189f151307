"""A non-modal strip above the conversation: what went wrong, what to do, and Retry.

When the server said how long to wait (`Retry-After`), Retry counts down and becomes available
when the wait is over.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

RETRY_TEXT = "Retry"


@dataclass(frozen=True)
class BannerColors:
    background: QColor
    border: QColor
    text: QColor


# A light and a dark variant, chosen by the window's palette, so the banner stands out on both
# themes without glaring on the dark one. Text on background is over 10:1 in both.
_LIGHT = BannerColors(QColor("#fdecea"), QColor("#f5c2bd"), QColor("#5f2120"))
_DARK = BannerColors(QColor("#3b1816"), QColor("#7a2e2a"), QColor("#f8d7d4"))


def banner_colors(palette: QPalette) -> BannerColors:
    return _DARK if palette.color(QPalette.ColorRole.Window).lightness() < 128 else _LIGHT


def retry_label(seconds_left: int) -> str:
    return f"{RETRY_TEXT} in {seconds_left} s" if seconds_left > 0 else RETRY_TEXT


class ErrorBanner(QFrame):
    """Headline and remedy of the last problem. Hidden until `show_problem` is called."""

    retry_clicked = Signal()
    dismissed = Signal()

    def __init__(
        self, parent: QWidget | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setAccessibleName("Problem")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._clock = clock
        self._retry_at: float | None = None
        self._tick = QTimer(self)
        self._tick.setSingleShot(True)
        self._tick.timeout.connect(self.on_tick_timeout)

        self.headline_label = QLabel(self)
        self.headline_label.setObjectName("errorHeadline")
        self.headline_label.setWordWrap(True)
        self.headline_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bold = self.headline_label.font()
        bold.setBold(True)
        self.headline_label.setFont(bold)
        self.remedy_label = QLabel(self)
        self.remedy_label.setObjectName("errorRemedy")
        self.remedy_label.setWordWrap(True)
        self.remedy_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.retry_button = QPushButton(RETRY_TEXT, self)
        self.retry_button.setObjectName("retryButton")
        self.retry_button.setAccessibleName(RETRY_TEXT)
        self.retry_button.setAutoDefault(False)
        self.retry_button.clicked.connect(self.on_retry_button_clicked)
        self.dismiss_button = QToolButton(self)
        self.dismiss_button.setObjectName("dismissButton")
        self.dismiss_button.setText("✕")
        self.dismiss_button.setAutoRaise(True)
        self.dismiss_button.setAccessibleName("Dismiss")
        self.dismiss_button.setToolTip("Dismiss")
        self.dismiss_button.clicked.connect(self.on_dismiss_button_clicked)

        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.headline_label)
        text.addWidget(self.remedy_label)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        row.setSpacing(12)
        row.addLayout(text, 1)
        row.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self._recolor()
        self.hide()

    @property
    def headline(self) -> str:
        return self.headline_label.text()

    @property
    def remedy(self) -> str:
        return self.remedy_label.text()

    @property
    def seconds_until_retry(self) -> int:
        """Whole seconds left before Retry is offered; 0 when it is (or no wait was asked)."""
        if self._retry_at is None:
            return 0
        return max(0, math.ceil(self._retry_at - self._clock()))

    def show_problem(
        self,
        headline: str,
        remedy: str = "",
        *,
        can_retry: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """Show a problem; with `retry_after` seconds, Retry counts down before it is enabled."""
        self.headline_label.setText(headline)
        self.remedy_label.setText(remedy)
        self.remedy_label.setVisible(bool(remedy))
        self.retry_button.setVisible(can_retry)
        self._retry_at = (
            self._clock() + retry_after if can_retry and retry_after and retry_after > 0 else None
        )
        self._update_retry()
        self.setAccessibleDescription(f"{headline}. {remedy}" if remedy else headline)
        self.show()

    def clear_problem(self) -> None:
        self.hide()
        self._tick.stop()
        self._retry_at = None
        self.headline_label.clear()
        self.remedy_label.clear()

    def on_retry_button_clicked(self) -> None:
        self.clear_problem()
        self.retry_clicked.emit()

    def on_dismiss_button_clicked(self) -> None:
        self.clear_problem()
        self.dismissed.emit()

    def on_tick_timeout(self) -> None:
        self._update_retry()

    def _update_retry(self) -> None:
        left = self.seconds_until_retry
        self.retry_button.setText(retry_label(left))
        self.retry_button.setEnabled(left == 0)
        self.retry_button.setToolTip(
            f"The server asked to wait; Retry is available in {left} s"
            if left
            else "Send the message again"
        )
        if left and self._retry_at is not None:
            # Wake exactly when the shown number of seconds changes, not on a fixed beat.
            until_change = self._retry_at - self._clock() - (left - 1)
            self._tick.start(max(1, math.ceil(until_change * 1000)))
        else:
            self._tick.stop()
            self._retry_at = None

    def showEvent(self, event: QShowEvent) -> None:
        # A theme switched while the banner was hidden may have reached it before the new
        # palette did; recolour whenever it appears.
        self._recolor()
        super().showEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._recolor()
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        colors = banner_colors(self.palette())
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colors.border, 1))
        painter.setBrush(colors.background)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)

    def _recolor(self) -> None:
        # The labels get the banner's text colour; the buttons keep the theme's own colours.
        text = banner_colors(self.palette()).text
        for widget in (self.headline_label, self.remedy_label, self.dismiss_button):
            palette = widget.palette()
            for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
                palette.setColor(role, text)
            widget.setPalette(palette)
