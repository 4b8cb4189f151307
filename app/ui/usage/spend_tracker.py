"""What this window's session has spent, and today's and this month's totals from the ledger.

The status bar shows them; the budget guard and the Usage window listen for changes, and the
Usage window reads its figures through `SpendTracker.usage` (widgets never read the ledger).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.core.reply import Reply
from app.core.store.ledger import DailySpend, Spend, UsageLedger
from app.core.usage import Usage
from app.ui.widgets.status_bar import StatusBar, add_spend, spend_of

log = logging.getLogger(__name__)


# The Usage window's chart: spend per day over this many days, ending today.
USAGE_DAYS = 30


def _ledger_totals(ledger: UsageLedger) -> tuple[Spend, Spend]:
    return ledger.today(), ledger.this_month()


class UsageUnreadable(Exception):
    """The ledger could not be read; the message says why."""


@dataclass(frozen=True)
class UsageSnapshot:
    """Spend per day and per model over `days` (oldest first), and today's and this month's
    totals, read from the ledger in one go."""

    days: tuple[date, ...]
    daily: tuple[DailySpend, ...]
    today: Spend
    month: Spend

    @property
    def estimated_requests(self) -> int:
        return max(
            sum(entry.estimated_requests for entry in self.daily), self.month.estimated_requests
        )

    @property
    def unpriced_requests(self) -> int:
        return max(
            sum(entry.unpriced_requests for entry in self.daily), self.month.unpriced_requests
        )


def read_usage(
    ledger: UsageLedger, days: int = USAGE_DAYS, now: datetime | None = None
) -> UsageSnapshot:
    """The last `days` days of spend and the totals (blocking: run it in a worker thread)."""
    moment = now or datetime.now()
    last = moment.date()
    period = tuple(last - timedelta(days=offset) for offset in range(days - 1, -1, -1))
    return UsageSnapshot(
        days=period,
        daily=tuple(ledger.daily_spend(days, moment)),
        today=ledger.today(moment),
        month=ledger.this_month(moment),
    )


class SpendTracker:
    """Adds up what the window's replies cost and keeps the status bar's totals current.

    Turns record every reply in the ledger (`app/core/turn.py`); today's and this month's
    totals are read from it, so they include `chatdesk ask` and other windows. Without a ledger
    (the demo), replies are counted for the session only and shown as not billed.
    """

    def __init__(self, status: StatusBar) -> None:
        self._status = status
        self._ledger: UsageLedger | None = None
        self._billed = True
        self._session = Spend()
        self._today: Spend | None = None
        self._month: Spend | None = None
        self._listeners: list[Callable[[], None]] = []

    @property
    def session(self) -> Spend:
        return self._session

    @property
    def month(self) -> Spend | None:
        """This month's totals from the ledger, once read (None without a ledger)."""
        return self._month

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever the ledger's totals were read again or the ledger changed
        (so after every recorded reply)."""
        self._listeners.append(listener)

    @property
    def ledger(self) -> UsageLedger | None:
        return self._ledger

    def use_ledger(self, ledger: UsageLedger | None, *, billed: bool = True) -> None:
        """Record into `ledger` from now on (None: the session total only); `billed` False for
        replies that cost nothing (the demo).

        Switching between billed and unbilled starts the session total afresh: demo replies
        must not be added to real spending.
        """
        if billed != self._billed:
            self._session = Spend()
        self._ledger, self._billed = ledger, billed
        self._today = self._month = None
        self._notify()

    async def counted(self, model_id: str, usage: Usage) -> None:
        """Count one settled reply in the session; its turn recorded it in the ledger already,
        so today's and this month's totals are read again."""
        self._session = add_spend(self._session, spend_of(model_id, usage))
        self._show()
        await self.refresh()

    async def on_turn_settled(self, reply: Reply) -> None:
        """A turn's `on_settled` hook: count its usage (the server's or estimated)."""
        if reply.usage is not None:
            await self.counted(reply.billed_model, reply.usage)

    async def refresh(self) -> None:
        """Read today's and this month's totals from the ledger (in a worker thread)."""
        ledger = self._ledger
        if ledger is None:
            self._show()
            return
        try:
            today, month = await asyncio.get_running_loop().run_in_executor(
                None, _ledger_totals, ledger
            )
        except sqlite3.Error:
            log.warning("could not read totals from the ledger", exc_info=True)
            return
        if ledger is self._ledger:
            self._today, self._month = today, month
            self._show()
            self._notify()

    async def usage(self, days: int = USAGE_DAYS) -> UsageSnapshot | None:
        """The last `days` days of spend and today's and this month's totals, read from the
        ledger in a worker thread; None without a ledger (the demo is not billed).

        Raises `UsageUnreadable` when the ledger cannot be read.
        """
        ledger = self._ledger
        if ledger is None:
            return None
        try:
            return await asyncio.get_running_loop().run_in_executor(None, read_usage, ledger, days)
        except sqlite3.Error as exc:
            log.warning("could not read the usage ledger: %s", exc)
            raise UsageUnreadable(str(exc)) from exc

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _show(self) -> None:
        if not self._billed and self._session.requests == 0:
            self._status.totals_label.hide()
            return
        self._status.show_totals(self._session, self._today, self._month, billed=self._billed)
