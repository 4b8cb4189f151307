"""Where a Markdown text can be cut into pieces that render the same apart as together.

A streamed reply is rendered one piece at a time: a piece is rendered once when it is known
to be complete and never touched again, so the cost of a delta does not grow with the reply.
`BlockScanner` reads the text as it arrives, line by line, and reports those cut points.

A cut is made only where the blocks on either side cannot affect each other:

- before a line that starts at column 0 after a blank line (a new paragraph, heading, table,
  quote or list), except a list item after a list, which may continue that list;
- before a fence opening at column 0, and right after its closing fence.

Never inside a fence. Every decision is final: it depends only on text already seen, so a
text cut while streaming is cut exactly as the whole text would be. (A link reference
definition placed after the paragraph that uses it is the one thing this does not honour.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Lines longer than this are never fences or list markers that matter here: only their
# beginning is kept, so a megabyte on one line costs no more than a short one.
_LINE_KEEP = 200
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_BULLET_CHARS = "-*+"


@dataclass(frozen=True)
class Fence:
    """An open code fence: its character run (``` or ~~~, maybe longer) and indentation."""

    marker: str
    indent: int

    def is_closed_by(self, line: str) -> bool:
        stripped = line.strip()
        return (
            len(line) - len(line.lstrip(" ")) <= 3 + self.indent
            and len(stripped) >= len(self.marker)
            and stripped == self.marker[0] * len(stripped)
        )


def fence_opening(line: str) -> Fence | None:
    """The fence `line` opens, if it is a fence opening (indented fences included)."""
    stripped = line.lstrip(" ")
    indent = len(line) - len(stripped)
    match = _FENCE.match(stripped)
    if match is None:
        return None
    marker, info = match.group(2), match.group(3)
    if marker[0] == "`" and "`" in info:
        # A backtick fence's info string cannot hold a backtick: this is inline code.
        return None
    return Fence(marker, indent)


def fence_language(line: str) -> str:
    """The language named on a fence opening line (`python` for ```python title=x)."""
    info = line.strip().lstrip("`~").strip()
    return info.split()[0] if info else ""


def opening_fence(piece: str) -> tuple[str, Fence] | None:
    """The opening line and fence of a piece that is a fenced code block."""
    line, newline, _ = piece.partition("\n")
    fence = fence_opening(line) if newline else None
    if fence is None or fence.indent:
        return None
    return line, fence


def code_content(piece: str, fence: Fence) -> str:
    """The code of a fenced piece: its lines between the fences."""
    lines = piece.split("\n")[1:]
    if lines and lines[-1] == "":
        lines.pop()
    if lines and fence.is_closed_by(lines[-1]):
        lines.pop()
    return "\n".join(lines)


def list_marker(head: str, complete: bool) -> bool | None:
    """Whether a line starting with `head` is a list item; None while that is undecided."""
    if not head:
        return None if not complete else False
    if head[0] in _BULLET_CHARS:
        if len(head) == 1:
            return True if complete else None
        return head[1] in " \t"
    digits = len(head) - len(head.lstrip("0123456789"))
    if digits == 0 or digits > 9:
        return False
    if digits == len(head):
        return None if not complete else False
    if head[digits] not in ".)":
        return False
    if digits + 1 == len(head):
        return True if complete else None
    return head[digits + 1] in " \t"


class BlockScanner:
    """Reads Markdown as it streams in and reports where it can be cut (see the module doc).

    `feed(text)` returns the offsets (into the whole text) of the cuts it could decide;
    `finish()` decides what the end of the text settles. `open_start` is where the piece
    not yet cut begins, and `open_is_code` tells whether that piece is a fenced code block.
    """

    def __init__(self) -> None:
        self.offset = 0
        self.open_start = 0
        self.open_is_code = False
        self.open_language = ""
        self._line_start = 0
        self._line = ""
        self._line_length = 0
        self._line_blank = True
        self._previous_blank = False
        self._fence: Fence | None = None
        self._fence_cuts = False
        self._open_has_list = False
        # Whether the current line's start still waits for a decision about a cut.
        self._candidate = False

    @property
    def undecided_from(self) -> int | None:
        """Where a cut may still be made behind the end of the text, if anywhere.

        That is the current line's start while it might yet begin a new piece: after a blank
        line until its first characters decide, or while it might become a fence opening.
        Text from there on must not be shown as final.
        """
        if not self._line_length:
            return None
        if self._candidate:
            return self._line_start
        if self._fence is None and self._line_length <= _LINE_KEEP and self._line[0] in "`~":
            return self._line_start
        return None

    def feed(self, text: str) -> list[int]:
        cuts: list[int] = []
        position = 0
        while position < len(text):
            newline = text.find("\n", position)
            end = len(text) if newline < 0 else newline
            self._take(text[position:end])
            if newline < 0:
                self._decide(complete=False, cuts=cuts)
                break
            self.offset += 1
            self._decide(complete=True, cuts=cuts)
            self._end_line(cuts)
            position = newline + 1
        return cuts

    def finish(self) -> list[int]:
        """The cuts the end of the text decides (the last line counts as complete)."""
        cuts: list[int] = []
        if self._line_length:
            self._decide(complete=True, cuts=cuts)
            self._end_line(cuts)
        return [cut for cut in cuts if cut < self.offset]

    def _take(self, piece: str) -> None:
        if not piece:
            return
        if len(self._line) < _LINE_KEEP:
            self._line += piece[: _LINE_KEEP - len(self._line)]
        self._line_length += len(piece)
        self.offset += len(piece)
        if self._line_blank and piece.strip():
            self._line_blank = False

    def _decide(self, *, complete: bool, cuts: list[int]) -> None:
        if not self._candidate:
            return
        head = self._line
        if self._line_blank:
            # Still blank (or only spaces so far): the next line may be the one that cuts.
            if complete:
                self._candidate = False
            return
        if head[0] in " \t":
            self._candidate = False
            return
        if self._open_has_list and (head[0] in _BULLET_CHARS or head[0].isdigit()):
            continues = list_marker(head, complete)
            if continues is None:
                return
            self._candidate = False
            if continues:
                return
        self._candidate = False
        self._cut(self._line_start, cuts)

    def _end_line(self, cuts: list[int]) -> None:
        line = self._line if self._line_length <= _LINE_KEEP else ""
        next_start = self.offset
        if self._fence is not None:
            if line and self._fence.is_closed_by(line):
                closes_piece = self._fence_cuts
                self._fence = None
                self._fence_cuts = False
                if closes_piece:
                    self._cut(next_start, cuts)
            self._previous_blank = False
        else:
            fence = fence_opening(line) if line else None
            if fence is not None:
                self._fence = fence
                self._fence_cuts = fence.indent == 0
                if self._fence_cuts:
                    self._cut(self._line_start, cuts)
                    self.open_is_code = True
                    self.open_language = fence_language(line)
            elif not self._line_blank and list_marker(self._line.lstrip(" "), True):
                self._open_has_list = True
            self._previous_blank = self._line_blank
        self._line_start = next_start
        self._line = ""
        self._line_length = 0
        self._line_blank = True
        self._candidate = self._previous_blank and self._fence is None

    def _cut(self, at: int, cuts: list[int]) -> None:
        if at <= self.open_start:
            return
        cuts.append(at)
        self.open_start = at
        self.open_is_code = False
        self.open_language = ""
        self._open_has_list = False
