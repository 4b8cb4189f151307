"""The line an empty chat view shows: where the conversation appears, and the keys that help."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QTextBrowser

EMPTY_HINT = "Your conversation appears here  ·  Esc stops a reply  ·  Ctrl+N starts a new chat"


def paint_empty_hint(view: QTextBrowser, text: str) -> None:
    """Paint `text` over `view`'s viewport, where its document's first line would be."""
    # Drawn here rather than with setPlaceholderText: Qt clips its placeholder to the first
    # block's height, which a cleared document leaves a few pixels tall.
    viewport = view.viewport()
    painter = QPainter(viewport)
    painter.setPen(view.palette().color(QPalette.ColorRole.PlaceholderText))
    margin = round(view.document().documentMargin())
    painter.drawText(
        viewport.rect().adjusted(margin, margin, -margin, -margin),
        int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap),
        text,
    )
    painter.end()
