"""The monthly budget: how much of it this month's spend has used, and whether a request about
to be sent would take the month past it.

Only priced requests count: a model without a known price adds nothing to the spend, and a
request to one never asks first, since its cost cannot be told.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from app.core.params import ChatParams
from app.core.preflight import RequestEstimate
from app.core.problems import UserFacingError
from app.core.settings import Settings
from app.core.store.ledger import Spend
from app.core.usage import estimate_request_cost, format_usd

# The share of the budget at which the status bar starts warning.
WARN_AT = Decimal("0.8")

# With no max-tokens set, a reply may run to the model's output limit (16k tokens for gpt-4o,
# 100k for o1). Assuming that would make nearly every request near the budget ask first, and
# cry wolf: an o1 request would be counted at $6 of output. These allowances cover the length
# of a long ordinary answer, and for reasoning models the hidden reasoning before it; a reply
# that runs longer is still recorded at its real cost afterwards. A user who wants a strict
# bound sets max tokens, which is then used as is.
DEFAULT_OUTPUT_ALLOWANCE = 4_096
DEFAULT_REASONING_OUTPUT_ALLOWANCE = 16_384


class SendDeclined(UserFacingError):
    """The user was asked before sending (the request could cross the budget) and said no."""


class BudgetLevel(StrEnum):
    """Where this month's spend stands against the budget."""

    NONE = "none"  # no budget set
    OK = "ok"
    WARN = "warn"  # at least WARN_AT of the budget used
    OVER = "over"  # more than the budget spent


def dollars(amount: float) -> Decimal:
    """A settings amount as exact money: through its decimal text, not its binary value."""
    return Decimal(str(amount))


@dataclass(frozen=True)
class BudgetState:
    """This month's spend against the budget; `budget` None when there is none."""

    budget: Decimal | None
    spent: Decimal
    hard_limit: bool = False
    unpriced_requests: int = 0

    @property
    def fraction(self) -> float:
        """Share of the budget spent (above 1 when over; 0 without a budget)."""
        if self.budget is None:
            return 0.0
        if self.budget == 0:
            return 0.0 if self.spent == 0 else math.inf
        return float(self.spent / self.budget)

    @property
    def percent_used(self) -> int | None:
        """Whole percent of the budget spent, rounded down so 99.9% never reads as 100%; None
        without a budget, or with a $0 one once anything is spent."""
        if self.budget is None or (self.budget == 0 and self.spent > 0):
            return None
        if self.budget == 0:
            return 0
        return int(self.spent * 100 / self.budget)

    @property
    def remaining(self) -> Decimal:
        """What is left to spend this month (0 once over, or without a budget)."""
        if self.budget is None:
            return Decimal(0)
        return max(self.budget - self.spent, Decimal(0))

    @property
    def level(self) -> BudgetLevel:
        if self.budget is None:
            return BudgetLevel.NONE
        if self.spent > self.budget:
            return BudgetLevel.OVER
        if self.budget > 0 and self.spent >= self.budget * WARN_AT:
            return BudgetLevel.WARN
        return BudgetLevel.OK

    @property
    def enforced(self) -> bool:
        """Whether requests that would cross the budget must be confirmed first."""
        return self.hard_limit and self.budget is not None


def budget_state(month: Spend, settings: Settings) -> BudgetState:
    """The budget as `settings` set it, against `month`'s spend."""
    budget = settings.monthly_budget_usd
    return BudgetState(
        budget=dollars(budget) if budget is not None else None,
        spent=month.cost_usd,
        hard_limit=settings.budget_hard_limit,
        unpriced_requests=month.unpriced_requests,
    )


def output_allowance(estimate: RequestEstimate, params: ChatParams) -> int:
    """The most reply tokens the request is assumed to cost, over all its choices (n)."""
    model = estimate.model
    if params.max_output_tokens:
        per_choice = params.max_output_tokens
    else:
        per_choice = (
            DEFAULT_REASONING_OUTPUT_ALLOWANCE if model.reasoning else DEFAULT_OUTPUT_ALLOWANCE
        )
        if model.max_output_tokens is not None:
            per_choice = min(per_choice, model.max_output_tokens)
    # Each of n choices is a separate reply, billed separately; the prompt is billed once.
    return per_choice * (params.n or 1)


def request_upper_bound(estimate: RequestEstimate, params: ChatParams) -> Decimal | None:
    """What the request may cost at most, as far as can be told before sending; None when the
    model has no known price."""
    cost = estimate_request_cost(
        estimate.prompt_tokens, estimate.model, output_allowance(estimate, params)
    )
    return cost.total if cost is not None else None


@dataclass(frozen=True)
class OverBudget:
    """A request that would take this month past the budget, with the amounts to show."""

    budget: Decimal
    spent: Decimal
    request: Decimal

    @property
    def after(self) -> Decimal:
        return self.spent + self.request

    @property
    def headline(self) -> str:
        if self.spent > self.budget:
            return f"This month is already over your {format_usd(self.budget)} budget"
        return f"This request could take you over your {format_usd(self.budget)} monthly budget"

    @property
    def details(self) -> str:
        # What is left (or how far over) rather than the sum after sending: near the budget,
        # totals rounded to the cent would read "$10.00 of $10.00" either way.
        if self.spent > self.budget:
            standing = f"{format_usd(self.spent - self.budget)} over"
        else:
            standing = f"{format_usd(self.budget - self.spent)} left"
        return (
            f"Spent this month: {format_usd(self.spent)} of {format_usd(self.budget)}, "
            f"{standing}.\nThis request may cost up to {format_usd(self.request)}."
        )


def would_cross(state: BudgetState, request_cost: Decimal | None) -> OverBudget | None:
    """What to tell the user before sending, when a hard limit is set and sending a request that
    may cost `request_cost` could take the month past the budget; None when it may just go."""
    if not state.enforced or state.budget is None or request_cost is None:
        return None
    if state.spent + request_cost <= state.budget:
        return None
    return OverBudget(state.budget, state.spent, request_cost)


class OverBudgetRefused(UserFacingError):
    """The request could take the month past a hard budget limit and was not sent."""


# The surface's answer to "this could cross your budget: send anyway?" (True: send).
AskOverBudget = Callable[[OverBudget], Awaitable[bool]]


@dataclass(frozen=True)
class BudgetPolicy:
    """The monthly budget's hard limit as one surface applies it, before a paid request.

    The window and quick ask confirm (`ask` shows the question), `chatdesk ask` refuses unless
    told to go over (`ask` None, `allow_over` for `--over-budget`), the demo has no policy at
    all. `settings` is read at each check; `month` reads this month's spend (blocking: run in
    a worker thread, afresh each time, since another process may have spent since).
    """

    settings: Callable[[], Settings]
    month: Callable[[], Spend]
    ask: AskOverBudget | None = None
    allow_over: bool = False
    # Said after the question when a request is refused (`chatdesk ask`: which option sends it).
    refusal_remedy: str = "Not sent."
    # Whether requests are billed at all now (the window's demo is not).
    billed: Callable[[], bool] = lambda: True

    @property
    def may_ask(self) -> bool:
        """Whether a request may need the check (so must be counted before it is sent)."""
        settings = self.settings()
        return (
            self.billed()
            and not self.allow_over
            and settings.budget_hard_limit
            and settings.monthly_budget_usd is not None
        )

    def question(self, requests: Sequence[tuple[RequestEstimate, ChatParams]]) -> OverBudget | None:
        """What to ask before sending `requests` together (their bounds add up); blocking."""
        if not self.may_ask:
            return None
        bounds = [request_upper_bound(estimate, params) for estimate, params in requests]
        priced = [bound for bound in bounds if bound is not None]
        if not priced:
            return None
        return would_cross(budget_state(self.month(), self.settings()), sum(priced, Decimal(0)))

    async def check(self, requests: Sequence[tuple[RequestEstimate, ChatParams]]) -> None:
        """Return to go ahead; raise `SendDeclined` (the user said no) or `OverBudgetRefused`."""
        if not self.may_ask:
            return
        loop = asyncio.get_running_loop()
        question = await loop.run_in_executor(None, self.question, list(requests))
        if question is None:
            return
        if self.ask is None:
            raise OverBudgetRefused(
                question.headline, f"{question.details} {self.refusal_remedy}".strip()
            )
        if not await self.ask(question):
            raise SendDeclined("Not sent")
