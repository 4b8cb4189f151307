"""The Usage window: spend per day for the last 30 days stacked by model, today's and this
month's totals, and the monthly budget.

It asks the spend tracker for the ledger's figures (read in a worker thread) whenever it is
shown and whenever a reply has been recorded while it is open, so it includes `chatdesk ask`
and the quick-ask popup as well; the window itself only renders them.
"""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import Callable, Coroutine
from datetime import date
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.budget import BudgetLevel, BudgetState, budget_state, dollars
from app.core.settings import Settings
from app.core.settings_store import SettingsChange, SettingsStore
from app.core.store.ledger import Spend
from app.core.usage import format_usd
from app.ui.tasks import report_bug
from app.ui.usage.budget_guard import BUDGET_FIELDS
from app.ui.usage.spend_chart import SpendChart
from app.ui.usage.spend_tracker import USAGE_DAYS, SpendTracker, UsageSnapshot, UsageUnreadable
from app.ui.widgets.status_bar import money_text
from app.ui.widgets.theme import Tone, is_dark, set_tone

Track = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]

WINDOW_TITLE = "Usage — Chatdesk"
CHART_DAYS = USAGE_DAYS
_BAR_STEPS = 1000


def requests_text(spend: Spend) -> str:
    return f"{spend.requests:,} request{'s' if spend.requests != 1 else ''}"


def daily_budget(settings: Settings, today: date) -> Decimal | None:
    """The budget spread evenly over this month's days, for the chart's guide line."""
    if settings.monthly_budget_usd is None:
        return None
    days = calendar.monthrange(today.year, today.month)[1]
    return dollars(settings.monthly_budget_usd) / days


def notes_text(snapshot: UsageSnapshot) -> str:
    """What the figures leave out or only estimate; empty when they are exact."""
    notes = []
    if snapshot.estimated_requests:
        count = snapshot.estimated_requests
        notes.append(
            f"~ {count:,} request{'s were' if count != 1 else ' was'} counted locally, because "
            "the server sent no usage: their cost is an estimate."
        )
    if snapshot.unpriced_requests:
        count = snapshot.unpriced_requests
        notes.append(
            f"+ {count:,} request{'s' if count != 1 else ''} to models without a known price "
            f"{'are' if count != 1 else 'is'} counted but not included in the amounts."
        )
    return "\n".join(notes)


class TotalBox(QFrame):
    """A heading, a large amount and a line of detail: "Today · $0.42 · 12 requests"."""

    def __init__(self, heading: str, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(heading)
        self.heading = QLabel(heading, self)
        self.amount = QLabel("…", self)
        self.amount.setObjectName(f"{object_name}Amount")
        font = self.amount.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.amount.setFont(font)
        self.amount.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel(self)
        self.detail.setObjectName(f"{object_name}Detail")
        set_tone(self.detail, Tone.MUTED)
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 8, 12, 8)
        column.setSpacing(2)
        column.addWidget(self.heading)
        column.addWidget(self.amount)
        column.addWidget(self.detail)

    def show_spend(self, spend: Spend) -> None:
        self.amount.setText(money_text(spend))
        self.detail.setText(requests_text(spend))
        self.setAccessibleDescription(f"{money_text(spend)}, {requests_text(spend)}")


class UsageWindow(QWidget):
    """Spending over time, from the usage ledger. `settings_requested` asks for the budget
    settings."""

    settings_requested = Signal(str)

    def __init__(
        self,
        spend: SpendTracker,
        settings: SettingsStore,
        *,
        track: Track | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("usageWindow")
        self.setWindowTitle(WINDOW_TITLE)
        self.setAccessibleName("Usage")
        self._spend = spend
        self._settings = settings
        self._track_with = track
        self._pending: set[asyncio.Task[None]] = set()
        self._generation = 0
        self._snapshot: UsageSnapshot | None = None
        self._budget: BudgetState | None = None
        self._build()
        spend.subscribe(self.on_spend_totals_changed)
        unsubscribe = settings.subscribe(self.on_settings_changed)
        self.destroyed.connect(unsubscribe)
        self.close_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Close), self)
        self.close_shortcut.activated.connect(self.close)
        self.escape_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.escape_shortcut.activated.connect(self.close)
        self.resize(760, 560)
        self.setMinimumSize(480, 420)

    def _build(self) -> None:
        self.today_box = TotalBox("Today", "todayTotal", self)
        self.month_box = TotalBox("This month", "monthTotal", self)
        totals = QHBoxLayout()
        totals.setSpacing(12)
        totals.addWidget(self.today_box, 1)
        totals.addWidget(self.month_box, 1)

        self.budget_label = QLabel(self)
        self.budget_label.setObjectName("budgetUsedLabel")
        self.budget_label.setWordWrap(True)
        self.budget_bar = QProgressBar(self)
        self.budget_bar.setObjectName("budgetBar")
        self.budget_bar.setAccessibleName("Monthly budget used")
        self.budget_bar.setRange(0, _BAR_STEPS)
        self.budget_bar.setTextVisible(False)
        self.budget_bar.setFixedHeight(10)
        self.budget_button = QPushButton("Budget…", self)
        self.budget_button.setObjectName("budgetSettingsButton")
        self.budget_button.setAccessibleName("Budget settings")
        self.budget_button.setToolTip("Set the monthly budget and whether to ask before going over")
        self.budget_button.setAutoDefault(False)
        self.budget_button.clicked.connect(self.on_budget_button_clicked)
        budget_row = QHBoxLayout()
        budget_row.setSpacing(12)
        budget_text = QVBoxLayout()
        budget_text.setSpacing(4)
        budget_text.addWidget(self.budget_label)
        budget_text.addWidget(self.budget_bar)
        budget_row.addLayout(budget_text, 1)
        budget_row.addWidget(self.budget_button, 0, Qt.AlignmentFlag.AlignTop)

        self.chart_title = QLabel(f"Spend per day, last {CHART_DAYS} days", self)
        font = self.chart_title.font()
        font.setBold(True)
        self.chart_title.setFont(font)
        self.chart = SpendChart(self)
        self.notes_label = QLabel(self)
        self.notes_label.setObjectName("usageNotes")
        self.notes_label.setWordWrap(True)
        set_tone(self.notes_label, Tone.MUTED)
        self.notes_label.hide()
        self.status_label = QLabel(self)
        self.status_label.setObjectName("usageStatus")
        self.status_label.setWordWrap(True)
        self.status_label.hide()

        column = QVBoxLayout(self)
        column.setContentsMargins(16, 16, 16, 16)
        column.setSpacing(12)
        column.addLayout(totals)
        column.addLayout(budget_row)
        column.addWidget(self.chart_title)
        column.addWidget(self.chart, 1)
        column.addWidget(self.notes_label)
        column.addWidget(self.status_label)

    # Showing

    @property
    def snapshot(self) -> UsageSnapshot | None:
        """What is shown, once read."""
        return self._snapshot

    @property
    def budget(self) -> BudgetState | None:
        return self._budget

    @property
    def busy(self) -> bool:
        """Whether a read of the ledger is under way."""
        return any(not task.done() for task in self._pending)

    def show_window(self) -> None:
        """Show the window (reading the ledger again), or bring it forward if it is open."""
        if self.isVisible():
            self.raise_()
            self.schedule_refresh()
        self.show()
        self.activateWindow()

    def schedule_refresh(self) -> None:
        self._track(self.refresh())

    async def refresh(self) -> None:
        """Read the ledger's figures (in a worker thread) and show them."""
        self._generation += 1
        generation = self._generation
        try:
            snapshot = await self._spend.usage(CHART_DAYS)
        except UsageUnreadable as problem:
            if generation == self._generation:
                self._show_unavailable(f"Could not read the usage history: {problem}")
            return
        if generation != self._generation:
            return
        if snapshot is None:
            self._show_unavailable(
                "Usage is recorded for requests to a real server; the demo is not billed."
            )
        else:
            self.show_snapshot(snapshot)

    def show_snapshot(self, snapshot: UsageSnapshot) -> None:
        self._snapshot = snapshot
        self.status_label.hide()
        self.today_box.show_spend(snapshot.today)
        self.month_box.show_spend(snapshot.month)
        notes = notes_text(snapshot)
        self.notes_label.setText(notes)
        self.notes_label.setVisible(bool(notes))
        self._show_budget()

    def _show_budget(self) -> None:
        settings = self._settings.current
        snapshot = self._snapshot
        today = snapshot.days[-1] if snapshot is not None and snapshot.days else date.today()
        self.chart.set_data(
            snapshot.days if snapshot is not None else (),
            snapshot.daily if snapshot is not None else (),
            daily_budget(settings, today),
        )
        if snapshot is None or settings.monthly_budget_usd is None:
            self._budget = None
            self.budget_label.setText(
                "No monthly budget. Set one to be warned at 80% and, if you like, asked "
                "before going over."
            )
            set_tone(self.budget_label, Tone.MUTED)
            self.budget_bar.hide()
            return
        state = self._budget = budget_state(snapshot.month, settings)
        assert state.budget is not None
        percent = "" if state.percent_used is None else f" ({state.percent_used:,}%)"
        text = (
            f"Budget: {format_usd(state.spent)} of {format_usd(state.budget)} used"
            f"{percent}, {format_usd(state.remaining)} left this month"
        )
        if state.level is BudgetLevel.OVER:
            text = f"Over budget: {format_usd(state.spent)} of {format_usd(state.budget)}{percent}"
        if state.hard_limit:
            text += " · asks before going over"
        self.budget_label.setText(text)
        set_tone(self.budget_label, Tone.ERROR if state.level is BudgetLevel.OVER else Tone.NORMAL)
        self.budget_bar.setValue(min(_BAR_STEPS, round(state.fraction * _BAR_STEPS)))
        self.budget_bar.setAccessibleDescription(text)
        self._colour_bar(state.level)
        self.budget_bar.show()

    def _colour_bar(self, level: BudgetLevel) -> None:
        dark = is_dark(self.palette())
        colour = {
            BudgetLevel.WARN: "#ffcc80" if dark else "#b26a00",
            BudgetLevel.OVER: "#ffb4ab" if dark else "#b3261e",
        }.get(level, "palette(highlight)")
        self.budget_bar.setStyleSheet(
            "QProgressBar { border: 1px solid palette(mid); border-radius: 4px;"
            " background: palette(base); }"
            f" QProgressBar::chunk {{ background: {colour}; border-radius: 3px; }}"
        )

    def _show_unavailable(self, message: str) -> None:
        self._snapshot = None
        for box in (self.today_box, self.month_box):
            box.amount.setText("—")
            box.detail.setText("")
        self.notes_label.hide()
        self.status_label.setText(message)
        set_tone(self.status_label, Tone.MUTED)
        self.status_label.show()
        self._show_budget()

    # Slots

    def on_spend_totals_changed(self) -> None:
        # A hidden window reads the ledger when it is shown again; no need to now.
        if self.isVisible():
            self.schedule_refresh()

    def on_settings_changed(self, change: SettingsChange) -> None:
        if change.changed & BUDGET_FIELDS:
            self._show_budget()

    def on_budget_button_clicked(self) -> None:
        self.settings_requested.emit("monthly_budget_usd")

    # Qt events

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.schedule_refresh()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._budget is not None:
            self._colour_bar(self._budget.level)

    def closeEvent(self, event: QCloseEvent) -> None:
        for task in self._pending:
            task.cancel()
        super().closeEvent(event)

    def _track(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        if self._track_with is not None:
            task = self._track_with(coroutine)
        else:
            task = asyncio.ensure_future(coroutine)
            task.add_done_callback(report_bug)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task
