"""The conversation as the user reads it: their messages and the assistant's streamed replies.

Streaming is append-only. Deltas are buffered and written to the end of the document with one
`QTextCursor` at most once per frame, so a reply of any length costs O(delta) per update and a
flood of tiny chunks costs one layout per frame. Very long paragraphs are split into several
blocks because inserting into one long QTextDocument block re-lays out the whole block each
time (quadratic over a reply that never breaks its line).
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPalette, QTextBlockFormat, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextBrowser, QWidget

# One frame at 60 Hz: the most often a streamed reply is repainted.
FRAME_MS = 16
# Beyond this many characters a paragraph is continued in a new block at the next space.
SOFT_BLOCK_CHARS = 3000
# A run with no space at all (a URL, base64) is cut here regardless.
HARD_BLOCK_CHARS = 4000
# How close to the bottom (in pixels) still counts as "at the bottom" for auto-scroll.
_FOLLOW_SLACK_PX = 4


def split_long_runs(text: str, run_length: int) -> tuple[list[str], int]:
    """`text` cut into pieces to insert as separate blocks, and the length of the last run.

    `run_length` is how many characters the current block already holds. Newlines in `text`
    end blocks as usual; a run longer than `SOFT_BLOCK_CHARS` is cut after its next space, or
    at `HARD_BLOCK_CHARS` when no space comes. Joining the pieces with newlines gives `text`
    with only those cuts added.
    """
    pieces: list[str] = []
    current = run_length
    for index, line in enumerate(text.split("\n")):
        if index > 0:
            current = 0
        start = 0
        while current + len(line) - start > SOFT_BLOCK_CHARS:
            soft = start + max(SOFT_BLOCK_CHARS - current, 0)
            hard = start + max(HARD_BLOCK_CHARS - current, 1)
            space = line.find(" ", soft, hard)
            cut = space + 1 if space >= 0 else hard
            if cut >= len(line):
                break
            pieces.append(line[start:cut])
            start, current = cut, 0
        pieces.append(line[start:])
        current += len(line) - start
    return pieces, current


class ChatView(QTextBrowser):
    """Read-only transcript. One turn is a user message followed by one streamed reply.

    `reply_text_flushed` is emitted each time buffered reply text reaches the document.
    """

    reply_text_flushed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.setAccessibleName("Conversation")
        self.setOpenLinks(False)
        self.setUndoRedoEnabled(False)
        self.setFrameShape(QTextBrowser.Shape.NoFrame)
        self.setPlaceholderText(
            "Your conversation appears here  ·  Esc stops a reply  ·  Ctrl+N starts a new chat"
        )
        self.document().setDocumentMargin(16)
        self._end = QTextCursor(self.document())
        self._pending: list[str] = []
        self._run_length = 0
        self._turn_start: int | None = None
        self._follow = True
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FRAME_MS)
        self._flush_timer.timeout.connect(self.flush)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self.on_scrollbar_value_changed)
        bar.rangeChanged.connect(self.on_scrollbar_range_changed)

    @property
    def following(self) -> bool:
        """True while the view keeps the newest text in sight."""
        return self._follow

    @property
    def is_empty(self) -> bool:
        return self.document().isEmpty()

    def clear_conversation(self) -> None:
        self._flush_timer.stop()
        self._pending.clear()
        self.clear()
        self._end = QTextCursor(self.document())
        self._run_length = 0
        self._turn_start = None
        self._follow = True

    def add_user_message(self, text: str) -> None:
        """Start a new turn with the user's message."""
        self.flush()
        self._end.movePosition(QTextCursor.MoveOperation.End)
        self._turn_start = self._end.position()
        self._insert_header("You", self._accent())
        self._insert_body(text)

    def begin_reply(self, label: str) -> None:
        """Open the assistant's reply under a header naming `label` (the model)."""
        self.flush()
        self._insert_header(label, self.palette().color(QPalette.ColorRole.Text))
        self._new_block(self._body_format())
        self._run_length = 0

    def append_reply(self, text: str) -> None:
        """Queue streamed text; it reaches the document on the next frame."""
        if not text:
            return
        self._pending.append(text)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        """Write queued reply text now."""
        self._flush_timer.stop()
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        pieces, self._run_length = split_long_runs(text, self._run_length)
        self._end.movePosition(QTextCursor.MoveOperation.End)
        self._end.insertText("\n".join(pieces), self._body_char_format())
        self.reply_text_flushed.emit()

    def end_reply(self, note: str = "") -> None:
        """Close the reply; `note` (why it ended early) is shown under it, not part of it."""
        self.flush()
        if note:
            note_format = self._body_char_format()
            note_format.setFontItalic(True)
            note_format.setForeground(self.palette().color(QPalette.ColorRole.PlaceholderText))
            self._new_block(self._body_format())
            self._end.insertText(note, note_format)

    def rollback_turn(self) -> None:
        """Remove the current turn (user message and any reply) from the transcript."""
        self._flush_timer.stop()
        self._pending.clear()
        if self._turn_start is None:
            return
        # The turn starts at the block separator before its header, so it goes too.
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._turn_start)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        if self.document().isEmpty():
            cursor.setBlockFormat(QTextBlockFormat())
        self._turn_start = None

    def reply_text(self) -> str:
        """Plain text of the transcript (what a user would copy)."""
        return self.document().toPlainText()

    def on_scrollbar_value_changed(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._follow = value >= bar.maximum() - _FOLLOW_SLACK_PX

    def on_scrollbar_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)

    def _insert_header(self, title: str, color: QColor) -> None:
        header = QTextBlockFormat()
        header.setTopMargin(0 if self.document().isEmpty() else 18)
        header.setBottomMargin(4)
        char = QTextCharFormat()
        char.setFontWeight(QFont.Weight.Bold)
        char.setForeground(color)
        self._new_block(header)
        self._end.insertText(title, char)

    def _insert_body(self, text: str) -> None:
        self._new_block(self._body_format())
        pieces, _ = split_long_runs(text, 0)
        self._end.insertText("\n".join(pieces), self._body_char_format())

    def _new_block(self, block_format: QTextBlockFormat) -> None:
        self._end.movePosition(QTextCursor.MoveOperation.End)
        if self.document().isEmpty():
            self._end.setBlockFormat(block_format)
        else:
            self._end.insertBlock(block_format, self._body_char_format())

    def _body_format(self) -> QTextBlockFormat:
        body = QTextBlockFormat()
        body.setLineHeight(120, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        return body

    def _body_char_format(self) -> QTextCharFormat:
        char = QTextCharFormat()
        char.setForeground(self.palette().color(QPalette.ColorRole.Text))
        return char

    def _accent(self) -> QColor:
        return self.palette().color(QPalette.ColorRole.Highlight)
