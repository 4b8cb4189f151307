"""The usage ledger: requests recorded with exact costs, summed per day and month."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from app.core.store.database import SCHEMA_VERSION, DatabaseTooNew, open_database, schema_version
from app.core.store.ledger import Source, UsageLedger
from app.core.usage import Usage


def test_new_database_is_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    """A fresh file reaches the current schema version and uses WAL for crash safety."""
    connection = open_database(tmp_path / "chatdesk.db")
    assert schema_version(connection) == SCHEMA_VERSION
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_keeps_the_rows(tmp_path: Path) -> None:
    """Recorded usage survives closing and reopening the database."""
    path = tmp_path / "chatdesk.db"
    UsageLedger(open_database(path)).record("gpt-4o", Usage(1000, 100), Source.CLI)
    assert UsageLedger(open_database(path)).spend_since(0).requests == 1


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    """Opening a newer schema would risk data: it is refused with an explanation."""
    path = tmp_path / "chatdesk.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(DatabaseTooNew, match="newer Chatdesk"):
        open_database(path)


def test_costs_sum_exactly_and_unknown_prices_are_counted_apart() -> None:
    """Thousands of tiny costs sum exactly; a model without a price is counted, not guessed."""
    ledger = UsageLedger(open_database(":memory:"))
    for _ in range(1000):
        ledger.record("gpt-4o-mini", Usage(10, 10), Source.WINDOW)
    ledger.record("llama3", Usage(10, 10, estimated=True), Source.CLI)
    spend = ledger.spend_since(0)
    # 10 × $0.15/M + 10 × $0.60/M = $0.0000075 per request.
    assert spend.cost_usd == Decimal("0.0075")
    assert spend.requests == 1001 and spend.unpriced_requests == 1
    assert spend.estimated_requests == 1


def test_today_and_this_month_use_local_calendar_boundaries() -> None:
    """Yesterday's spend counts for the month but not for today; last month's for neither."""
    ledger = UsageLedger(open_database(":memory:"))
    now = datetime(2026, 11, 25, 12, 0).astimezone()
    ledger.record("gpt-4o", Usage(1_000_000, 0), Source.WINDOW, at=now.timestamp())
    yesterday = now - timedelta(days=1)
    ledger.record("gpt-4o", Usage(1_000_000, 0), Source.WINDOW, at=yesterday.timestamp())
    last_month = now - timedelta(days=40)
    ledger.record("gpt-4o", Usage(1_000_000, 0), Source.WINDOW, at=last_month.timestamp())
    assert ledger.today(now).cost_usd == Decimal("2.5")
    assert ledger.this_month(now).cost_usd == Decimal("5.0")
