"""The sidebar's list: conversations loaded a page at a time, and how each row reads and looks.

The model never holds more than the rows scrolled to so far: the view asks for the next page
(`canFetchMore`/`fetchMore`) when its last loaded row comes into sight, so ten thousand
conversations open as fast as two hundred.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractListModel,
    QDate,
    QDateTime,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    QRegularExpression,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from app.core.store.records import ConversationSummary

PAGE_SIZE = 200
TITLE_MAX_LENGTH = 200
# The whole summary, for the delegate and for tests.
SUMMARY_ROLE = Qt.ItemDataRole.UserRole + 1
# Whether the row is the conversation open in the window.
OPEN_ROLE = Qt.ItemDataRole.UserRole + 2
# Whether the row is the first unpinned one after pinned ones (a line separates them).
SECTION_START_ROLE = Qt.ItemDataRole.UserRole + 3
# What a conversation's reply is doing behind the open one: ANSWERING, UNSEEN or None.
ACTIVITY_ROLE = Qt.ItemDataRole.UserRole + 4
ANSWERING = "Answering…"
UNSEEN = "New reply"

PageLoader = Callable[[int, int], Sequence[ConversationSummary]]
CountLoader = Callable[[], int]
Index = QModelIndex | QPersistentModelIndex

_ROOT = QModelIndex()


def relative_time(then: float, now: float, locale: QLocale | None = None) -> str:
    """When a conversation was last active, as short as a sidebar needs.

    "now", "5 min", "3 h" (earlier today), "Yesterday", a weekday within the last week,
    then a short date ("12 Mar", with the year when it is not this year).
    """
    age = now - then
    if age < 60:
        return "now"
    if age < 3600:
        return f"{int(age // 60)} min"
    then_local = datetime.fromtimestamp(then)
    now_local = datetime.fromtimestamp(now)
    days = (now_local.date() - then_local.date()).days
    if days <= 0:
        return f"{int(age // 3600)} h"
    if days == 1:
        return "Yesterday"
    locale = locale or QLocale()
    if days < 7:
        return locale.dayName(then_local.isoweekday(), QLocale.FormatType.ShortFormat)
    date = QDate(then_local.year, then_local.month, then_local.day)
    return locale.toString(date, "d MMM" if then_local.year == now_local.year else "d MMM yyyy")


def full_time(then: float, locale: QLocale | None = None) -> str:
    """The exact date and time, for a tooltip."""
    moment = QDateTime.fromSecsSinceEpoch(int(then))
    return (locale or QLocale()).toString(moment, QLocale.FormatType.ShortFormat)


class ConversationListModel(QAbstractListModel):
    """Conversations in the order the source gives (pinned first, then most recent).

    `title_edited` is emitted when the user commits a new title in the inline editor; the row
    shows it at once, and the store's copy comes back with the next `reload`.
    """

    title_edited = Signal(int, str)

    def __init__(
        self, parent: QObject | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self._page: PageLoader = _no_rows
        self._count: CountLoader = _no_count
        self._rows: list[ConversationSummary] = []
        self._row_of: dict[int, int] = {}
        self._total = 0
        self._open_id: int | None = None
        self._answering: frozenset[int] = frozenset()
        self._unseen: frozenset[int] = frozenset()

    @property
    def open_id(self) -> int | None:
        return self._open_id

    def set_source(self, page: PageLoader, count: CountLoader) -> None:
        self._page = page
        self._count = count
        self.reload()

    def reload(self, at_least: int = PAGE_SIZE) -> None:
        """Read the rows again from the top: as many as were loaded, and at least a page."""
        self.beginResetModel()
        self._total = self._count()
        rows = list(self._page(0, max(at_least, PAGE_SIZE))) if self._total else []
        self._set_rows(rows)
        self._total = max(self._total, len(self._rows))
        self.endResetModel()

    def set_open(self, conversation_id: int | None) -> None:
        """Mark the conversation open in the window; it is drawn as selected."""
        previous = self._open_id
        self._open_id = conversation_id
        for changed in (previous, conversation_id):
            row = self.row_of(changed)
            if row is not None:
                index = self.index(row)
                self.dataChanged.emit(index, index, [OPEN_ROLE])

    def set_activity(self, answering: Iterable[int], unseen: Iterable[int]) -> None:
        """Mark conversations whose reply streams behind the open one, or ended there unseen."""
        before = self._answering | self._unseen
        self._answering, self._unseen = frozenset(answering), frozenset(unseen)
        for changed in before | self._answering | self._unseen:
            row = self.row_of(changed)
            if row is not None:
                index = self.index(row)
                self.dataChanged.emit(index, index, [ACTIVITY_ROLE])

    def activity(self, conversation_id: int) -> str | None:
        if conversation_id in self._answering:
            return ANSWERING
        return UNSEEN if conversation_id in self._unseen else None

    def row_of(self, conversation_id: int | None) -> int | None:
        return None if conversation_id is None else self._row_of.get(conversation_id)

    def summary(self, row: int) -> ConversationSummary:
        return self._rows[row]

    def summaries(self) -> list[ConversationSummary]:
        """The rows loaded so far, in order."""
        return list(self._rows)

    def total(self) -> int:
        """How many conversations there are, loaded or not."""
        return self._total

    # QAbstractListModel

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent: Index) -> None:
        if not self.canFetchMore(parent):
            return
        page = list(self._page(len(self._rows), PAGE_SIZE))
        if len(page) < PAGE_SIZE:
            # The source ran out before the count said it would (conversations were deleted
            # meanwhile): stop asking.
            self._total = len(self._rows) + len(page)
        # A conversation that became active since the last page moved up and shifted the
        # offsets; it may come again, and is kept where it was first shown.
        fresh = [row for row in page if row.id not in self._row_of]
        if not fresh:
            return
        first = len(self._rows)
        self.beginInsertRows(_ROOT, first, first + len(fresh) - 1)
        self._set_rows(self._rows + fresh)
        self.endInsertRows()

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        summary = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return summary.title
        if role == SUMMARY_ROLE:
            return summary
        if role == OPEN_ROLE:
            return summary.id == self._open_id
        if role == SECTION_START_ROLE:
            row = index.row()
            return row > 0 and not summary.pinned and self._rows[row - 1].pinned
        if role == ACTIVITY_ROLE:
            return self.activity(summary.id)
        activity = self.activity(summary.id)
        if role == Qt.ItemDataRole.ToolTipRole:
            pinned = " · Pinned" if summary.pinned else ""
            doing = f"\n{activity}" if activity else ""
            return f"{summary.title}\nLast active {full_time(summary.updated_at)}{pinned}{doing}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            when = activity or relative_time(summary.updated_at, self._clock())
            pinned = "pinned, " if summary.pinned else ""
            return f"{summary.title}, {pinned}{when}"
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        title = str(value).strip()
        summary = self._rows[index.row()]
        if not title or title == summary.title:
            return False  # an empty title is refused; an unchanged one is no rename
        self._rows[index.row()] = dataclasses.replace(summary, title=title)
        self.dataChanged.emit(index, index)
        self.title_edited.emit(summary.id, title)
        return True

    def _set_rows(self, rows: list[ConversationSummary]) -> None:
        self._rows = rows
        self._row_of = {summary.id: row for row, summary in enumerate(rows)}


def _no_rows(_offset: int, _limit: int) -> Sequence[ConversationSummary]:
    return ()


def _no_count() -> int:
    return 0


# Row geometry, in pixels.
H_PAD = 10
V_PAD = 7
ROW_INSET = 4
GAP = 8
PIN_SIZE = 11


def muted_color(palette: QPalette, selected: bool) -> QColor:
    """Secondary text: the placeholder colour, or the highlighted text softened on a selection."""
    if selected:
        color = QColor(palette.color(QPalette.ColorRole.HighlightedText))
        color.setAlphaF(0.8)
        return color
    return palette.color(QPalette.ColorRole.PlaceholderText)


def hover_color(palette: QPalette) -> QColor:
    """A faint tint of the text colour over the list's background, for the row under the mouse."""
    base = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.Text)
    return _mix(text, base, 0.07)


def _mix(top: QColor, bottom: QColor, share: float) -> QColor:
    return QColor.fromRgbF(
        top.redF() * share + bottom.redF() * (1 - share),
        top.greenF() * share + bottom.greenF() * (1 - share),
        top.blueF() * share + bottom.blueF() * (1 - share),
    )


def draw_pin(painter: QPainter, center: QPointF, color: QColor) -> None:
    """A small push pin, tilted like one stuck in a board."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.translate(center)
    painter.rotate(40)
    painter.setPen(QPen(color, 1.3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(QPointF(0, 1), QPointF(0, 6))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawRoundedRect(QRectF(-2.2, -5.5, 4.4, 5.0), 1.2, 1.2)
    painter.drawRoundedRect(QRectF(-4.0, -0.8, 8.0, 1.9), 0.9, 0.9)
    painter.restore()


class ConversationDelegate(QStyledItemDelegate):
    """Draws a row (title, pin, muted time) and edits its title in place."""

    def __init__(self, parent: QObject | None = None, *, clock: Callable[[], float] = time.time):
        super().__init__(parent)
        self._clock = clock

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(200, option.fontMetrics.height() + 2 * V_PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        summary: ConversationSummary | None = index.data(SUMMARY_ROLE)
        if summary is None:
            return
        palette = option.palette
        rect = option.rect
        state = option.state
        is_open = bool(index.data(OPEN_ROLE))
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if index.data(SECTION_START_ROLE):
            # The line between pinned conversations and the rest.
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
            y = rect.top() + 0.5
            painter.drawLine(QPointF(rect.left() + H_PAD, y), QPointF(rect.right() - H_PAD, y))
        card = QRectF(rect).adjusted(ROW_INSET, 1.5, -ROW_INSET, -1.5)
        if is_open:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(card, 5, 5)
        elif state & QStyle.StateFlag.State_MouseOver:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(hover_color(palette))
            painter.drawRoundedRect(card, 5, 5)
        if state & QStyle.StateFlag.State_HasFocus:
            # Where the keyboard is, which may differ from the open conversation.
            focus = palette.color(
                QPalette.ColorRole.HighlightedText if is_open else QPalette.ColorRole.Highlight
            )
            painter.setPen(QPen(focus, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(card.adjusted(1, 1, -1, -1), 4, 4)

        text_color = palette.color(
            QPalette.ColorRole.HighlightedText if is_open else QPalette.ColorRole.Text
        )
        muted = muted_color(palette, is_open)
        metrics = option.fontMetrics
        left = rect.left() + ROW_INSET + H_PAD
        right = rect.right() - ROW_INSET - H_PAD
        # A reply streaming behind the open conversation (or ended there unseen) says so in
        # place of the time, in the accent colour, so it can be found at a glance.
        activity = index.data(ACTIVITY_ROLE)
        when = activity or relative_time(summary.updated_at, self._clock())
        when_width = metrics.horizontalAdvance(when)
        painter.setFont(option.font)
        painter.setPen(muted if not activity or is_open else palette.color(QPalette.ColorRole.Link))
        align_right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(
            QRectF(right - when_width, rect.top(), when_width + 1, rect.height()), align_right, when
        )
        right -= when_width + GAP
        if summary.pinned:
            draw_pin(painter, QPointF(right - PIN_SIZE / 2, rect.center().y() + 0.5), muted)
            right -= PIN_SIZE + GAP
        title = metrics.elidedText(summary.title, Qt.TextElideMode.ElideRight, max(0, right - left))
        painter.setPen(text_color)
        painter.drawText(
            QRectF(left, rect.top(), right - left, rect.height()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            title,
        )
        painter.restore()

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        editor = QLineEdit(parent)
        editor.setObjectName("renameEditor")
        editor.setAccessibleName("Conversation title")
        editor.setMaxLength(TITLE_MAX_LENGTH)
        # The text stays where the title was drawn (the frame and the line edit's own margin
        # take about 4 px).
        editor.setTextMargins(H_PAD - 4, 0, 0, 0)
        # Enter does not commit a blank title (the delegate checks the validator); Esc cancels.
        editor.setValidator(QRegularExpressionValidator(QRegularExpression(r".*\S.*"), editor))
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QLineEdit)
        editor.setText(str(index.data(Qt.ItemDataRole.EditRole)))
        editor.selectAll()

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        assert isinstance(editor, QLineEdit)
        model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(
        self, editor: QWidget, option: QStyleOptionViewItem, index: Index
    ) -> None:
        rect = option.rect
        editor.setGeometry(rect.adjusted(ROW_INSET, 1, -ROW_INSET, -1))
