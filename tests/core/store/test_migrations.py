"""Schema migrations: an older database gains the history and keeps every row it had."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from app.core.messages import ChatMessage
from app.core.store.database import (
    MIGRATIONS,
    SCHEMA_VERSION,
    DatabaseTooNew,
    migrate,
    open_database,
    schema_version,
)
from app.core.store.history import History
from app.core.store.image_files import ImageFiles
from app.core.store.ledger import Source, UsageLedger
from app.core.usage import Usage

LEDGER_COLUMNS = (
    "id, at, source, model, prompt_tokens, cached_tokens, completion_tokens,"
    " reasoning_tokens, cost_usd, estimated"
)


def schema_one_with_spending(path: Path) -> list[tuple[object, ...]]:
    """A database as the release with only the usage ledger left it; its ledger rows."""
    connection = sqlite3.connect(path, isolation_level=None)
    migrate(connection, target=1)
    ledger = UsageLedger(connection)
    ledger.record("gpt-4o", Usage(1200, 300, cached_tokens=200), Source.WINDOW, at=1_700_000_000)
    ledger.record("o1", Usage(50, 900, reasoning_tokens=600), Source.CLI, at=1_700_000_100)
    ledger.record("llama3", Usage(10, 10, estimated=True), Source.QUICK_ASK, at=1_700_000_200)
    rows = connection.execute(f"SELECT {LEDGER_COLUMNS} FROM usage_ledger ORDER BY id").fetchall()
    connection.close()
    return rows


def test_schema_one_database_migrates_keeping_every_spending_row(tmp_path: Path) -> None:
    """Upgrading from the ledger-only release keeps the spending record intact, row for row."""
    path = tmp_path / "chatdesk.db"
    before = schema_one_with_spending(path)
    assert len(before) == 3

    connection = open_database(path)

    assert schema_version(connection) == SCHEMA_VERSION
    after = connection.execute(f"SELECT {LEDGER_COLUMNS} FROM usage_ledger ORDER BY id").fetchall()
    assert after == before
    assert UsageLedger(connection).spend_since(0).requests == 3


def test_migrated_database_holds_conversations(tmp_path: Path) -> None:
    """After the upgrade the same file keeps conversations beside the old spending rows."""
    path = tmp_path / "chatdesk.db"
    schema_one_with_spending(path)
    history = History.open(path)
    conversation = history.create_conversation(model="gpt-4o")
    history.add_message(conversation, ChatMessage.user("first question after the upgrade"))
    history.close()

    reopened = History.open(path)
    assert [c.title for c in reopened.list_conversations()] == ["first question after the upgrade"]
    assert reopened.search("upgrade")[0].conversation_id == conversation


def test_fresh_file_reaches_the_current_schema(tmp_path: Path) -> None:
    """A first start creates the file at the current version with every history table."""
    connection = open_database(tmp_path / "chatdesk.db")
    tables = {
        row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    assert schema_version(connection) == SCHEMA_VERSION
    assert {"usage_ledger", "conversations", "messages", "message_images"} <= tables
    assert "message_search" in tables


def test_reopening_a_current_file_changes_nothing(tmp_path: Path) -> None:
    """Opening the database at every start does not try to apply migrations again."""
    path = tmp_path / "chatdesk.db"
    open_database(path).close()
    connection = open_database(path)
    assert schema_version(connection) == SCHEMA_VERSION


def test_a_file_from_a_newer_chatdesk_is_refused_and_left_untouched(tmp_path: Path) -> None:
    """A newer schema is refused with an explanation, and the file is not altered."""
    path = tmp_path / "chatdesk.db"
    newer = sqlite3.connect(path)
    newer.execute("CREATE TABLE future_things (id INTEGER PRIMARY KEY)")
    newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer.commit()
    newer.close()

    with pytest.raises(DatabaseTooNew, match="update Chatdesk"):
        History.open(path)

    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"future_things"}


def test_a_failed_migration_leaves_the_file_at_its_old_version(tmp_path: Path) -> None:
    """A migration that cannot finish is rolled back whole: old rows stay, version stays."""
    path = tmp_path / "chatdesk.db"
    before = schema_one_with_spending(path)
    # A stray table of the same name (say, from a hand-made experiment) breaks migration 2.
    blocker = sqlite3.connect(path)
    blocker.execute("CREATE TABLE messages (anything TEXT)")
    blocker.commit()
    blocker.close()

    with pytest.raises(sqlite3.OperationalError):
        open_database(path)

    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 1
    assert (
        check.execute("SELECT name FROM sqlite_master WHERE name = 'conversations'").fetchall()
        == []
    )
    assert (
        check.execute(f"SELECT {LEDGER_COLUMNS} FROM usage_ledger ORDER BY id").fetchall() == before
    )


def test_two_processes_starting_at_once_both_open_a_new_file(tmp_path: Path) -> None:
    """The window and `chatdesk ask` starting together: the second waits, then skips the work."""
    path = tmp_path / "chatdesk.db"
    first = sqlite3.connect(path, isolation_level=None)
    first.execute("PRAGMA journal_mode = WAL")
    second = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    waiting = threading.Event()
    second.set_trace_callback(lambda sql: waiting.set() if sql == "BEGIN IMMEDIATE" else None)
    failures: list[BaseException] = []

    def open_second() -> None:
        try:
            migrate(second)  # finds version 0, then waits for the first's lock
        except BaseException as exc:
            failures.append(exc)

    first.execute("BEGIN IMMEDIATE")
    thread = threading.Thread(target=open_second)
    thread.start()
    assert waiting.wait(30)
    for statements in MIGRATIONS:
        for statement in statements:
            first.execute(statement)
    first.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    first.execute("COMMIT")
    thread.join(30)

    assert failures == []
    assert schema_version(second) == SCHEMA_VERSION


def test_history_written_before_the_prefix_index_is_still_found(tmp_path: Path) -> None:
    """Messages saved at schema 2 are searchable, by prefix too, after the upgrade."""
    path = tmp_path / "chatdesk.db"
    connection = sqlite3.connect(path, isolation_level=None)
    migrate(connection, target=2)
    older = History(connection, ImageFiles(tmp_path / "images"))
    conversation = older.create_conversation(model="gpt-4o")
    older.add_message(conversation, ChatMessage.user("Which telescope for the planets?"))
    older.close()

    history = History.open(path)

    assert [hit.conversation_id for hit in history.search("tel")] == [conversation]
    assert [hit.conversation_id for hit in history.search("planets tele")] == [conversation]
    check = sqlite3.connect(path)
    check.execute("INSERT INTO message_search(message_search) VALUES ('integrity-check')")
