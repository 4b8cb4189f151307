"""The row of image tiles above the area's buttons: it scrolls sideways, never down."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QWidget


class TileStrip(QScrollArea):
    """The tiles in `tiles`, in order; hidden while there are none, as tall as the tallest."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tiles = QWidget()
        self.tiles.setObjectName("imageTiles")
        self._row = QHBoxLayout(self.tiles)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(8)
        self._row.addStretch(1)
        self.setObjectName("imageScroll")
        self.setAccessibleName("Attached images")
        # The tiles' own controls take the focus; the strip holding them needs none.
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(self.tiles)
        self.hide()

    def insert(self, position: int, tile: QWidget) -> None:
        self._row.insertWidget(position, tile)

    def fit(self, tiles: Sequence[QWidget]) -> None:
        """Show the strip if there are `tiles`, tall enough for them and a scroll bar."""
        self.setVisible(bool(tiles))
        if tiles:
            tile_height = max(tile.sizeHint().height() for tile in tiles)
            bar = self.horizontalScrollBar().sizeHint().height()
            self.setFixedHeight(tile_height + bar + 2)
