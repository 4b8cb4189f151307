"""Turning what the user types into an FTS5 query that cannot be a syntax error."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)
# Shorter prefixes match most of the vocabulary: they would find nearly every message and,
# the index keeping prefixes of three letters only (migration 3), cost a merge of nearly
# every posting: ~150 ms for one letter over 200,000 messages. So until a third letter is
# typed, the word matches whole.
MIN_PREFIX = 3


def fts_query(text: str) -> str:
    """Every word of `text` must match; the last may be a prefix (it may still be typed).

    Words are quoted, so FTS5 operators typed by the user (`AND`, `NEAR`, `"`, `*`, `-`)
    are searched for as text instead of breaking the query.
    """
    words = _WORD.findall(text)
    if not words:
        return ""
    quoted = [f'"{word}"' for word in words]
    if len(words[-1]) >= MIN_PREFIX:
        quoted[-1] += "*"
    return " ".join(quoted)
