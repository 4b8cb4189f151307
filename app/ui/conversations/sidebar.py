"""The sidebar: New chat, Search, and the conversations, pinned first, then by recency.

It only shows rows and forwards intent: every change (rename, pin, delete, undo) is a request
signal; whoever owns the store makes the change and calls `refresh()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QEnterEvent,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.store.records import ConversationSummary
from app.ui.conversations.list_model import ConversationDelegate, ConversationListModel
from app.ui.widgets.theme import Tone, set_tone

SEARCH_SHORTCUT = "Ctrl+K"
# How long Undo stays offered after a delete (unless another delete replaces it).
UNDO_SHOW_MS = 10_000
# Relative times ("5 min") are redrawn this often so they do not go stale.
REPAINT_MS = 60_000
EMPTY_TEXT = "No conversations yet"
DEFAULT_WIDTH = 240


class ConversationListView(QListView):
    """The list: Enter opens the row with keyboard focus, Delete deletes it, and the menu key
    opens the row's menu where the row is rather than where the mouse happens to be."""

    return_pressed = Signal()
    delete_pressed = Signal()
    menu_requested = Signal(QModelIndex, QPoint)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        plain = not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if plain and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.return_pressed.emit()
        elif plain and key == Qt.Key.Key_Delete:
            self.delete_pressed.emit()
        else:
            super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if event.reason() == QContextMenuEvent.Reason.Mouse:
            index = self.indexAt(event.pos())
            where = event.globalPos()
        else:
            index = self.currentIndex()
            where = self.viewport().mapToGlobal(self.visualRect(index).center())
        if index.isValid():
            self.menu_requested.emit(index, where)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        if model is not None and model.rowCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self.viewport().rect().adjusted(12, 16, -12, -12),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                EMPTY_TEXT,
            )
            painter.end()


class UndoBar(QFrame):
    """ "Deleted “title” · Undo" under the list, for `UNDO_SHOW_MS` or until the next delete.

    The countdown waits while the mouse is over the bar, so it never vanishes under the pointer.
    """

    undo_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("undoBar")
        self.setAccessibleName("Deleted conversation")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._conversation_id: int | None = None
        self._title = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(UNDO_SHOW_MS)
        self._timer.timeout.connect(self.on_timer_timeout)
        self.message_label = QLabel(self)
        self.message_label.setObjectName("undoMessage")
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        dot = QLabel("·", self)
        set_tone(dot, Tone.MUTED)
        self.undo_button = QToolButton(self)
        self.undo_button.setObjectName("undoButton")
        self.undo_button.setText("Undo")
        self.undo_button.setAccessibleName("Undo delete")
        self.undo_button.setToolTip("Bring the conversation back (Ctrl+Z)")
        self.undo_button.setAutoRaise(True)
        self.undo_button.setCursor(Qt.CursorShape.PointingHandCursor)
        bold = self.undo_button.font()
        bold.setBold(True)
        self.undo_button.setFont(bold)
        self.undo_button.clicked.connect(self.on_undo_button_clicked)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 4, 4)
        row.setSpacing(4)
        row.addWidget(self.message_label, 1)
        row.addWidget(dot)
        row.addWidget(self.undo_button)
        self.hide()

    @property
    def conversation_id(self) -> int | None:
        """The conversation Undo would bring back, while the bar shows."""
        return self._conversation_id

    @property
    def message(self) -> str:
        return f"Deleted “{self._title}”"

    @property
    def counting_down(self) -> bool:
        return self._timer.isActive()

    def show_deleted(self, conversation_id: int, title: str) -> None:
        self._conversation_id = conversation_id
        self._title = title
        self.message_label.setToolTip(self.message)
        self.setAccessibleDescription(f"{self.message}. Undo is available.")
        self._elide()
        self.show()
        self._timer.start()

    def dismiss(self) -> None:
        self._timer.stop()
        self._conversation_id = None
        self.hide()

    def on_undo_button_clicked(self) -> None:
        conversation_id = self._conversation_id
        self.dismiss()
        if conversation_id is not None:
            self.undo_clicked.emit(conversation_id)

    def on_timer_timeout(self) -> None:
        self.dismiss()

    def enterEvent(self, event: QEnterEvent) -> None:
        self._timer.stop()
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if self._conversation_id is not None:
            self._timer.start()
        super().leaveEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.setBrush(palette.color(QPalette.ColorRole.AlternateBase))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)

    def _elide(self) -> None:
        # Only the title is shortened: "Deleted" and the quotes always show.
        metrics = self.message_label.fontMetrics()
        room = self.message_label.width() - metrics.horizontalAdvance("Deleted “”")
        title = metrics.elidedText(self._title, Qt.TextElideMode.ElideRight, max(room, 0))
        self.message_label.setText(f"Deleted “{title}”")


class Sidebar(QWidget):
    """Conversations by recency, pinned first; loads rows lazily from `set_source`.

    `select_conversation` marks the conversation open in the window (it does not emit
    `conversation_selected`, which means the user chose a row).
    """

    conversation_selected = Signal(int)
    new_chat_requested = Signal()
    search_requested = Signal()
    rename_requested = Signal(int, str)
    pin_requested = Signal(int, bool)
    delete_requested = Signal(int)
    undo_delete_requested = Signal(int)

    def __init__(
        self, parent: QWidget | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.setAccessibleName("Conversations sidebar")
        # No fixed minimum width: the buttons' own minimum keeps their labels whole.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

        self.new_chat_button = QPushButton("New chat", self)
        self.new_chat_button.setObjectName("sidebarNewChatButton")
        self.new_chat_button.setAccessibleName("New chat")
        self.new_chat_button.setToolTip("Start an empty conversation")
        self.new_chat_button.setAutoDefault(False)
        self.new_chat_button.clicked.connect(self.new_chat_requested)
        shortcut = QKeySequence(SEARCH_SHORTCUT)
        shortcut_text = shortcut.toString(QKeySequence.SequenceFormat.NativeText)
        self.search_button = QPushButton(f"Search ({shortcut_text})", self)
        self.search_button.setObjectName("sidebarSearchButton")
        self.search_button.setAccessibleName("Search conversations")
        self.search_button.setToolTip(f"Search every message ({shortcut_text})")
        self.search_button.setAutoDefault(False)
        # Window-wide, and not the button's own shortcut: a button's shortcut "animates" a
        # click and opens the search a tenth of a second late.
        self.search_shortcut = QShortcut(shortcut, self)
        self.search_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.search_shortcut.activated.connect(self.search_requested)
        self.search_button.clicked.connect(self.search_requested)

        self.model = ConversationListModel(self, clock=clock)
        self.model.title_edited.connect(self.on_model_title_edited)
        self.list_view = ConversationListView(self)
        self.list_view.setObjectName("conversationList")
        self.list_view.setAccessibleName("Conversations")
        self.list_view.setModel(self.model)
        self.list_view.setItemDelegate(ConversationDelegate(self.list_view, clock=clock))
        # The highlight marks the open conversation (`select_conversation`), not wherever the
        # keyboard is: moving with the arrows draws a focus ring and opens nothing.
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.list_view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.list_view.setUniformItemSizes(True)
        self.list_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list_view.setFrameShape(QFrame.Shape.NoFrame)
        self.list_view.setMouseTracking(True)
        self.list_view.viewport().setAttribute(Qt.WidgetAttribute.WA_Hover)
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)
        self.list_view.clicked.connect(self.on_list_view_clicked)
        self.list_view.return_pressed.connect(self.on_list_view_return_pressed)
        self.list_view.delete_pressed.connect(self.on_list_view_delete_pressed)
        self.list_view.menu_requested.connect(self.on_list_view_menu_requested)

        self.undo_bar = UndoBar(self)
        self.undo_bar.undo_clicked.connect(self.undo_delete_requested)
        self.undo_shortcut = QShortcut(
            QKeySequence.StandardKey.Undo,
            self,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )
        self.undo_shortcut.activated.connect(self.on_undo_shortcut_activated)

        self._repaint_timer = QTimer(self)
        self._repaint_timer.setInterval(REPAINT_MS)
        self._repaint_timer.timeout.connect(self.list_view.viewport().update)
        self._repaint_timer.start()

        buttons = QHBoxLayout()
        buttons.setContentsMargins(8, 8, 8, 6)
        buttons.setSpacing(6)
        buttons.addWidget(self.new_chat_button, 1)
        buttons.addWidget(self.search_button, 1)
        undo_row = QHBoxLayout()
        undo_row.setContentsMargins(6, 4, 6, 6)
        undo_row.addWidget(self.undo_bar)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addLayout(buttons)
        column.addWidget(self.list_view, 1)
        column.addLayout(undo_row)

    def sizeHint(self) -> QSize:
        return QSize(DEFAULT_WIDTH, super().sizeHint().height())

    # What the integrator calls

    def set_source(
        self,
        page: Callable[[int, int], Sequence[ConversationSummary]],
        count: Callable[[], int],
    ) -> None:
        """Where rows come from: `page(offset, limit)` in display order, and how many in all."""
        self.model.set_source(page, count)

    def refresh(self) -> None:
        """Read the rows again, keeping the scroll position and the keyboard's row."""
        bar = self.list_view.verticalScrollBar()
        scrolled = bar.value()
        current = self.list_view.currentIndex()
        current_row = current.row() if current.isValid() else None
        current_id = self.model.summary(current_row).id if current_row is not None else None
        self.model.reload(self.model.rowCount())
        # Lay out now so the scroll range is right before the position is put back.
        self.list_view.doItemsLayout()
        row = self.model.row_of(current_id)
        if row is None and current_row is not None and self.model.rowCount():
            # The keyboard's row went away (deleted): stay at the same place in the list.
            row = min(current_row, self.model.rowCount() - 1)
        if row is not None:
            self.list_view.setCurrentIndex(self.model.index(row))
        bar.setValue(scrolled)

    def show_activity(self, answering: Iterable[int], unseen: Iterable[int]) -> None:
        """Mark conversations answering behind the open one, and those with a reply unseen."""
        self.model.set_activity(answering, unseen)

    def select_conversation(self, conversation_id: int | None) -> None:
        """Highlight the open conversation (None: a new chat, nothing highlighted)."""
        self.model.set_open(conversation_id)
        row = self.model.row_of(conversation_id)
        if row is not None:
            index = self.model.index(row)
            self.list_view.setCurrentIndex(index)
            self.list_view.scrollTo(index)

    # For the integrator and tests

    @property
    def open_conversation(self) -> int | None:
        return self.model.open_id

    def conversations(self) -> list[ConversationSummary]:
        """The rows loaded so far, in the order shown."""
        return self.model.summaries()

    def start_rename(self, conversation_id: int) -> bool:
        """Open the inline title editor on the conversation's row; False if it is not loaded."""
        row = self.model.row_of(conversation_id)
        if row is None:
            return False
        index = self.model.index(row)
        self.list_view.setCurrentIndex(index)
        self.list_view.scrollTo(index)
        self.list_view.edit(index)
        return True

    def request_delete(self, conversation_id: int) -> None:
        """Delete as if from the menu: offer Undo, then ask for the delete."""
        row = self.model.row_of(conversation_id)
        if row is None:
            return
        summary = self.model.summary(row)
        self.undo_bar.show_deleted(summary.id, summary.title)
        self.delete_requested.emit(summary.id)

    def context_menu(self, conversation_id: int) -> QMenu:
        """The row's menu: Rename, Pin or Unpin, Delete."""
        row = self.model.row_of(conversation_id)
        assert row is not None, "menus are only built for loaded rows"
        summary = self.model.summary(row)
        menu = QMenu(self)
        menu.setObjectName("conversationMenu")
        rename = menu.addAction("Rename")
        rename.setShortcut(QKeySequence(Qt.Key.Key_F2))
        rename.triggered.connect(lambda: self.start_rename(summary.id))
        pin = menu.addAction("Unpin" if summary.pinned else "Pin")
        pin.triggered.connect(lambda: self.pin_requested.emit(summary.id, not summary.pinned))
        menu.addSeparator()
        delete = menu.addAction("Delete")
        delete.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        delete.triggered.connect(lambda: self.request_delete(summary.id))
        return menu

    # Slots

    def on_list_view_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.conversation_selected.emit(self.model.summary(index.row()).id)

    def on_list_view_return_pressed(self) -> None:
        self.on_list_view_clicked(self.list_view.currentIndex())

    def on_list_view_delete_pressed(self) -> None:
        index = self.list_view.currentIndex()
        if index.isValid():
            self.request_delete(self.model.summary(index.row()).id)

    def on_list_view_menu_requested(self, index: QModelIndex, where: QPoint) -> None:
        menu = self.context_menu(self.model.summary(index.row()).id)
        menu.exec(where)
        menu.deleteLater()

    def on_model_title_edited(self, conversation_id: int, title: str) -> None:
        self.rename_requested.emit(conversation_id, title)

    def on_undo_shortcut_activated(self) -> None:
        if self.undo_bar.conversation_id is not None:
            self.undo_bar.on_undo_button_clicked()
