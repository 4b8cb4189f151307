"""A reply's tokens, each on a background tinted by its probability; hover one for alternatives.

Tokens are appended in batches (a frame's worth while a reply streams), each batch as one edit
of the document, so Qt lays the text out once per frame however many tokens arrived. A line
break token shows as "↵" before the break, so it can be seen and hovered like any other.
"""

from __future__ import annotations

import bisect
import html
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, Qt
from PySide6.QtGui import (
    QHelpEvent,
    QMouseEvent,
    QPalette,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextOption,
)
from PySide6.QtWidgets import QTextBrowser, QTextEdit, QToolTip, QWidget

from app.core.logprobs import TokenCell, percent, shown_token
from app.ui.chat.inspector.heat_colors import HeatRamp

# How many alternatives a tooltip lists at most (the API gives up to 20).
_TIP_ALTERNATIVES = 10
LINE_HEIGHT_PERCENT = 145
_THEME_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.StyleChange)


class HeatMapView(QTextBrowser):
    """The tokens of one choice of a reply, tinted; `cells` are what is shown, in order."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("heatMapView")
        self.setAccessibleName("Token probabilities")
        self.setOpenLinks(False)
        self.setUndoRedoEnabled(False)
        self.viewport().setMouseTracking(True)
        document = self.document()
        document.setDocumentMargin(10)
        option = document.defaultTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        document.setDefaultTextOption(option)
        self._ramp = HeatRamp.for_palette(self.palette())
        self._formats: dict[int, QTextCharFormat] = {}
        self._prefix = ""
        self._cells: list[TokenCell] = []
        # Document position where each cell starts (Qt counts UTF-16 units, not characters).
        self._starts: list[int] = []
        self._hovered = -1

    @property
    def cells(self) -> tuple[TokenCell, ...]:
        return tuple(self._cells)

    @property
    def prefix(self) -> str:
        """Text shown untinted before the tokens: it has no probabilities (a continued reply)."""
        return self._prefix

    def clear_cells(self) -> None:
        self.document().clear()
        # Taller lines than prose: tinted runs on adjacent lines would otherwise touch.
        lines = QTextBlockFormat()
        lines.setLineHeight(
            LINE_HEIGHT_PERCENT, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value
        )
        QTextCursor(self.document()).setBlockFormat(lines)
        self._prefix = ""
        self._cells = []
        self._starts = []
        self._set_hovered(-1)

    def show_cells(self, cells: Sequence[TokenCell], prefix: str = "") -> None:
        """Show `cells` (after `prefix`) in place of what was shown."""
        self.clear_cells()
        if prefix:
            self._prefix = prefix
            muted = QTextCharFormat()
            muted.setForeground(self.palette().color(QPalette.ColorRole.PlaceholderText))
            muted.setToolTip("No probabilities: this part came from an earlier request")
            cursor = QTextCursor(self.document())
            cursor.insertText(prefix, muted)
        self.append_cells(cells)

    def append_cells(self, cells: Sequence[TokenCell]) -> None:
        """Add `cells` at the end, in one edit."""
        if not cells:
            return
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        position = cursor.position()
        # Neighbours of the same tint go in as one insertion (most tokens are near-certain):
        # inserting costs per call, not per character.
        run: list[str] = []
        level = -1
        cursor.beginEditBlock()
        for cell in cells:
            text = _flow_text(cell.text)
            cell_level = self._ramp.level(cell.probability)
            if cell_level != level and run:
                cursor.insertText("".join(run), self._format(level))
                run = []
            level = cell_level
            run.append(text)
            self._starts.append(position)
            self._cells.append(cell)
            position += _utf16_length(text)
        if run:
            cursor.insertText("".join(run), self._format(level))
        cursor.endEditBlock()

    @property
    def is_empty(self) -> bool:
        return not self._cells and not self._prefix

    def cell_color(self, index: int) -> str:
        """The background of cell `index`, as `#rrggbb`."""
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._starts[index] + 1)
        return cursor.charFormat().background().color().name()

    def cell_at(self, point: QPoint) -> int:
        """The index of the cell under `point` (viewport coordinates), or -1."""
        offset = QPointF(self.horizontalScrollBar().value(), self.verticalScrollBar().value())
        at = QPointF(point) + offset
        position = self.document().documentLayout().hitTest(at, Qt.HitTestAccuracy.ExactHit)
        if position < 0 or not self._starts:
            return -1
        # The hit is the boundary nearest the point: the character under it may be the one before.
        cursor = QTextCursor(self.document())
        cursor.setPosition(position)
        if point.x() < self.cursorRect(cursor).x() and position > 0:
            position -= 1
        index = bisect.bisect_right(self._starts, position) - 1
        return index if index >= 0 else -1

    def cell_rect_center(self, index: int) -> QPoint:
        """Where cell `index` is drawn in the viewport (for showing its tip)."""
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._starts[index])
        start = self.cursorRect(cursor)
        cursor.setPosition(self._starts[index] + 1)
        return QPoint((start.left() + self.cursorRect(cursor).left()) // 2 + 1, start.center().y())

    def tip_html(self, index: int) -> str:
        """The tooltip of cell `index`: the token, its probability, and what else was likely."""
        cell = self._cells[index]
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText).name()
        head = (
            f"<b style='font-family:monospace'>{_quoted(cell.text)}</b>"
            f"&nbsp;&nbsp;<b>{percent(cell.probability)}</b>"
        )
        detail = f"logprob {cell.logprob:.4g}"
        if cell.tokens > 1:
            detail += f" · one character in {cell.tokens} byte tokens"
        rows = [f"<p style='white-space:pre'>{head}<br><span style='color:{muted}'>{detail}</span>"]
        alternatives = cell.alternatives
        if alternatives:
            rows.append("</p><table cellspacing='2' cellpadding='0'>")
            rows.append(f"<tr><td colspan='3' style='color:{muted}'>Top alternatives</td></tr>")
            for alternative in alternatives[:_TIP_ALTERNATIVES]:
                chosen = alternative.token == cell.token
                swatch = self._ramp.color(alternative.probability).name()
                weight = "bold" if chosen else "normal"
                rows.append(
                    f"<tr style='font-weight:{weight}'>"
                    f"<td style='background-color:{swatch}'>&nbsp;&nbsp;&nbsp;</td>"
                    f"<td style='font-family:monospace; white-space:pre'>"
                    f"&nbsp;{_quoted(alternative.token)}&nbsp;&nbsp;</td>"
                    f"<td align='right'>{percent(alternative.probability)}</td></tr>"
                )
            rows.append("</table>")
        else:
            rows.append(
                f"<br><span style='color:{muted}'>Set Top logprobs to see alternatives</span></p>"
            )
        return "<qt>" + "".join(rows) + "</qt>"

    def show_tip(self, index: int, point: QPoint | None = None) -> None:
        """Show cell `index`'s tooltip (at `point` in the viewport, or over the cell)."""
        if not 0 <= index < len(self._cells):
            QToolTip.hideText()
            return
        self._set_hovered(index)
        at = point if point is not None else self.cell_rect_center(index)
        # The tip stays while the mouse stays on the token's line, and moves on with it.
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._starts[index])
        line = self.cursorRect(cursor)
        area = QRect(0, line.top(), self.viewport().width(), line.height())
        tip = self.tip_html(index)
        QToolTip.showText(self.viewport().mapToGlobal(at), tip, self.viewport(), area)

    # Events

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.cell_at(event.pos())
            if index < 0:
                QToolTip.hideText()
                event.ignore()
            else:
                self.show_tip(index, event.pos())
            return True
        if event.type() == QEvent.Type.Leave:
            self._set_hovered(-1)
        return super().viewportEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        self._set_hovered(self.cell_at(event.position().toPoint()))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in _THEME_EVENTS and hasattr(self, "_ramp"):
            ramp = HeatRamp.for_palette(self.palette())
            if ramp != self._ramp:
                self._ramp = ramp
                self._formats.clear()
                self.show_cells(list(self._cells), self._prefix)

    # Helpers

    def _format(self, level: int) -> QTextCharFormat:
        found = self._formats.get(level)
        if found is None:
            found = QTextCharFormat()
            found.setBackground(self._ramp.color_at(level))
            self._formats[level] = found
        return found

    def _set_hovered(self, index: int) -> None:
        if index == self._hovered:
            return
        self._hovered = index
        selections = []
        if 0 <= index < len(self._cells):
            selection = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.document())
            cursor.setPosition(self._starts[index])
            end = self._starts[index + 1] if index + 1 < len(self._starts) else None
            if end is None:
                cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            else:
                cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            selection.cursor = cursor
            highlight = QTextCharFormat()
            palette = self.palette()
            highlight.setBackground(palette.color(QPalette.ColorRole.Highlight))
            highlight.setForeground(palette.color(QPalette.ColorRole.HighlightedText))
            selection.format = highlight
            selections.append(selection)
        self.setExtraSelections(selections)

    @property
    def hovered(self) -> int:
        """The cell under the mouse (its highlight marks which token a tip is about), or -1."""
        return self._hovered


def _utf16_length(text: str) -> int:
    # Qt counts positions in UTF-16 units: a character beyond the BMP (an emoji) takes two.
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _flow_text(text: str) -> str:
    # "\r" would draw as a box; a line break is shown as a glyph, then made.
    return text.replace("\r", "").replace("\n", "↵\n")


def _quoted(token: str) -> str:
    return "“" + html.escape(shown_token(token)) + "”"
