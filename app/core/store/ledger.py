"""The usage ledger: every request's tokens and cost, for status-bar totals, the Usage window's
chart and the monthly budget."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from app.core.catalog import lookup
from app.core.usage import Usage, cost


class Source(StrEnum):
    """The surface a request came from (each turn is tagged with one)."""

    WINDOW = "window"
    QUICK_ASK = "quick-ask"
    COMPARE = "compare"
    RERUN = "rerun"
    CLI = "cli"
    # A reply cut off by a kill, estimated at the next start: which surface sent it is lost.
    RECOVERED = "recovered"


@dataclass(frozen=True)
class Spend:
    """Summed usage over a period; `unpriced_requests` counts replies whose price is unknown."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    unpriced_requests: int = 0
    estimated_requests: int = 0


@dataclass(frozen=True)
class DailySpend:
    """What one model cost on one local calendar day; unpriced requests are counted, not priced."""

    day: date
    model: str
    requests: int = 0
    cost_usd: Decimal = Decimal(0)
    unpriced_requests: int = 0
    estimated_requests: int = 0


class UsageLedger:
    """Append-only record of requests. Thread-safe; each call is one short transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def record(
        self, model_id: str, usage: Usage, source: Source, *, at: float | None = None
    ) -> None:
        price = cost(usage, lookup(model_id))
        with self._lock:
            self._connection.execute(
                "INSERT INTO usage_ledger (at, source, model, prompt_tokens, cached_tokens,"
                " completion_tokens, reasoning_tokens, cost_usd, estimated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time() if at is None else at,
                    source.value,
                    model_id,
                    usage.prompt_tokens,
                    usage.cached_tokens,
                    usage.completion_tokens,
                    usage.reasoning_tokens,
                    str(price.total) if price is not None else None,
                    int(usage.estimated),
                ),
            )

    def spend_since(self, start: float) -> Spend:
        with self._lock:
            rows = self._connection.execute(
                "SELECT prompt_tokens, completion_tokens, cost_usd, estimated"
                " FROM usage_ledger WHERE at >= ?",
                (start,),
            ).fetchall()
        total = Decimal(0)
        unpriced = estimated = prompt = completion = 0
        for prompt_tokens, completion_tokens, cost_usd, was_estimated in rows:
            prompt += prompt_tokens
            completion += completion_tokens
            estimated += was_estimated
            if cost_usd is None:
                unpriced += 1
            else:
                total += Decimal(cost_usd)
        return Spend(len(rows), prompt, completion, total, unpriced, estimated)

    def today(self, now: datetime | None = None) -> Spend:
        moment = now or datetime.now().astimezone()
        return self.spend_since(
            moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        )

    def this_month(self, now: datetime | None = None) -> Spend:
        moment = now or datetime.now().astimezone()
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return self.spend_since(start.timestamp())

    def daily_spend(self, days: int, now: datetime | None = None) -> list[DailySpend]:
        """Spend per local calendar day and model over the last `days` days, today included.

        Ordered by day, then model; days and models without requests are left out.
        """
        today = _local(now).date()
        first = today - timedelta(days=max(days, 1) - 1)
        # A naive datetime's timestamp() follows the system's time-zone rules for that date, so
        # a daylight-saving change inside the period still starts each day at local midnight.
        start = datetime.combine(first, datetime.min.time()).timestamp()
        with self._lock:
            rows = self._connection.execute(
                "SELECT at, model, cost_usd, estimated FROM usage_ledger WHERE at >= ?",
                (start,),
            ).fetchall()
        totals: dict[tuple[date, str], DailySpend] = {}
        for at, model, cost_usd, was_estimated in rows:
            # Days are grouped here, not in SQL: costs are exact decimals stored as text, and
            # SQLite would sum them as floats.
            day = datetime.fromtimestamp(at).date()
            if day > today:
                continue
            key = (day, model)
            entry = totals.get(key) or DailySpend(day, model)
            totals[key] = DailySpend(
                day,
                model,
                requests=entry.requests + 1,
                cost_usd=entry.cost_usd + (Decimal(cost_usd) if cost_usd is not None else 0),
                unpriced_requests=entry.unpriced_requests + int(cost_usd is None),
                estimated_requests=entry.estimated_requests + was_estimated,
            )
        return [totals[key] for key in sorted(totals)]


def _local(moment: datetime | None) -> datetime:
    """`moment` (now by default) as naive local time."""
    if moment is None:
        return datetime.now()
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment
