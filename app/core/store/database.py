"""Opening the database: WAL, foreign keys, and schema migrations by `PRAGMA user_version`.

Each migration is a list of statements applied in one transaction, in order; a database is at
version N once migrations 1..N have run. Never edit a released migration: add a new one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

# The history is private. SQLite creates the -wal and -shm files with the database file's
# mode, so making that one owner-only before the first connection covers all three.
FILE_MODE = 0o600
_SIDE_FILES = ("-wal", "-shm", "-journal")

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the usage ledger, one row per request that reached the server.
    (
        """
        CREATE TABLE usage_ledger (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,               -- unix time the reply finished
            source TEXT NOT NULL,           -- window, quick-ask, cli
            model TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            cached_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            reasoning_tokens INTEGER NOT NULL,
            cost_usd TEXT,                  -- exact decimal as text; NULL when the price is unknown
            estimated INTEGER NOT NULL      -- 1 when the server sent no usage
        )
        """,
        "CREATE INDEX usage_ledger_at ON usage_ledger(at)",
    ),
    # 2: conversation history, its images (files beside the database, named by their SHA-256)
    # and full-text search over every message.
    (
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,       -- last message; the sidebar's order
            pinned INTEGER NOT NULL DEFAULT 0,
            deleted_at REAL,                -- set by delete, cleared by undo; purged later
            model TEXT NOT NULL,
            system_prompt TEXT NOT NULL DEFAULT '',
            params TEXT NOT NULL DEFAULT '{}'   -- JSON of the conversation's ChatParams
        )
        """,
        "CREATE INDEX conversations_order ON conversations(pinned DESC, updated_at DESC)",
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            state TEXT NOT NULL,            -- complete, streaming, interrupted, stopped, failed
            note TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            finish_reason TEXT NOT NULL DEFAULT '',
            choices TEXT,                   -- JSON list of every choice's text when n > 1
            logprobs TEXT,                  -- JSON, when the request asked for them
            usage TEXT,                     -- JSON of the reply's usage
            created_at REAL NOT NULL,
            UNIQUE (conversation_id, position)
        )
        """,
        "CREATE INDEX messages_state ON messages(state) WHERE state = 'streaming'",
        """
        CREATE TABLE message_images (
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            sha256 TEXT,                    -- the file images/<sha256>; NULL for a remote URL
            mime TEXT NOT NULL DEFAULT '',
            url TEXT NOT NULL DEFAULT '',   -- the remote URL, when not stored
            detail TEXT NOT NULL,
            width INTEGER,
            height INTEGER,
            source TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (message_id, position)
        )
        """,
        "CREATE INDEX message_images_sha ON message_images(sha256)",
        """
        CREATE VIRTUAL TABLE message_search USING fts5(
            content, content='messages', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        )
        """,
        """
        CREATE TRIGGER messages_indexed AFTER INSERT ON messages BEGIN
            INSERT INTO message_search(rowid, content) VALUES (new.id, new.content);
        END
        """,
        """
        CREATE TRIGGER messages_unindexed AFTER DELETE ON messages BEGIN
            INSERT INTO message_search(message_search, rowid, content)
                VALUES ('delete', old.id, old.content);
        END
        """,
        """
        CREATE TRIGGER messages_reindexed AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO message_search(message_search, rowid, content)
                VALUES ('delete', old.id, old.content);
            INSERT INTO message_search(rowid, content) VALUES (new.id, new.content);
        END
        """,
    ),
    # 3: search keeps an index of 3-letter prefixes. The word being typed is searched as a
    # prefix, and without it FTS5 merges the postings of every word sharing the prefix: ~50 ms
    # for "the" over 200,000 messages, instead of well under 1 ms (see
    # benchmarks/history_scale.py). It costs about as much space again as the words' index.
    (
        "DROP TABLE message_search",
        """
        CREATE VIRTUAL TABLE message_search USING fts5(
            content, content='messages', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2', prefix='3'
        )
        """,
        "INSERT INTO message_search(message_search) VALUES ('rebuild')",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


class DatabaseTooNew(RuntimeError):
    """The file was written by a newer Chatdesk; opening it could lose data."""


def open_database(path: Path | str) -> sqlite3.Connection:
    """Open (creating if needed, owner-only) and migrate the database at `path`."""
    on_disk = str(path) not in ("", ":memory:")
    if on_disk:
        make_private(Path(path))
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA foreign_keys = ON")
    if on_disk:
        connection.execute("PRAGMA journal_mode = WAL")
        # WAL with NORMAL is durable across application crashes; only an OS crash can lose
        # the last transactions, never corrupt the file.
        connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA busy_timeout = 5000")
    migrate(connection)
    return connection


def make_private(path: Path) -> None:
    """Create the database file owner-only if missing; make it and its side files owner-only.

    Nothing to do off POSIX. Errors are left to `sqlite3.connect`, which reports them better.
    """
    if os.name != "posix":
        return
    # Created with its mode in one step, so it is never readable by others even briefly.
    # O_EXCL matters: opening and closing a file this process already has open through SQLite
    # would drop that connection's POSIX locks (they belong to the process, not the descriptor),
    # and another process could then write under it.
    with contextlib.suppress(OSError):  # FileExistsError, most of the time
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for candidate in (path, *(path.with_name(path.name + side) for side in _SIDE_FILES)):
        with contextlib.suppress(OSError):  # absent side files, or someone else's file
            if candidate.stat().st_mode & 0o777 != FILE_MODE:
                candidate.chmod(FILE_MODE)


def schema_version(connection: sqlite3.Connection) -> int:
    version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(connection: sqlite3.Connection, target: int = SCHEMA_VERSION) -> None:
    """Apply every migration between the file's version and `target`."""
    current = schema_version(connection)
    if current > SCHEMA_VERSION:
        raise DatabaseTooNew(
            f"The history database is from a newer Chatdesk (schema {current}, this one knows "
            f"{SCHEMA_VERSION}); update Chatdesk to open it."
        )
    for version in range(current + 1, target + 1):
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Another process starting at the same moment (the window and `chatdesk ask`) may
            # have applied it while this one waited for the lock.
            if schema_version(connection) >= version:
                connection.execute("COMMIT")
                continue
            for statement in MIGRATIONS[version - 1]:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {version}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
