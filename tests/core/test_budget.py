"""Budget warnings and limits: the 80% warning, over-budget, and asking before a request that
could cross a hard limit."""

from __future__ import annotations

from decimal import Decimal

from app.core.budget import (
    DEFAULT_OUTPUT_ALLOWANCE,
    DEFAULT_REASONING_OUTPUT_ALLOWANCE,
    BudgetLevel,
    budget_state,
    output_allowance,
    request_upper_bound,
    would_cross,
)
from app.core.catalog import lookup
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.preflight import RequestEstimate, estimate
from app.core.settings import Settings
from app.core.store.ledger import Spend
from app.core.usage import format_usd


def month(cost: str, unpriced: int = 0) -> Spend:
    return Spend(requests=3, cost_usd=Decimal(cost), unpriced_requests=unpriced)


def settings(budget: float | None, *, hard_limit: bool = False) -> Settings:
    return Settings(monthly_budget_usd=budget, budget_hard_limit=hard_limit)


def prompt_of(model_id: str, tokens: int) -> RequestEstimate:
    return RequestEstimate(lookup(model_id), tokens, 0, None)


def test_without_a_budget_nothing_warns_or_asks() -> None:
    """No budget set: no warning however much is spent, and requests are never held back."""
    state = budget_state(month("5000"), settings(None, hard_limit=True))
    assert state.level is BudgetLevel.NONE
    assert would_cross(state, Decimal("100")) is None


def test_warning_starts_at_80_percent_and_over_means_past_the_budget() -> None:
    """$7.99 of $10 is fine, $8 warns, $10 exactly still warns, $10.01 is over."""
    levels = {
        spent: budget_state(month(spent), settings(10)).level
        for spent in ("7.99", "8", "10", "10.01")
    }
    assert levels == {
        "7.99": BudgetLevel.OK,
        "8": BudgetLevel.WARN,
        "10": BudgetLevel.WARN,
        "10.01": BudgetLevel.OVER,
    }
    state = budget_state(month("8.50"), settings(10))
    assert state.fraction == 0.85
    assert state.remaining == Decimal("1.50")


def test_budget_amounts_compare_exactly_with_spend() -> None:
    """A $20.10 budget fully spent is reached, not over: no float rounding error creeps in."""
    state = budget_state(month("20.10"), settings(20.1))
    assert state.level is BudgetLevel.WARN
    assert state.remaining == 0


def test_hard_limit_asks_only_when_the_request_could_cross_the_budget() -> None:
    """With $9.90 of $10 spent, a $0.05 request goes; a $0.20 one asks, with the amounts."""
    state = budget_state(month("9.90"), settings(10, hard_limit=True))
    assert would_cross(state, Decimal("0.05")) is None
    question = would_cross(state, Decimal("0.20"))
    assert question is not None
    assert question.after == Decimal("10.10")
    assert "over your $10.00 monthly budget" in question.headline
    assert "$9.90 of $10.00, $0.10 left" in question.details
    assert "up to $0.20" in question.details


def test_without_a_hard_limit_requests_are_never_held_back() -> None:
    """Over the budget without a hard limit: the status bar warns, sending still just works."""
    state = budget_state(month("12"), settings(10))
    assert state.level is BudgetLevel.OVER
    assert would_cross(state, Decimal("1")) is None


def test_once_over_every_priced_request_asks() -> None:
    """Already past the budget, even a tiny request asks, and says the month is over already."""
    state = budget_state(month("10.50"), settings(10, hard_limit=True))
    question = would_cross(state, Decimal("0.000001"))
    assert question is not None
    assert question.headline.startswith("This month is already over")
    assert "$10.50 of $10.00, $0.50 over" in question.details


def test_a_zero_budget_with_a_hard_limit_asks_before_anything_that_costs() -> None:
    """$0 is a budget: nothing spent is fine, but every priced request asks first."""
    state = budget_state(month("0"), settings(0, hard_limit=True))
    assert state.level is BudgetLevel.OK
    assert would_cross(state, Decimal("0.0001")) is not None


def test_requests_to_unpriced_models_never_ask() -> None:
    """A model without a known price cannot be judged against the budget: it is not held back."""
    state = budget_state(month("10.50"), settings(10, hard_limit=True))
    assert request_upper_bound(prompt_of("my-local-llama", 1000), ChatParams()) is None
    assert would_cross(state, None) is None


def test_upper_bound_counts_the_prompt_and_the_max_tokens_of_every_choice() -> None:
    """With max tokens set, the bound is the prompt plus max tokens for each of n replies."""
    request = prompt_of("gpt-4o", 1_000_000)
    bound = request_upper_bound(request, ChatParams(max_output_tokens=100_000, n=3))
    # $2.50 for a million prompt tokens, $10 per million reply tokens × 300k.
    assert bound == Decimal("5.5")


def test_upper_bound_without_max_tokens_uses_a_default_reply_allowance() -> None:
    """Without max tokens a reply is assumed to be long, not the model's whole output limit."""
    chat = prompt_of("gpt-4o", 0)
    reasoning = prompt_of("o1", 0)
    legacy = prompt_of("gpt-4-turbo", 0)
    assert output_allowance(chat, ChatParams()) == DEFAULT_OUTPUT_ALLOWANCE
    assert output_allowance(reasoning, ChatParams()) == DEFAULT_REASONING_OUTPUT_ALLOWANCE
    # Never more than the model can actually produce.
    assert output_allowance(legacy, ChatParams()) == min(
        DEFAULT_OUTPUT_ALLOWANCE, lookup("gpt-4-turbo").max_output_tokens or 0
    )
    assert output_allowance(chat, ChatParams(n=2)) == 2 * DEFAULT_OUTPUT_ALLOWANCE


def test_upper_bound_of_a_real_prompt_estimate_exceeds_the_prompt_cost() -> None:
    """From the same token count the composer shows, the bound adds the reply allowance."""
    messages = [ChatMessage.user("How do I read a CSV file in Python?")]
    counted = estimate("gpt-4o-mini", messages, ChatParams())
    bound = request_upper_bound(counted, ChatParams())
    assert counted.cost is not None and bound is not None
    assert bound > counted.cost.total
    # 4,096 reply tokens at $0.60 per million.
    assert bound - counted.cost.total == Decimal("0.0024576")
    assert format_usd(bound).startswith("$0.002")
