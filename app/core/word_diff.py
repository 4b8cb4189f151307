"""A word-level diff of two answers: which words a second answer dropped and which it added.

Answers are compared word by word rather than character by character: a sampling change
replaces whole words, and a character diff of prose highlights confetti. Whitespace is kept
for display but ignored when matching, so a reflowed line is not reported as a change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import StrEnum

# A word with the whitespace after it; text before the first word is its own token.
_TOKEN = re.compile(r"\S+\s*|\s+")


class Change(StrEnum):
    SAME = "same"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class Segment:
    """A run of words that both answers share, or that only one of them has."""

    change: Change
    text: str

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class WordDiff:
    """How `after` differs from `before`, as segments in reading order."""

    before: str
    after: str
    segments: tuple[Segment, ...]

    @property
    def identical(self) -> bool:
        """Character for character the same."""
        return self.before == self.after

    @property
    def same_words(self) -> bool:
        """The same words in the same order (perhaps spaced or broken into lines differently)."""
        return all(segment.change is Change.SAME for segment in self.segments)

    @property
    def added_words(self) -> int:
        return sum(s.words for s in self.segments if s.change is Change.ADDED)

    @property
    def removed_words(self) -> int:
        return sum(s.words for s in self.segments if s.change is Change.REMOVED)

    def summary(self) -> str:
        """One plain sentence: identical, or how many words changed."""
        if self.identical:
            return "Identical: the same answer, word for word."
        if self.same_words:
            return "The same words; only the spacing or line breaks differ."
        total = len(self.after.split())
        return (
            f"Changed: {_words(self.removed_words)} removed, {_words(self.added_words)} added "
            f"({total:,} words in the new answer)."
        )


def _words(count: int) -> str:
    return f"{count:,} word" if count == 1 else f"{count:,} words"


def tokens(text: str) -> list[str]:
    """`text` cut into words, each with the whitespace that follows it."""
    return _TOKEN.findall(text)


def diff_words(before: str, after: str) -> WordDiff:
    """The word diff turning `before` into `after`."""
    old, new = tokens(before), tokens(after)
    matcher = SequenceMatcher(
        None, [t.strip() for t in old], [t.strip() for t in new], autojunk=False
    )
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _append(segments, Change.SAME, "".join(new[j1:j2]))
            continue
        if i2 > i1:
            _append(segments, Change.REMOVED, "".join(old[i1:i2]))
        if j2 > j1:
            _append(segments, Change.ADDED, "".join(new[j1:j2]))
    return WordDiff(before, after, tuple(segments))


def _append(segments: list[Segment], change: Change, text: str) -> None:
    if not text:
        return
    if segments and segments[-1].change is change:
        segments[-1] = Segment(change, segments[-1].text + text)
    else:
        segments.append(Segment(change, text))
