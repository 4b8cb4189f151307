"""The usage ledger: requests recorded with exact costs, summed per day and month."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from app.core.store.database import SCHEMA_VERSION, DatabaseTooNew, open_database, schema_version
from app.core.store.ledger import DailySpend, Source, UsageLedger
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


def test_daily_spend_is_per_local_day_and_model() -> None:
    """Each day's spend is split by model, in day order, with exact decimal costs."""
    ledger = UsageLedger(open_database(":memory:"))
    now = datetime(2026, 3, 20, 15, 0)
    yesterday_late = datetime(2026, 3, 19, 23, 59)
    today_early = datetime(2026, 3, 20, 0, 1)
    ledger.record("gpt-4o", Usage(1_000_000, 0), Source.WINDOW, at=yesterday_late.timestamp())
    ledger.record("gpt-4o", Usage(0, 100_000), Source.CLI, at=today_early.timestamp())
    ledger.record("gpt-4o-mini", Usage(10, 10), Source.QUICK_ASK, at=now.timestamp())
    ledger.record("gpt-4o-mini", Usage(10, 10), Source.WINDOW, at=now.timestamp())

    assert ledger.daily_spend(30, now) == [
        DailySpend(date(2026, 3, 19), "gpt-4o", requests=1, cost_usd=Decimal("2.5")),
        DailySpend(date(2026, 3, 20), "gpt-4o", requests=1, cost_usd=Decimal("1.0")),
        DailySpend(date(2026, 3, 20), "gpt-4o-mini", requests=2, cost_usd=Decimal("0.000015")),
    ]


def test_daily_spend_covers_only_the_last_n_days() -> None:
    """A 30-day chart starts at local midnight 29 days before today: older requests drop out."""
    ledger = UsageLedger(open_database(":memory:"))
    now = datetime(2026, 3, 31, 9, 0)
    first_day = datetime(2026, 3, 2, 0, 0, 30)
    day_before = datetime(2026, 3, 1, 23, 59, 30)
    for moment in (first_day, day_before):
        ledger.record("gpt-4o", Usage(1000, 0), Source.WINDOW, at=moment.timestamp())

    days = {entry.day for entry in ledger.daily_spend(30, now)}

    assert days == {date(2026, 3, 2)}


def test_daily_spend_counts_unpriced_and_estimated_requests_apart() -> None:
    """A model without a price adds a request but no cost; locally counted tokens are marked."""
    ledger = UsageLedger(open_database(":memory:"))
    now = datetime(2026, 5, 4, 12, 0)
    ledger.record("llama3", Usage(500, 500), Source.CLI, at=now.timestamp())
    ledger.record("llama3", Usage(500, 500, estimated=True), Source.CLI, at=now.timestamp())

    [entry] = ledger.daily_spend(7, now)

    assert entry.requests == 2
    assert entry.cost_usd == 0
    assert entry.unpriced_requests == 2
    assert entry.estimated_requests == 1


def test_daily_spend_accepts_a_time_zone_aware_now() -> None:
    """An aware "now" means the same local day as the naive local one."""
    ledger = UsageLedger(open_database(":memory:"))
    now = datetime(2026, 7, 14, 12, 0)
    ledger.record("gpt-4o", Usage(1000, 0), Source.WINDOW, at=now.timestamp())

    assert ledger.daily_spend(1, now.astimezone()) == ledger.daily_spend(1, now)
    assert ledger.daily_spend(1, now)[0].day == date(2026, 7, 14)
