"""Make a plain widget (a status-bar label) clickable without subclassing it."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QWidget


class ClickWatcher(QObject):
    """Emits `clicked` when the left button is released over `widget`; shows a hand cursor.

    An event filter rather than a subclass: the widgets it serves are built elsewhere and
    must stay what they are.
    """

    clicked = Signal()

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self._widget = widget
        widget.setCursor(Qt.CursorShape.PointingHandCursor)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self._widget
            and event.type() == QEvent.Type.MouseButtonRelease
            and isinstance(event, QMouseEvent)
            and event.button() == Qt.MouseButton.LeftButton
            and self._widget.rect().contains(event.position().toPoint())
        ):
            self.clicked.emit()
            return True
        return super().eventFilter(watched, event)
