"""Text from a server made safe to print on a terminal.

A terminal obeys control characters and escape sequences wherever they appear in what it is
given: a reply (or an error message) could clear the screen, retitle the window, write the
clipboard (OSC 52), hide text behind a carriage return or a backspace, or answer queries as
if the user had typed. Before anything a server said reaches a terminal, its escape sequences
(CSI, OSC, DCS, SOS, PM, APC, in their 7-bit and 8-bit forms, and the short ESC ones) are
removed whole, and every other control character but newline and tab is shown as a visible
symbol instead of obeyed.

A streamed answer arrives in pieces that may split a sequence anywhere (a lone ESC at the end
of one delta, its `[2J` in the next): `TerminalSanitizer` keeps its place across `feed` calls.
"""

from __future__ import annotations

import re
from enum import Enum, auto

ESC = "\x1b"
BEL = "\x07"
CAN = "\x18"
SUB = "\x1a"
# 8-bit (C1) introducers and the string terminator, as terminals in UTF-8 mode may read them.
CSI_8BIT = "\x9b"
ST_8BIT = "\x9c"
STRING_INTRODUCERS_8BIT = frozenset("\x90\x98\x9d\x9e\x9f")  # DCS SOS OSC PM APC
# What follows ESC to open a control string: DCS, SOS, OSC, PM, APC.
STRING_INTRODUCERS_7BIT = frozenset("PX]^_")

# Anything a terminal might obey: C0 but newline and tab, DEL, C1.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# U+2400…U+241F are the Unicode pictures of C0 controls (␇ for BEL, ␈ for backspace).
_CONTROL_PICTURES = 0x2400
DEL_PICTURE = "\u2421"
# C1 controls have no pictures of their own.
C1_PICTURE = "\ufffd"


class _State(Enum):
    TEXT = auto()
    ESCAPE = auto()  # after ESC
    ESCAPE_INTERMEDIATE = auto()  # ESC then 0x20-0x2F bytes (ESC ( B …), until a final byte
    CSI = auto()  # parameters and intermediates, until a final byte 0x40-0x7E
    STRING = auto()  # OSC/DCS/SOS/PM/APC payload, until ST or BEL
    STRING_ESCAPE = auto()  # ESC inside a string: ST if a backslash follows


def visible(char: str) -> str:
    """The visible stand-in for one control character."""
    code = ord(char)
    if code < 0x20:
        return chr(_CONTROL_PICTURES + code)
    if code == 0x7F:
        return DEL_PICTURE
    return C1_PICTURE


class TerminalSanitizer:
    """Removes escape sequences and shows control characters, across the pieces of one text.

    `feed` each piece in order and print what it returns; `finish` at the end (an unfinished
    sequence is dropped, a carriage return held back is let out).
    """

    def __init__(self) -> None:
        self._state = _State.TEXT
        # A carriage return waiting to see whether a newline follows it (CRLF) in the next piece.
        self._pending_cr = False

    def feed(self, text: str) -> str:
        """What of `text` is safe to print now."""
        if self._state is _State.TEXT and not self._pending_cr and not _UNSAFE.search(text):
            # The usual piece of an answer: nothing to look at one character at a time.
            return text
        out: list[str] = []
        for char in text:
            self._step(char, out)
        return "".join(out)

    def finish(self) -> str:
        """The end of the text: what is still held back, and a fresh state for the next one."""
        rest = "\n" if self._pending_cr else ""
        self._state = _State.TEXT
        self._pending_cr = False
        return rest

    def _step(self, char: str, out: list[str]) -> None:
        state = self._state
        if state is _State.TEXT:
            self._text(char, out)
        elif state is _State.ESCAPE:
            self._after_escape(char, out)
        elif state is _State.ESCAPE_INTERMEDIATE:
            if "\x20" <= char <= "\x2f":
                return
            if "\x30" <= char <= "\x7e":
                self._state = _State.TEXT
            else:
                self._abort(char, out)
        elif state is _State.CSI:
            if "\x20" <= char <= "\x3f":
                return
            if "\x40" <= char <= "\x7e":
                self._state = _State.TEXT
            else:
                self._abort(char, out)
        elif state is _State.STRING:
            # The payload (a title, a clipboard write, a font) goes too, whatever it holds.
            if char in (BEL, ST_8BIT):
                self._state = _State.TEXT
            elif char == ESC:
                self._state = _State.STRING_ESCAPE
            elif char in (CAN, SUB):
                # CAN and SUB cancel a sequence on a terminal; nothing of it was shown.
                self._state = _State.TEXT
        else:  # STRING_ESCAPE
            if char == "\\":
                self._state = _State.TEXT
            else:
                self._state = _State.ESCAPE
                self._after_escape(char, out)

    def _text(self, char: str, out: list[str]) -> None:
        if self._pending_cr:
            self._pending_cr = False
            # CRLF is a line ending; a lone carriage return would put the cursor back over
            # what was printed and let the next text hide it: it starts a new line instead.
            out.append("\n")
            if char == "\n":
                return
        if char == "\r":
            self._pending_cr = True
        elif char == ESC:
            self._state = _State.ESCAPE
        elif char == CSI_8BIT:
            self._state = _State.CSI
        elif char in STRING_INTRODUCERS_8BIT:
            self._state = _State.STRING
        elif char == ST_8BIT:
            pass  # a terminator with nothing to end
        elif _UNSAFE.match(char):
            out.append(visible(char))
        else:
            out.append(char)

    def _after_escape(self, char: str, out: list[str]) -> None:
        if char == "[":
            self._state = _State.CSI
        elif char in STRING_INTRODUCERS_7BIT:
            self._state = _State.STRING
        elif "\x20" <= char <= "\x2f":
            self._state = _State.ESCAPE_INTERMEDIATE
        elif "\x30" <= char <= "\x7e":
            # A two-character sequence (ESC c resets the terminal, ESC 7 saves the cursor…).
            self._state = _State.TEXT
        else:
            self._abort(char, out)

    def _abort(self, char: str, out: list[str]) -> None:
        # A sequence broken by a character that cannot belong to it: terminals drop what came
        # before and take that character as it is (another ESC starts a new sequence).
        self._state = _State.TEXT
        self._text(char, out)


def sanitize(text: str) -> str:
    """`text` (whole, not a piece of a stream) safe to print on a terminal."""
    if not _UNSAFE.search(text):
        return text
    cleaner = TerminalSanitizer()
    return cleaner.feed(text) + cleaner.finish()
