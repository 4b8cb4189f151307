"""The usage ledger: every request's tokens and cost, for status-bar totals and budgets."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from app.core.catalog import lookup
from app.core.usage import Usage, cost


class Source(StrEnum):
    WINDOW = "window"
    QUICK_ASK = "quick-ask"
    CLI = "cli"


@dataclass(frozen=True)
class Spend:
    """Summed usage over a period; `unpriced_requests` counts replies whose price is unknown."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    unpriced_requests: int = 0
    estimated_requests: int = 0


class UsageLedger:
    """Append-only record of requests. Thread-safe; each call is one short transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

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
