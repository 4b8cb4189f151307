"""A reply's token log probabilities, ready to show: each token's text, probability, alternatives.

Logprobs arrive and are stored as one entry per token, `{"token", "logprob", "top"}`, with `top`
the most likely tokens at that position as `[token, logprob]` pairs. A character the tokenizer
splits into several byte tokens comes as escaped bytes (`bytes:\\xe2\\x80`, or `\\xe2\\x80` from
some servers); those runs are merged here into one cell showing the character, since a lone
byte is not text anyone can read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

# A token made only of escaped bytes: part of a character split across tokens.
_BYTE_TOKEN = re.compile(r"(?:bytes:)?((?:\\x[0-9a-fA-F]{2})+)")
_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


class Alternative(NamedTuple):
    """One of the most likely tokens at a position."""

    token: str
    logprob: float

    @property
    def probability(self) -> float:
        return probability(self.logprob)


class TokenCell(NamedTuple):
    """One token of the answer as shown: its text, how likely it was, what else was likely.

    A tuple of plain values, which the garbage collector stops tracking: a long reply's tens
    of thousands of cells would otherwise make every full collection stall the window.
    """

    text: str
    logprob: float
    # The most likely tokens at this position as the API gave them, `[token, logprob]` pairs:
    # read into `alternatives` only when asked (a tooltip), not for every streamed token.
    top: object = ()
    # More than one when a character was split into byte tokens (their logprobs are summed:
    # the probability of the whole character).
    tokens: int = 1
    # The token as the API named it (escaped bytes for a split character).
    token: str = ""

    @property
    def probability(self) -> float:
        return probability(self.logprob)

    @property
    def alternatives(self) -> tuple[Alternative, ...]:
        """The most likely tokens at this position, most likely first (malformed ones left out)."""
        return _alternatives(self.top)


@dataclass(frozen=True, slots=True)
class Summary:
    """A glance at a reply's certainty; `extended` adds cells as they stream in."""

    cells: int = 0
    tokens: int = 0
    probability_sum: float = 0.0
    below_half: int = 0
    least_likely: TokenCell | None = None

    @property
    def mean_probability(self) -> float:
        return self.probability_sum / self.cells if self.cells else 0.0

    def extended(self, more: Iterable[TokenCell]) -> Summary:
        cells, tokens, total, below, least = (
            self.cells,
            self.tokens,
            self.probability_sum,
            self.below_half,
            self.least_likely,
        )
        for cell in more:
            chance = cell.probability
            cells += 1
            tokens += cell.tokens
            total += chance
            below += chance < 0.5
            if least is None or cell.logprob < least.logprob:
                least = cell
        return Summary(cells, tokens, total, below, least)


def probability(logprob: float) -> float:
    """The probability a logprob stands for, in 0..1.

    The API reports -9999 for a token outside the top 20, and rounding can push a certain
    token's logprob a hair above 0: both still give a probability in range.
    """
    if math.isnan(logprob):
        return 0.0
    return math.exp(min(logprob, 0.0))


def percent(value: float) -> str:
    """A probability for people: one decimal, never a misleading 100% or 0%."""
    shown = value * 100
    if value >= 1.0:
        return "100%"
    if shown >= 99.95:
        return ">99.9%"
    if shown < 0.05:
        return "<0.1%"
    return f"{shown:.1f}%"


def shown_token(token: str) -> str:
    """A token with its whitespace made visible (a leading space is easy to miss)."""
    match = _BYTE_TOKEN.fullmatch(token)
    if match:
        return match.group(1)
    return "".join(_VISIBLE.get(ch) or (ch if ch.isprintable() else _escaped(ch)) for ch in token)


def _escaped(char: str) -> str:
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


class CellBuilder:
    """Turns entries into cells as they stream in; a split character waits for its last byte."""

    def __init__(self) -> None:
        # The byte tokens of a character not yet complete: raw bytes, logprob, token, top.
        self._bytes: list[tuple[bytes, float, str, object]] = []

    def feed(self, entries: Iterable[object]) -> list[TokenCell]:
        """Cells for `entries` (malformed ones are skipped); a trailing byte run is held back."""
        cells: list[TokenCell] = []
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            token, logprob = entry.get("token"), entry.get("logprob")
            if not isinstance(token, str) or not isinstance(logprob, int | float):
                continue
            match = _BYTE_TOKEN.fullmatch(token)
            if match:
                raw = bytes.fromhex(match.group(1).replace("\\x", ""))
                self._bytes.append((raw, float(logprob), token, entry.get("top")))
                if _complete_utf8(b"".join(part[0] for part in self._bytes)):
                    cells.append(self._merged())
                continue
            if self._bytes:
                cells.append(self._merged())
            cells.append(TokenCell(token, float(logprob), entry.get("top", ()), 1, token))
        return cells

    def finish(self) -> list[TokenCell]:
        """The held-back byte run, if any (the answer ended inside a character)."""
        return [self._merged()] if self._bytes else []

    def _merged(self) -> TokenCell:
        run, self._bytes = self._bytes, []
        text = b"".join(part[0] for part in run).decode("utf-8", errors="replace")
        logprob = sum(part[1] for part in run)
        token = "".join(part[2] for part in run)
        return TokenCell(text, logprob, run[0][3], len(run), token)


def cells(entries: Iterable[object]) -> list[TokenCell]:
    """Every cell of a finished list of entries."""
    builder = CellBuilder()
    return builder.feed(entries) + builder.finish()


def untokenized_prefix(text: str, shown: Sequence[TokenCell]) -> str:
    """The start of `text` the cells do not cover (a reply continued from an earlier request).

    Empty when the cells cover all of it, or when they do not match its end at all.
    """
    covered = "".join(cell.text for cell in shown)
    if not covered or len(covered) >= len(text) or not text.endswith(covered):
        return ""
    return text[: len(text) - len(covered)]


def summarize(shown: Iterable[TokenCell]) -> Summary:
    return Summary().extended(shown)


def _alternatives(top: object) -> tuple[Alternative, ...]:
    if not isinstance(top, list | tuple):
        return ()
    found = []
    for pair in top:
        if (
            isinstance(pair, list | tuple)
            and len(pair) == 2
            and isinstance(pair[0], str)
            and isinstance(pair[1], int | float)
        ):
            found.append(Alternative(pair[0], float(pair[1])))
    return tuple(sorted(found, key=lambda alternative: -alternative.logprob))


def _complete_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        # Invalid in the middle (not just unfinished at the end): nothing more will fix it.
        return error.end < len(raw) or error.reason != "unexpected end of data"
    return True
