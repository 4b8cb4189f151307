"""The transcript document: the messages, each a header, a Markdown body and maybe a note.

A message is, in order: a header line (who wrote it, then its action links), for a reply
with several choices a line of choice tabs, the Markdown body, and for a reply that ended
early a note saying why. Messages are only ever added or removed at the end, and only the
last message's body changes while it streams (see `markdown.stream`).

The user's messages sit in a tinted frame. Replies do not: Qt lays out a frame again from its
first block whenever anything inside it changes, so a reply streaming inside a frame would
cost more with every line. Replies are blocks of the document's root frame, where an edit
only lays out the blocks it touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from PySide6.QtGui import (
    QFont,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFrame,
    QTextFrameFormat,
)

from app.ui.markdown import formats
from app.ui.markdown.render import MarkdownRenderer
from app.ui.markdown.stream import MarkdownStream, remove_after

MESSAGE_PADDING_PX = 12
# Only the last few messages ever change (a new turn re-draws the previous one's links);
# older ones are frozen (see `Transcript._freeze_old`).
LIVE_MESSAGES = 4


class Anchor(Protocol):
    def position(self) -> int: ...


class FixedAnchor:
    """A position nothing is ever inserted before again, so it never moves.

    Qt updates every live QTextCursor of a document on every edit: with a cursor or two per
    message, each streamed word would cost more in a long conversation, and opening a
    2,000-message one took 14 s instead of 3.
    """

    __slots__ = ("_position",)

    def __init__(self, position: int) -> None:
        self._position = position

    def position(self) -> int:
        return self._position


class Speaker(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


class Act(StrEnum):
    """The actions a message header can offer, as link labels."""

    COPY = "Copy"
    EDIT = "Edit"
    CANCEL_EDIT = "Cancel edit"
    REGENERATE = "Regenerate"
    CONTINUE = "Continue"
    # Open the reply in the inspector (see app/ui/inspector).
    PROBABILITIES = "Probabilities"
    JSON = "JSON"
    INVALID_JSON = "Invalid JSON"
    # Reproducibility of the last reply: send its request again, or set a seed to allow it.
    RERUN = "Re-run with same seed"
    SET_SEED = "Set a seed"


@dataclass(eq=False)
class Message:
    """One message as shown: its source text per choice and where it lives in the document."""

    serial: int
    speaker: Speaker
    title: str
    # At the start of the header line; it stays there when text is inserted at the start.
    start: Anchor
    # The tinted box of a user message (replies have none).
    frame: QTextFrame | None
    # Where removing the message cuts the document.
    cut: Anchor
    parts: list[list[str]]
    selected: int = 0
    # Fixed when the message is created: a tab line is drawn only for more than one.
    choices: int = 1
    streaming: bool = False
    note: str = ""
    choice_notes: dict[int, str] = field(default_factory=dict)
    acts: tuple[Act, ...] = ()
    editing: bool = False
    switchable: bool = False
    stream: MarkdownStream | None = None
    # Links after the acts that open the message in the inspector, and what they open.
    tools: tuple[Act, ...] = ()
    details: object = None
    # A muted line after the title: what answered, on which build, with which seed.
    info: str = ""
    # The reproducibility link (RERUN or SET_SEED) the reply offers while it is the last.
    reproduce: Act | None = None

    def text(self, choice: int | None = None) -> str:
        index = self.selected if choice is None else choice
        return "".join(self.parts[index]) if index < len(self.parts) else ""

    @property
    def shown_note(self) -> str:
        return self.note or self.choice_notes.get(self.selected, "")


@dataclass(frozen=True)
class _Opened:
    start: QTextCursor
    frame: QTextFrame | None
    cut: QTextCursor


class Transcript:
    """Builds and edits the messages of `document`; the widget around it handles input."""

    def __init__(self, document: QTextDocument, renderer: MarkdownRenderer) -> None:
        self.document = document
        self.renderer = renderer
        self.messages: list[Message] = []
        self._serial = 0
        self._reset_root()

    def add(
        self, speaker: Speaker, title: str, *, choices: int = 1, tools: tuple[Act, ...] = ()
    ) -> Message:
        """A new, empty message at the end, ready to stream its body."""
        self._serial += 1
        opened = self._open_message(speaker, choices)
        message = Message(
            self._serial,
            speaker,
            title,
            opened.start,
            opened.frame,
            opened.cut,
            [[] for _ in range(choices)],
            choices=choices,
            streaming=True,
            switchable=choices > 1,
            tools=tools,
        )
        self.messages.append(message)
        self._freeze_old()
        self._draw_header(message)
        self._draw_strip(message)
        self._start_body(message)
        return message

    def _freeze_old(self) -> None:
        """Trade the live cursors of messages that can no longer change for fixed positions."""
        for message in reversed(self.messages[:-LIVE_MESSAGES]):
            if isinstance(message.start, FixedAnchor):
                break  # older ones were frozen before
            message.start = FixedAnchor(message.start.position())
            message.cut = FixedAnchor(message.cut.position())
            self._forget(message)

    def write(self, message: Message, text: str, choice: int = 0) -> bool:
        """Record `text` for `choice`; True when it is the choice on screen (to be drawn)."""
        if not 0 <= choice < message.choices:
            return False
        message.parts[choice].append(text)
        return choice == message.selected

    def draw(self, message: Message, text: str) -> None:
        """Append `text` (already recorded) to the body on screen."""
        if message.stream is not None:
            message.stream.write(text)

    def finish(self, message: Message) -> None:
        """The message is complete: render the rest of its body as final, then its note."""
        message.streaming = False
        if message.stream is not None:
            message.stream.finish()
        self._draw_note(message)
        self._draw_strip(message)

    def select(self, message: Message, choice: int) -> None:
        """Show another choice of `message` in place of the current one."""
        if choice == message.selected or not 0 <= choice < message.choices:
            return
        message.selected = choice
        self._draw_strip(message)
        self._redraw_body(message)

    def remove_from(self, index: int) -> list[Message]:
        """Remove messages `index`… from the end of the document; returns them."""
        removed = self.messages[index:]
        if not removed:
            return []
        del self.messages[index:]
        for message in removed:
            self._forget(message)
        remove_after(self.document, removed[0].cut.position(), self._document_end)
        if not self.messages:
            self.document.clear()
            self._reset_root()
        return removed

    def clear(self) -> None:
        for message in self.messages:
            self._forget(message)
        self.messages = []
        self.document.clear()
        self._reset_root()

    def set_acts(self, message: Message, acts: tuple[Act, ...], *, editing: bool = False) -> None:
        if acts == message.acts and editing == message.editing:
            return
        message.acts, message.editing = acts, editing
        self._draw_header(message)

    def set_info(self, message: Message, info: str) -> None:
        if info != message.info:
            message.info = info
            self._draw_header(message)

    def set_tools(self, message: Message, tools: tuple[Act, ...]) -> None:
        if tools != message.tools:
            message.tools = tools
            self._draw_header(message)

    def set_switchable(self, message: Message, switchable: bool) -> None:
        if message.switchable != switchable:
            message.switchable = switchable
            self._draw_strip(message)

    def rebuild(self) -> None:
        """Draw every message again (after the theme changed), streams included."""
        messages = self.messages
        for message in messages:
            self._forget(message)
        self.messages = []
        self.document.clear()
        self._reset_root()
        for message in messages:
            opened = self._open_message(message.speaker, message.choices)
            message.start, message.frame, message.cut = opened.start, opened.frame, opened.cut
            self.messages.append(message)
            self._draw_header(message)
            self._draw_strip(message)
            self._redraw_body(message)
            self._freeze_old()

    # Drawing

    def _reset_root(self) -> None:
        # Empty root blocks (at the top, around frames) are only spacing.
        cursor = QTextCursor(self.document)
        cursor.setBlockFormat(formats.spacer_format())

    def _document_end(self) -> int:
        return self.document.characterCount() - 1

    def _open_message(self, speaker: Speaker, choices: int) -> _Opened:
        """The header line (and tab line) of a new message at the end; where it starts."""
        cursor = QTextCursor(self.document)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        # Removing the message later cuts from here: what it added, and only that, goes.
        cut = QTextCursor(cursor)
        cut.setKeepPositionOnInsert(True)
        header = QTextBlockFormat()
        header.setBottomMargin(6)
        frame: QTextFrame | None = None
        if speaker is Speaker.USER:
            if cursor.block().length() > 1:
                cursor.insertBlock(formats.spacer_format(), QTextCharFormat())
            frame = cursor.insertFrame(self._frame_format())
            after = QTextCursor(self.document)
            after.setPosition(frame.lastPosition() + 1)
            after.setBlockFormat(formats.spacer_format())
        else:
            header.setTopMargin(10)
            cursor.insertBlock(header, QTextCharFormat())
        cursor.setBlockFormat(header)
        cursor.setBlockCharFormat(QTextCharFormat())
        start = QTextCursor(cursor)
        start.movePosition(QTextCursor.MoveOperation.StartOfBlock)
        start.setKeepPositionOnInsert(True)
        if choices > 1:
            cursor.insertBlock(self._strip_format(), QTextCharFormat())
        return _Opened(start, frame, cut)

    def _frame_format(self) -> QTextFrameFormat:
        frame = QTextFrameFormat()
        frame.setPadding(MESSAGE_PADDING_PX)
        frame.setTopMargin(4)
        frame.setBottomMargin(4)
        frame.setBackground(self.renderer.theme.user_background)
        return frame

    def _region_end(self, message: Message) -> int:
        if message.frame is not None:
            return message.frame.lastPosition()
        return self._document_end()

    def _strip_format(self) -> QTextBlockFormat:
        strip = QTextBlockFormat()
        strip.setBottomMargin(8)
        return strip

    def _header_block(self, message: Message) -> QTextBlock:
        return self.document.findBlock(message.start.position())

    def _body_after(self, message: Message) -> QTextBlock:
        header = self._header_block(message)
        return header.next() if message.choices > 1 else header

    def _replace_block_text(
        self, block: QTextBlock, spans: list[tuple[str, QTextCharFormat]]
    ) -> None:
        # New text goes in first and the old is removed after it, so a position kept at the
        # block's end (a stream's mark) moves with the text instead of collapsing to its start.
        cursor = QTextCursor(block)
        old_length = block.length() - 1
        for text, char_format in spans:
            cursor.insertText(text, char_format)
        cursor.setPosition(cursor.position() + old_length, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()

    def _draw_header(self, message: Message) -> None:
        theme = self.renderer.theme
        title = QTextCharFormat()
        title.setFontWeight(QFont.Weight.Bold)
        title.setForeground(theme.user_title if message.speaker is Speaker.USER else theme.text)
        spans = [(message.title, title)]
        small = formats.small_char_format(theme)
        if message.editing:
            spans.append(("   editing: sending replaces this exchange", small))
        if message.info:
            spans.append((f"   {message.info}", small))
        links = self.renderer.links
        for index, act in enumerate((*message.acts, *message.tools)):
            spans.append(("   " if index == 0 else "  ·  ", small))
            href = links.href(act.name.lower().replace("_", "-"), message.serial)
            spans.append((act.value, formats.link_char_format(theme, href, small=True)))
        self._replace_block_text(self._header_block(message), spans)

    def _draw_strip(self, message: Message) -> None:
        if message.choices <= 1:
            return
        theme = self.renderer.theme
        small = formats.small_char_format(theme)
        chosen = QTextCharFormat()
        chosen.setFontWeight(QFont.Weight.Bold)
        chosen.setFontUnderline(True)
        spans: list[tuple[str, QTextCharFormat]] = []
        for index in range(message.choices):
            if index:
                spans.append(("    ", small))
            label = f"Choice {index + 1}"
            if index == message.selected:
                spans.append((label, chosen))
            elif message.switchable:
                href = self.renderer.links.href("choice", f"{message.serial}.{index}")
                spans.append((label, formats.link_char_format(theme, href)))
            else:
                spans.append((label, small))
        self._replace_block_text(self._header_block(message).next(), spans)

    def _start_body(self, message: Message) -> None:
        message.stream = MarkdownStream(
            self.renderer, self._body_after(message), lambda: self._region_end(message)
        )

    def _redraw_body(self, message: Message) -> None:
        if message.stream is not None:
            message.stream.discard()
        after = self._body_after(message)
        body_start = after.position() + after.length() - 1
        remove_after(self.document, body_start, lambda: self._region_end(message))
        self._start_body(message)
        assert message.stream is not None
        message.stream.write(message.text())
        if not message.streaming:
            message.stream.finish()
            self._draw_note(message)

    def _draw_note(self, message: Message) -> None:
        note = message.shown_note
        if not note:
            return
        theme = self.renderer.theme
        cursor = QTextCursor(self.document)
        cursor.setPosition(self._region_end(message))
        block = QTextBlockFormat()
        block.setTopMargin(4)
        char = QTextCharFormat()
        char.setFontItalic(True)
        char.setForeground(theme.muted)
        if cursor.block().length() > 1 or cursor.block().textList() is not None:
            cursor.insertBlock(block, char)
        else:
            cursor.setBlockFormat(block)
        cursor.insertText(note, char)

    def _forget(self, message: Message) -> None:
        if message.stream is not None:
            message.stream.discard()
            message.stream = None
