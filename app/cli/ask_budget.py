"""The monthly budget for `chatdesk ask`: a refusal before a request that could cross a hard
limit (a terminal cannot be asked the way the window asks: the prompt may come from stdin),
and a note on stderr once the month's spend reaches 80% of the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from app.cli.ask_args import OVER_BUDGET_OPTION
from app.core.budget import BudgetLevel, BudgetPolicy, budget_state
from app.core.settings import Settings
from app.core.store.ledger import UsageLedger
from app.core.usage import format_usd

REFUSAL_REMEDY = (
    f"Not sent. Add {OVER_BUDGET_OPTION} to send it anyway, or raise the budget in Settings."
)


@dataclass(frozen=True)
class AskBudget:
    """The budget settings and this month's spend, as `chatdesk ask` applies them."""

    settings: Settings
    ledger: UsageLedger
    # `--over-budget`: the user accepts going past a hard limit for this request.
    allow_over: bool = False

    def policy(self) -> BudgetPolicy:
        """What the turn checks before sending: refuse (never ask) a request over a hard limit."""
        return BudgetPolicy(
            settings=lambda: self.settings,
            month=self.ledger.this_month,
            ask=None,
            allow_over=self.allow_over,
            refusal_remedy=REFUSAL_REMEDY,
        )

    def note(self, err: TextIO) -> None:
        """Say so on `err` when this month's spend has reached 80% of the budget or more."""
        state = budget_state(self.ledger.this_month(), self.settings)
        if state.budget is None or state.level not in (BudgetLevel.WARN, BudgetLevel.OVER):
            return
        if state.level is BudgetLevel.OVER:
            err.write(
                f"Over budget: {format_usd(state.spent)} of {format_usd(state.budget)} "
                "spent this month.\n"
            )
        else:
            err.write(
                f"Budget: {state.percent_used}% of {format_usd(state.budget)} used this month.\n"
            )
