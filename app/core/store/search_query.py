"""Searching messages: what the user types, as an FTS5 query that cannot be a syntax error."""

from __future__ import annotations

import re
import sqlite3

from app.core.messages import Role
from app.core.store.records import HIT_END, HIT_START, SearchHit

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


def search_messages(connection: sqlite3.Connection, text: str, limit: int) -> list[SearchHit]:
    """Messages of conversations not deleted matching `text` (see `fts_query`), newest first."""
    query = fts_query(text)
    if not query:
        return []
    rows = connection.execute(
        "SELECT m.conversation_id, c.title, m.id, m.position, m.role,"
        " snippet(message_search, 0, ?, ?, '…', 16), c.updated_at"
        " FROM message_search JOIN messages m ON m.id = message_search.rowid"
        " JOIN conversations c ON c.id = m.conversation_id"
        " WHERE message_search MATCH ? AND c.deleted_at IS NULL"
        " ORDER BY message_search.rowid DESC LIMIT ?",
        (HIT_START, HIT_END, query, limit),
    ).fetchall()
    return [
        SearchHit(int(cid), str(title), int(mid), int(pos), Role(role), str(snip), float(at))
        for cid, title, mid, pos, role, snip, at in rows
    ]
