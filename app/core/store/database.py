"""Opening the database: WAL, foreign keys, and schema migrations by `PRAGMA user_version`.

Each migration is a list of statements applied in one transaction, in order; a database is at
version N once migrations 1..N have run. Never edit a released migration: add a new one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
)

SCHEMA_VERSION = len(MIGRATIONS)


class DatabaseTooNew(RuntimeError):
    """The file was written by a newer Chatdesk; opening it could lose data."""


def open_database(path: Path | str) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database at `path`."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        connection.execute("PRAGMA journal_mode = WAL")
        # WAL with NORMAL is durable across application crashes; only an OS crash can lose
        # the last transactions, never corrupt the file.
        connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA busy_timeout = 5000")
    migrate(connection)
    return connection


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
            for statement in MIGRATIONS[version - 1]:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {version}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
