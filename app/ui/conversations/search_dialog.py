"""Search (Ctrl+K): every message of every conversation, matches highlighted in a snippet.

The query runs through an async callable (the store's full-text search, run off the GUI thread
by whoever wires the dialog), a moment after the user stops typing. Message text is untrusted:
a snippet is escaped before the match markers become highlighting, so it always shows as text.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontMetrics,
    QHideEvent,
    QKeyEvent,
    QPainter,
    QPalette,
    QTextDocument,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QLabel,
    QLineEdit,
    QListView,
    QStackedLayout,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.core.messages import Role
from app.core.store.records import HIT_END, HIT_START, SearchHit
from app.ui.conversations.list_model import hover_color, muted_color, relative_time
from app.ui.tasks import report_bug
from app.ui.widgets.theme import Tone, set_tone

DEBOUNCE_MS = 120
NO_MATCHES = "No matches"
PLACEHOLDER = "Search every message…"
HIT_ROLE = Qt.ItemDataRole.UserRole + 1
# How many lines of a snippet a result shows.
SNIPPET_LINES = 2

Search = Callable[[str], Awaitable[Sequence[SearchHit]]]
Index = QModelIndex | QPersistentModelIndex

_ROOT = QModelIndex()
_AUTHORS = {Role.USER: "You", Role.ASSISTANT: "Assistant", Role.SYSTEM: "System prompt"}
_NAVIGATION = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)
_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def author(role: Role) -> str:
    """Who wrote a message, as the result list says it."""
    return _AUTHORS.get(role, str(role).capitalize())


def snippet_html(snippet: str, mark_style: str = "") -> str:
    """`snippet` as HTML: its text escaped, its `HIT_START`…`HIT_END` spans in bold.

    Escaping comes first, so whatever the message contains (`<img>`, `<b>`, entities) is shown
    literally; only the markers, which the store adds, become markup.
    """
    text = html.escape(" ".join(snippet.split()), quote=True)
    style = f' style="{mark_style}"' if mark_style else ""
    return text.replace(HIT_START, f"<b{style}>").replace(HIT_END, "</b>")


def snippet_text(snippet: str) -> str:
    """The snippet as plain text, markers removed."""
    return " ".join(snippet.replace(HIT_START, "").replace(HIT_END, "").split())


class HitListModel(QAbstractListModel):
    """The results of the latest search."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hits: list[SearchHit] = []

    def set_hits(self, hits: Sequence[SearchHit]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self.endResetModel()

    def hit(self, row: int) -> SearchHit:
        return self._hits[row]

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit = self._hits[index.row()]
        if role == HIT_ROLE:
            return hit
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"{hit.conversation_title} — {author(hit.role)}: {snippet_text(hit.snippet)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return hit.conversation_title
        return None


# Result geometry, in pixels.
_H_PAD = 12
_V_PAD = 8
_INSET = 4
_LINE_GAP = 3


def mark_style(palette: QPalette, selected: bool) -> str:
    """CSS for a matched word: a tint of the highlight colour, or underlined on a selection."""
    if selected:
        return "text-decoration: underline;"
    highlight = palette.color(QPalette.ColorRole.Highlight)
    base = palette.color(QPalette.ColorRole.Base)
    share = 0.3 if base.lightness() < 128 else 0.22
    tint = QColor.fromRgbF(
        highlight.redF() * share + base.redF() * (1 - share),
        highlight.greenF() * share + base.greenF() * (1 - share),
        highlight.blueF() * share + base.blueF() * (1 - share),
    )
    return f"background-color: {tint.name()};"


class HitDelegate(QStyledItemDelegate):
    """A result: the conversation's title, who wrote the message and when, then the snippet."""

    def __init__(self, parent: QObject | None = None, *, clock: Callable[[], float] = time.time):
        super().__init__(parent)
        self._clock = clock

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        line = option.fontMetrics.lineSpacing()
        return QSize(300, 2 * _V_PAD + line * (1 + SNIPPET_LINES) + _LINE_GAP)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        hit: SearchHit | None = index.data(HIT_ROLE)
        if hit is None:
            return
        palette = option.palette
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        card = QRectF(rect).adjusted(_INSET, 1.5, -_INSET, -1.5)
        if selected or option.state & QStyle.StateFlag.State_MouseOver:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(
                palette.color(QPalette.ColorRole.Highlight) if selected else hover_color(palette)
            )
            painter.drawRoundedRect(card, 5, 5)
        text_color = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        muted = muted_color(palette, selected)
        metrics = option.fontMetrics
        left = rect.left() + _INSET + _H_PAD
        right = rect.right() - _INSET - _H_PAD
        top = rect.top() + _V_PAD
        line = metrics.lineSpacing()

        when = relative_time(hit.updated_at, self._clock())
        who = f"  ·  {author(hit.role)}"
        when_width = metrics.horizontalAdvance(when)
        painter.setPen(muted)
        painter.drawText(
            QRectF(right - when_width, top, when_width + 1, line),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            when,
        )
        title_font = QFont(option.font)
        title_font.setBold(True)
        title_metrics = QFontMetrics(title_font)
        room = right - when_width - 12 - left - metrics.horizontalAdvance(who)
        title = title_metrics.elidedText(hit.conversation_title, Qt.TextElideMode.ElideRight, room)
        title_width = title_metrics.horizontalAdvance(title)
        painter.setFont(title_font)
        painter.setPen(text_color)
        painter.drawText(
            QRectF(left, top, title_width + 1, line), Qt.AlignmentFlag.AlignVCenter, title
        )
        painter.setFont(option.font)
        painter.setPen(muted)
        painter.drawText(
            QRectF(left + title_width, top, metrics.horizontalAdvance(who) + 1, line),
            Qt.AlignmentFlag.AlignVCenter,
            who,
        )

        document = QTextDocument()
        document.setDocumentMargin(0)
        document.setDefaultFont(option.font)
        text_option = QTextOption()
        text_option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        document.setDefaultTextOption(text_option)
        document.setHtml(snippet_html(hit.snippet, mark_style(palette, selected)))
        document.setTextWidth(right - left)
        painter.translate(left, top + line + _LINE_GAP)
        clip = QRectF(0, 0, right - left, line * SNIPPET_LINES)
        painter.setClipRect(clip)
        context = QAbstractTextDocumentLayout.PaintContext()
        context.palette.setColor(QPalette.ColorRole.Text, text_color)
        context.clip = clip
        document.documentLayout().draw(painter, context)
        painter.restore()


class SearchDialog(QDialog):
    """Type to search every message; Enter or a click opens the result.

    `hit_activated` carries the conversation's id and the message's position in it.
    """

    hit_activated = Signal(int, int)

    def __init__(
        self,
        search: Search,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("searchDialog")
        self.setWindowTitle("Search conversations")
        self.setAccessibleName("Search conversations")
        self.resize(620, 480)
        self._search = search
        self._task: asyncio.Task[None] | None = None
        # Each search gets the next number; results of any but the latest are dropped.
        self._generation = 0
        self._searched = ""
        # Enter pressed before the typed query's results arrived: open the first when they do.
        self._open_when_ready = False

        self.query_edit = QLineEdit(self)
        self.query_edit.setObjectName("searchQuery")
        self.query_edit.setAccessibleName("Search text")
        self.query_edit.setPlaceholderText(PLACEHOLDER)
        self.query_edit.setClearButtonEnabled(True)
        self.query_edit.textChanged.connect(self.on_query_edit_text_changed)
        self.query_edit.installEventFilter(self)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.on_debounce_timeout)

        self.model = HitListModel(self)
        self.results_view = QListView(self)
        self.results_view.setObjectName("searchResults")
        self.results_view.setAccessibleName("Search results")
        self.results_view.setModel(self.model)
        self.results_view.setItemDelegate(HitDelegate(self.results_view, clock=clock))
        self.results_view.setUniformItemSizes(True)
        self.results_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.results_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results_view.setMouseTracking(True)
        self.results_view.viewport().setAttribute(Qt.WidgetAttribute.WA_Hover)
        # The keyboard stays in the query: Up/Down there move through the results.
        self.results_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.results_view.clicked.connect(self.on_results_view_clicked)

        self.status_label = QLabel(self)
        self.status_label.setObjectName("searchStatus")
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        set_tone(self.status_label, Tone.MUTED)

        self._pages = QStackedLayout()
        self._pages.addWidget(self.results_view)
        self._pages.addWidget(self.status_label)
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 10, 10, 10)
        column.setSpacing(8)
        column.addWidget(self.query_edit)
        column.addLayout(self._pages, 1)
        self._show_status("")

    @property
    def query(self) -> str:
        return self.query_edit.text()

    @property
    def status(self) -> str:
        """ "No matches", or "" while there are results (or nothing was searched)."""
        return self.status_label.text() if self._pages.currentWidget() is self.status_label else ""

    @property
    def busy(self) -> bool:
        """Whether a search is waiting to run or running."""
        return self._debounce.isActive() or self._task is not None

    def hits(self) -> list[SearchHit]:
        return [self.model.hit(row) for row in range(self.model.rowCount())]

    def current_row(self) -> int | None:
        index = self.results_view.currentIndex()
        return index.row() if index.isValid() else None

    def open_fresh(self) -> None:
        """Show the dialog with the previous query selected, ready to be typed over."""
        self.query_edit.selectAll()
        self.show()
        self.raise_()
        self.activateWindow()
        self.query_edit.setFocus()
        # Conversations may have changed since the last search: run it again.
        if self.query.strip():
            self._start_search()

    def show_hits(self, hits: Sequence[SearchHit]) -> None:
        self.model.set_hits(hits)
        if hits:
            self._pages.setCurrentWidget(self.results_view)
            self._move_to(0)
        else:
            self._show_status(NO_MATCHES if self._searched.strip() else "")
        if self._open_when_ready:
            self._open_when_ready = False
            if hits:
                self._activate(0)

    # Slots

    def on_query_edit_text_changed(self, text: str) -> None:
        self._open_when_ready = False
        if text.strip():
            self._debounce.start()
        else:
            self._debounce.stop()
            self._start_search()

    def on_debounce_timeout(self) -> None:
        self._start_search()

    def on_results_view_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self._activate(index.row())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.query_edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in _NAVIGATION:
                self._navigate(Qt.Key(event.key()))
                return True
            if event.key() in _ENTER:
                self._open_current()
                return True
        return super().eventFilter(watched, event)

    def hideEvent(self, event: QHideEvent) -> None:
        # Closed (Esc, a result opened, the window manager): nothing may arrive later.
        self._debounce.stop()
        self._open_when_ready = False
        self._generation += 1
        if self._task is not None:
            self._task.cancel()
            self._task = None
        super().hideEvent(event)

    # Internals

    def _start_search(self) -> None:
        self._debounce.stop()
        self._generation += 1
        if self._task is not None:
            self._task.cancel()
            self._task = None
        text = self.query
        if not text.strip():
            self._searched = ""
            self.show_hits(())
            return
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return  # no event loop any more: the application is shutting down
        if loop.is_closed():
            return
        self._task = loop.create_task(self._run_search(text, self._generation))
        self._task.add_done_callback(self._on_task_done)

    async def _run_search(self, text: str, generation: int) -> None:
        hits = await self._search(text)
        if generation != self._generation:
            return  # a newer query was typed while this one ran
        self._searched = text
        self.show_hits(hits)

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if self._task is task:
            self._task = None
        report_bug(task)

    def _navigate(self, key: Qt.Key) -> None:
        rows = self.model.rowCount()
        if not rows:
            return
        current = self.current_row()
        page = max(1, self.results_view.viewport().height() // max(1, self._row_height()) - 1)
        step = {
            Qt.Key.Key_Up: -1,
            Qt.Key.Key_Down: 1,
            Qt.Key.Key_PageUp: -page,
            Qt.Key.Key_PageDown: page,
        }[key]
        target = 0 if current is None else current + step
        self._move_to(min(max(target, 0), rows - 1))

    def _move_to(self, row: int) -> None:
        index = self.model.index(row)
        self.results_view.setCurrentIndex(index)
        self.results_view.scrollTo(index)

    def _row_height(self) -> int:
        return self.results_view.sizeHintForRow(0) if self.model.rowCount() else 0

    def _open_current(self) -> None:
        if self.busy:
            # The results on screen are for an older query.
            self._open_when_ready = True
            if self._debounce.isActive():
                self._start_search()
            return
        row = self.current_row()
        if row is not None:
            self._activate(row)

    def _activate(self, row: int) -> None:
        hit = self.model.hit(row)
        self.accept()
        self.hit_activated.emit(hit.conversation_id, hit.position)

    def _show_status(self, text: str) -> None:
        self.status_label.setText(text)
        self._pages.setCurrentWidget(self.status_label)
