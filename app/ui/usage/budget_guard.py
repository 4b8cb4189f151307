"""The monthly budget in the main window: a warning in the status bar from 80% on, and with a
hard limit, a question before sending a request that could take the month past the budget.

`BudgetGuard.policy` is the budget policy the window's turns check (`app/core/turn.py`); its
question is a window-modal message box, so the event loop (and any other reply) keeps running
while it is open.
"""

from __future__ import annotations

import functools
import logging
import sqlite3

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from app.core.budget import BudgetLevel, BudgetPolicy, BudgetState, OverBudget, budget_state
from app.core.settings_store import SettingsChange, SettingsStore
from app.core.store.ledger import Spend
from app.core.usage import format_usd
from app.ui.usage.spend_tracker import SpendTracker
from app.ui.widgets.clickable import ClickWatcher
from app.ui.widgets.question import answered_yes
from app.ui.widgets.status_bar import StatusBar
from app.ui.widgets.theme import is_dark

log = logging.getLogger(__name__)

SEND_ANYWAY = "Send anyway"
BUDGET_FIELDS = frozenset({"monthly_budget_usd", "budget_hard_limit"})
# Amber and red with at least 4.5:1 contrast on Chatdesk's light and dark status bars.
_COLOURS = {
    BudgetLevel.WARN: ("#8a4b00", "#ffcc80"),
    BudgetLevel.OVER: ("#b3261e", "#ffb4ab"),
}


def budget_text(state: BudgetState) -> str:
    """The status bar's warning: "Budget 85% used" or "Over budget: $21.30 of $20.00"."""
    if state.budget is None:
        return ""
    if state.level is BudgetLevel.OVER:
        return f"Over budget: {format_usd(state.spent)} of {format_usd(state.budget)}"
    return f"Budget {state.percent_used}% used"


def budget_details(state: BudgetState) -> str:
    """The tooltip: the amounts, what the hard limit does, and where to see more."""
    if state.budget is None:
        return ""
    lines = [
        f"This month: {format_usd(state.spent)} of your {format_usd(state.budget)} budget, "
        f"{format_usd(state.remaining)} left."
    ]
    if state.unpriced_requests:
        lines.append(
            f"{state.unpriced_requests:,} requests to models without a known price are not counted."
        )
    if state.hard_limit:
        lines.append("Chatdesk asks before sending a request that could go over it.")
    else:
        lines.append("Turn on the hard limit in Settings to be asked before going over it.")
    lines.append("Click for the Usage window.")
    return "\n".join(lines)


class BudgetLabel(QLabel):
    """The status bar's budget warning: amber from 80%, red when over, hidden otherwise."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("budgetLabel")
        self.setAccessibleName("Monthly budget")
        self.setContentsMargins(6, 0, 6, 0)
        self._level = BudgetLevel.NONE
        self.hide()

    @property
    def level(self) -> BudgetLevel:
        return self._level

    def show_state(self, state: BudgetState | None) -> None:
        """Warn about `state` when it calls for it (None: nothing known, nothing shown)."""
        level = state.level if state is not None else BudgetLevel.NONE
        self._level = level
        if state is None or level not in _COLOURS:
            self.clear()
            self.setToolTip("")
            self.hide()
            return
        text = budget_text(state)
        self.setText(text)
        self.setToolTip(budget_details(state))
        self.setAccessibleDescription(f"{text}. {budget_details(state)}")
        self._colour()
        self.show()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._colour()

    def _colour(self) -> None:
        colours = _COLOURS.get(self._level)
        if colours is None:
            return
        colour = colours[1] if is_dark(self.palette()) else colours[0]
        # A stylesheet, not the palette: setting the palette here would fire PaletteChange again.
        wanted = f"color: {colour}; font-weight: bold;"
        if self.styleSheet() != wanted:
            self.setStyleSheet(wanted)


class BudgetGuard(QObject):
    """Keeps the budget warning current and asks before a request that could cross a hard limit.

    `usage_requested` is emitted when the user clicks the warning.
    """

    usage_requested = Signal()

    def __init__(
        self,
        spend: SpendTracker,
        settings: SettingsStore,
        status: StatusBar,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._spend = spend
        self._settings = settings
        self._window = parent
        self.label = BudgetLabel(status)
        # Permanent, so a passing status message (a retry notice) never hides the warning.
        status.addPermanentWidget(self.label)
        self._clicks = ClickWatcher(self.label)
        self._clicks.clicked.connect(self.usage_requested)
        self._question: QMessageBox | None = None
        spend.subscribe(self.on_spend_totals_changed)
        self._unsubscribe = settings.subscribe(self.on_settings_changed)
        parent.destroyed.connect(self._unsubscribe)

    @property
    def question(self) -> QMessageBox | None:
        """The "send anyway?" message box while it is open."""
        return self._question

    def state(self) -> BudgetState | None:
        """The budget against this month's spend, as last read (None before any ledger read)."""
        month = self._spend.month
        if month is None or self._spend.ledger is None:
            return None
        return budget_state(month, self._settings.current)

    def on_spend_totals_changed(self) -> None:
        self.label.show_state(self.state())

    def on_settings_changed(self, change: SettingsChange) -> None:
        if change.changed & BUDGET_FIELDS:
            self.label.show_state(self.state())

    def asks_before_sending(self) -> bool:
        """Whether a request may need the question: a hard limit is set (and spend is known)."""
        return self.policy().may_ask

    def policy(self, *, parent: QWidget | None = None) -> BudgetPolicy:
        """The budget as the window's turns apply it: a question over `parent` (the main window
        unless given, e.g. the quick-ask popup) before a request that could cross a hard limit.
        Inactive while there is no ledger (the demo: nothing is billed)."""
        return BudgetPolicy(
            settings=lambda: self._settings.current,
            month=self._month,
            ask=functools.partial(self.ask, parent=parent),
            billed=lambda: self._spend.ledger is not None,
        )

    def _month(self) -> Spend:
        """This month's spend, read afresh (another process may have spent since); blocking."""
        ledger = self._spend.ledger
        if ledger is None:
            return Spend()
        try:
            return ledger.this_month()
        except sqlite3.Error:
            log.warning("could not read this month's spend for the budget", exc_info=True)
            return self._spend.month or Spend()

    async def ask(self, question: OverBudget, *, parent: QWidget | None = None) -> bool:
        """Show `question` and wait for the answer; True for Send anyway."""
        box = QMessageBox(parent or self._window)
        box.setObjectName("overBudgetQuestion")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Monthly budget — Chatdesk")
        box.setText(question.headline)
        box.setInformativeText(f"{question.details}\n\nSend it anyway?")
        send = box.addButton(SEND_ANYWAY, QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        # Enter must not spend money by accident: Cancel is the default.
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        self._question = box
        try:
            return await answered_yes(box, send)
        finally:
            # Also when the turn is stopped (Esc) while the question is open.
            self._question = None
