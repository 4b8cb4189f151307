"""Where the user writes the next message: multiline, growing with its text up to a limit."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QEvent, QKeyCombination, QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QPlainTextEdit, QSizePolicy, QWidget

from app.core.settings import SendShortcut

_SEARCH_KEYS = QKeyCombination(Qt.KeyboardModifier.ControlModifier, Qt.Key.Key_K)

MIN_LINES = 2
MAX_LINES = 10
_RETURN_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class AttachmentHandler(Protocol):
    """Takes images pasted or dropped into the composer (see `ImageArea`)."""

    def can_take(self, mime: QMimeData) -> bool: ...

    def take_mime(self, mime: QMimeData) -> bool: ...


class Composer(QPlainTextEdit):
    """The message editor. `submitted` is emitted when the user presses the send key.

    With `SendShortcut.ENTER`, Enter sends and Shift+Enter breaks the line; with
    `SendShortcut.CTRL_ENTER`, Ctrl+Enter sends and Enter breaks the line.
    """

    submitted = Signal()

    def __init__(
        self, send_shortcut: SendShortcut = SendShortcut.ENTER, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setAccessibleName("Message")
        self.setTabChangesFocus(True)
        # Maximum: as tall as its text asks (see sizeHint) when there is room, down to
        # MIN_LINES when the window is short; the window's own minimum never changes.
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self._send_shortcut = send_shortcut
        self._attachments: AttachmentHandler | None = None
        self.set_send_shortcut(send_shortcut)
        self.document().documentLayout().documentSizeChanged.connect(
            self.on_layout_document_size_changed
        )
        self.setMinimumHeight(self._height_for_lines(MIN_LINES))

    @property
    def send_shortcut(self) -> SendShortcut:
        return self._send_shortcut

    def set_send_shortcut(self, send_shortcut: SendShortcut) -> None:
        self._send_shortcut = send_shortcut
        if send_shortcut is SendShortcut.ENTER:
            hint = "Enter sends · Shift+Enter adds a line"
        else:
            hint = "Ctrl+Enter sends · Enter adds a line"
        self.setPlaceholderText(f"Ask anything…  ({hint})")
        self.setAccessibleDescription(hint)

    def text(self) -> str:
        return self.toPlainText()

    def take_text(self) -> str:
        """The draft, leaving the editor empty (undo still brings it back)."""
        text = self.toPlainText()
        cursor = self.textCursor()
        cursor.select(cursor.SelectionType.Document)
        cursor.removeSelectedText()
        return text

    def restore_draft(self, draft: str) -> None:
        """Put back a draft that could not be sent, before anything typed since."""
        if not draft:
            return
        cursor = self.textCursor()
        if self.toPlainText().strip():
            cursor.movePosition(cursor.MoveOperation.Start)
            cursor.insertText(f"{draft}\n")
            cursor.movePosition(cursor.MoveOperation.Left)
        else:
            cursor.select(cursor.SelectionType.Document)
            cursor.insertText(draft)
        self.setTextCursor(cursor)

    def set_attachment_handler(self, handler: AttachmentHandler | None) -> None:
        """Offer pasted and dropped data to `handler` first: images become attachments."""
        self._attachments = handler

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        if self._attachments is not None and self._attachments.can_take(source):
            return True
        return super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        if self._attachments is not None and self._attachments.take_mime(source):
            return
        super().insertFromMimeData(source)

    def event(self, event: QEvent) -> bool:
        # The text edit claims Ctrl+K (delete to the end of the line, from Emacs); in Chatdesk
        # it opens the search, as the window's shortcut list says.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.keyCombination() == _SEARCH_KEYS
        ):
            event.ignore()
            return False
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in _RETURN_KEYS:
            modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if self._is_send(modifiers):
                event.accept()
                self.submitted.emit()
                return
            if modifiers in (
                Qt.KeyboardModifier.ShiftModifier,
                Qt.KeyboardModifier.ControlModifier,
            ):
                # A plain paragraph break, not the line separator Qt inserts for Shift+Enter.
                event.accept()
                self.insertPlainText("\n")
                return
        super().keyPressEvent(event)

    def sizeHint(self) -> QSize:
        # The plain-text layout measures its document in lines, wrapped lines included.
        lines = int(self.document().size().height())
        height = self._height_for_lines(max(MIN_LINES, min(lines, MAX_LINES)))
        return QSize(super().sizeHint().width(), height)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self._height_for_lines(MIN_LINES))

    def on_layout_document_size_changed(self) -> None:
        self.updateGeometry()

    def _is_send(self, modifiers: Qt.KeyboardModifier) -> bool:
        if self._send_shortcut is SendShortcut.ENTER:
            return modifiers == Qt.KeyboardModifier.NoModifier
        return modifiers == Qt.KeyboardModifier.ControlModifier

    def _height_for_lines(self, lines: int) -> int:
        margins = self.contentsMargins()
        frame = margins.top() + margins.bottom()
        padding = 2 * int(self.document().documentMargin())
        return lines * self.fontMetrics().lineSpacing() + frame + padding
