"""Writing a Markdown text into the transcript while it streams, at a cost bounded per update.

The text is cut into pieces (see `blocks`). A piece known to be complete is rendered once and
frozen: nothing before the open piece is touched again. Only the open piece is redrawn, and
only while it is short (`TAIL_LIMIT`); a longer open piece is shown verbatim instead, appended
delta by delta (a fenced code block keeps its box), and rendered properly once it closes.

A piece so large that rendering it would make one enormous block (a megabyte on one line) stays
verbatim for good, cut into short blocks so layout stays linear.

Whatever the chunking, the final document is the same as for the whole text written at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PySide6.QtGui import (
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
)

from app.ui.markdown import formats
from app.ui.markdown.blocks import BlockScanner, Fence, code_content, fence_language, opening_fence
from app.ui.markdown.plain import split_long_runs
from app.ui.markdown.render import MarkdownRenderer

# The open piece is re-rendered as Markdown on every update while it is at most this long.
TAIL_LIMIT = 2500
# A piece longer than this, or with a line longer than HUGE_LINE, is never rendered as Markdown.
HUGE_PIECE = 120_000
HUGE_LINE = 20_000


def is_huge(piece: str) -> bool:
    return len(piece) > HUGE_PIECE or (
        len(piece) > HUGE_LINE and max(map(len, piece.split("\n"))) > HUGE_LINE
    )


def remove_after(document: QTextDocument, start: int, end: Callable[[], int]) -> None:
    """Remove everything from `start` to `end()`, frames included.

    Should a removal leave something behind (Qt adjusts a selection that crosses a frame
    boundary), it is repeated while it makes progress. The block at `start` takes the format
    of the block merged into it, so its own is put back.
    """
    document_end = end()
    if document_end <= start:
        return
    cursor = QTextCursor(document)
    cursor.setPosition(start)
    block_format, char_format = cursor.blockFormat(), cursor.blockCharFormat()
    while document_end > start:
        cursor.setPosition(start)
        cursor.setPosition(document_end, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        left = end()
        if left >= document_end:
            break
        document_end = left
    if cursor.blockFormat() != block_format:
        cursor.setBlockFormat(block_format)
    if cursor.blockCharFormat() != char_format:
        cursor.setBlockCharFormat(char_format)


def joined(fragments: list[QTextDocumentFragment]) -> QTextDocumentFragment:
    """Fragments as one, exactly as if inserted one after the other (for a single insertion)."""
    if len(fragments) == 1:
        return fragments[0]
    scratch = QTextDocument()
    cursor = QTextCursor(scratch)
    cursor.setBlockFormat(formats.spacer_format())
    for fragment in fragments:
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertFragment(fragment)
    return QTextDocumentFragment(scratch)


class _Writer:
    """Shows one open piece verbatim, appending as it grows; `shown` counts what is final."""

    kind = ""

    def __init__(self, cursor: QTextCursor, end: Callable[[], int]) -> None:
        self._cursor = cursor
        self._end = end
        self._run = 0
        self.shown = 0
        self.code_id: int | None = None

    def _show(self, text: str) -> None:
        if not text:
            return
        pieces, self._run = split_long_runs(text, self._run)
        self._cursor.setPosition(self._end())
        self._cursor.insertText("\n".join(pieces))
        self.shown += len(text)

    def finish(self, final: str) -> None:
        """Show the rest of `final`, the piece's complete verbatim text."""
        self._show(final[self.shown :])


class _PlainWriter(_Writer):
    kind = "plain"

    def __init__(self, cursor: QTextCursor, end: Callable[[], int], base: int) -> None:
        super().__init__(cursor, end)
        self._base = base
        self._pending = ""
        cursor.insertBlock(formats.paragraph_format(bottom=0), QTextCharFormat())

    def feed(self, text: str, hold_from: int | None) -> None:
        self._pending += text
        limit = len(self._pending)
        if hold_from is not None:
            limit = min(limit, max(0, hold_from - self._base - self.shown))
        self._show(self._pending[:limit])
        self._pending = self._pending[limit:]


class _CodeWriter(_Writer):
    kind = "code"

    def __init__(
        self,
        renderer: MarkdownRenderer,
        cursor: QTextCursor,
        end: Callable[[], int],
        opening: str,
        fence: Fence,
    ) -> None:
        super().__init__(cursor, end)
        self._fence = fence
        self._pending = ""
        self._skip = len(opening) + 1
        self._parts: list[str] = []
        self.code_id = renderer.codes.add(self._parts)
        renderer.insert_flat_code(cursor, fence_language(opening), self.code_id)

    def feed(self, text: str, hold_from: int | None) -> None:
        if self._skip:
            dropped = min(self._skip, len(text))
            text, self._skip = text[dropped:], self._skip - dropped
        pending = self._pending + text
        cut = len(pending)
        line_start = pending.rfind("\n") + 1
        partial = pending[line_start:]
        if self._may_close(partial):
            cut = max(line_start - 1, 0)
        elif pending.endswith("\n"):
            # A line break is shown only with the line after it: the fence may close instead.
            cut -= 1
        self._show(pending[:cut])
        self._pending = pending[cut:]

    def _show(self, text: str) -> None:
        if text:
            self._parts.append(text)
            super()._show(text)

    def _may_close(self, partial: str) -> bool:
        stripped = partial.strip()
        return not stripped or (
            stripped == self._fence.marker[0] * len(stripped)
            and len(partial) - len(partial.lstrip(" ")) <= 3 + self._fence.indent
        )


class MarkdownStream:
    """Writes one Markdown text after the block `after`, up to the position `end()` returns.

    The region from the end of `after` to `end()` belongs to the stream; `write` appends,
    `finish` renders what is still open as final. `code_ids` lists the code blocks of the
    final part, for the view to forget them when the text is removed.
    """

    def __init__(
        self, renderer: MarkdownRenderer, after: QTextBlock, end: Callable[[], int]
    ) -> None:
        self._renderer = renderer
        self._document = after.document()
        # Where the final part ends. It stays put when the open part is inserted right there.
        self._mark = QTextCursor(self._document)
        self._mark.setPosition(after.position() + after.length() - 1)
        self._mark.setKeepPositionOnInsert(True)
        self._end = end
        self._scanner = BlockScanner()
        self._open: list[str] = []
        self._open_length = 0
        self._open_start = 0
        self._writer: _PlainWriter | _CodeWriter | None = None
        self._tail_codes: list[int] = []
        self._tail_drawn = False
        self.code_ids: list[int] = []

    def write(self, text: str) -> None:
        if not text:
            return
        self._open.append(text)
        self._open_length += len(text)
        cuts = self._scanner.feed(text)
        with self._one_edit():
            self._close([self._take(cut - self._open_start) for cut in cuts])
            if self._open_length:
                self._show_open(text[max(0, len(text) - self._open_length) :])

    def finish(self) -> None:
        """The text is complete: render what is still open as final."""
        pieces = [self._take(cut - self._open_start) for cut in self._scanner.finish()]
        if self._open_length:
            pieces.append(self._take(self._open_length))
        with self._one_edit():
            self._close(pieces)

    @contextmanager
    def _one_edit(self) -> Iterator[None]:
        # One edit block: Qt lays out and signals the change once, not once per step.
        self._mark.beginEditBlock()
        try:
            yield
        finally:
            self._mark.endEditBlock()

    def discard(self) -> None:
        """Forget the code blocks this stream registered (its text is being removed)."""
        codes = self._renderer.codes
        codes.discard(self.code_ids + self._tail_codes)
        if self._writer is not None and self._writer.code_id is not None:
            codes.discard([self._writer.code_id])
        self.code_ids, self._tail_codes, self._writer = [], [], None

    def _take(self, length: int) -> str:
        text = "".join(self._open)
        piece, rest = text[:length], text[length:]
        self._open = [rest] if rest else []
        self._open_length = len(rest)
        self._open_start += length
        return piece

    def _frozen_end(self) -> int:
        return self._mark.position()

    def _cursor(self) -> QTextCursor:
        cursor = QTextCursor(self._document)
        cursor.setPosition(self._frozen_end())
        return cursor

    def _clear_tail(self) -> None:
        if self._tail_drawn:
            remove_after(self._document, self._frozen_end(), self._end)
        self._renderer.codes.discard(self._tail_codes)
        if self._writer is not None and self._writer.code_id is not None:
            self._renderer.codes.discard([self._writer.code_id])
        self._tail_codes = []
        self._writer = None
        self._tail_drawn = False

    def _close(self, pieces: list[str]) -> None:
        """Render complete pieces as final, one insertion for all those rendered as Markdown."""
        batch: list[QTextDocumentFragment] = []
        for index, piece in enumerate(pieces):
            if not is_huge(piece):
                batch.append(self._renderer.fragment(piece, self.code_ids))
                continue
            self._insert_final(batch)
            batch = []
            base = self._open_start - sum(map(len, pieces[index:]))
            self._close_verbatim(piece, base)
        self._insert_final(batch)

    def _insert_final(self, fragments: list[QTextDocumentFragment]) -> None:
        if not fragments:
            return
        self._clear_tail()
        self._cursor().insertFragment(joined(fragments))
        self._mark.setPosition(self._end())

    def _close_verbatim(self, piece: str, base: int) -> None:
        """A piece too large for Markdown: shown verbatim for good (see the module doc)."""
        fenced = opening_fence(piece)
        writer = self._writer
        if writer is None or writer.kind != ("code" if fenced else "plain"):
            self._clear_tail()
            writer = self._start_writer(piece, base, fenced)
        writer.finish(code_content(piece, fenced[1]) if fenced else piece)
        if writer.code_id is not None:
            self.code_ids.append(writer.code_id)
        self._writer = None
        self._tail_drawn = False
        self._mark.setPosition(self._end())

    def _show_open(self, new_text: str) -> None:
        hold_from = self._scanner.undecided_from
        if self._writer is not None:
            self._writer.feed(new_text, hold_from)
            return
        if self._open_length > TAIL_LIMIT:
            self._clear_tail()
            text = "".join(self._open)
            fenced = opening_fence(text) if self._scanner.open_is_code else None
            self._writer = self._start_writer(text, self._open_start, fenced)
            self._writer.feed(text, hold_from)
            self._tail_drawn = True
            return
        self._open = ["".join(self._open)]
        codes: list[int] = []
        fragment = self._renderer.fragment(self._open[0], codes)
        self._clear_tail()
        self._cursor().insertFragment(fragment)
        self._tail_codes = codes
        self._tail_drawn = True

    def _start_writer(
        self, text: str, base: int, fenced: tuple[str, Fence] | None
    ) -> _PlainWriter | _CodeWriter:
        self._tail_drawn = True
        if fenced is not None:
            opening, fence = fenced
            return _CodeWriter(self._renderer, self._cursor(), self._end, opening, fence)
        return _PlainWriter(self._cursor(), self._end, base)
