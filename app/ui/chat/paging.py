"""The chat view's offers to show more of a long conversation: earlier messages, later ones.

They float over the top and bottom of the view rather than sitting in the document: the
transcript only grows at its end, and a button kept in the document would have to move.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtWidgets import QPushButton, QWidget

# Between a button and the edge of the view it floats over.
_MARGIN_PX = 6


class PagingButtons:
    """ "Show N earlier messages" over the top of `viewport`, "Show N later" over its bottom.

    Clicking one emits `earlier` or `later`; the buttons are hidden while there is nothing
    to show that way. `place` must be called when the viewport changes size.
    """

    def __init__(self, viewport: QWidget, earlier: SignalInstance, later: SignalInstance) -> None:
        self._viewport = viewport
        self.earlier = _button(viewport, "earlierMessagesButton", "Show earlier messages")
        self.earlier.clicked.connect(earlier)
        self.later = _button(viewport, "laterMessagesButton", "Show later messages")
        self.later.clicked.connect(later)

    def show_earlier(self, count: int) -> None:
        """Offer to show `count` earlier messages (0 hides the offer)."""
        self._offer(self.earlier, count, "earlier")

    def show_later(self, count: int) -> None:
        """Offer to show `count` later messages (0 hides the offer)."""
        self._offer(self.later, count, "later")

    def place(self) -> None:
        height = self._viewport.height()
        width = self._viewport.width()
        for button, top in (
            (self.earlier, _MARGIN_PX),
            (self.later, height - self.later.height() - _MARGIN_PX),
        ):
            button.move(max(0, (width - button.width()) // 2), max(0, top))

    def _offer(self, button: QPushButton, count: int, which: str) -> None:
        if count <= 0:
            button.hide()
            return
        noun = "message" if count == 1 else "messages"
        button.setText(f"Show {count:,} {which} {noun}")
        button.adjustSize()
        self.place()
        button.show()


def _button(viewport: QWidget, name: str, accessible_name: str) -> QPushButton:
    button = QPushButton(viewport)
    button.setObjectName(name)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setAccessibleName(accessible_name)
    button.hide()
    return button
