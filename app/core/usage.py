"""Token usage of requests and what it costs.

Money is `Decimal` throughout: catalog prices are converted through their decimal text, so a
sum over thousands of requests is exact to the cent fraction, with no float drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.core.catalog import ModelInfo

_MILLION = Decimal(1_000_000)
_SMALLEST_SHOWN = Decimal("0.000001")
_CENT = Decimal("0.01")
_FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Usage:
    """Tokens of one request (or a sum of requests), as the API's `usage` object reports them.

    `cached_tokens` are part of `prompt_tokens`; `reasoning_tokens` are part of
    `completion_tokens`. `estimated` is True when any of it was counted locally rather than
    reported by the server.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False

    @classmethod
    def from_api(cls, usage: Mapping[str, object] | None) -> Usage:
        """Read the API's `usage` object.

        OpenAI-compatible servers often omit `prompt_tokens_details` and
        `completion_tokens_details` or send null for them; missing numbers count as 0.
        """
        if not usage:
            return cls()
        prompt_details = usage.get("prompt_tokens_details")
        completion_details = usage.get("completion_tokens_details")
        return cls(
            prompt_tokens=_count(usage, "prompt_tokens"),
            completion_tokens=_count(usage, "completion_tokens"),
            cached_tokens=_count(prompt_details, "cached_tokens"),
            reasoning_tokens=_count(completion_details, "reasoning_tokens"),
        )

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def uncached_prompt_tokens(self) -> int:
        return max(self.prompt_tokens - self.cached_tokens, 0)

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            estimated=self.estimated or other.estimated,
        )


def _count(source: object, key: str) -> int:
    if not isinstance(source, Mapping):
        return 0
    value = source.get(key)
    # bool is an int subclass; a server sending `true` here is broken, not reporting one token.
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return 0


@dataclass(frozen=True)
class Cost:
    """What a request costs in US dollars, split the way the price list is."""

    input: Decimal = Decimal(0)  # uncached prompt tokens
    cached_input: Decimal = Decimal(0)
    output: Decimal = Decimal(0)  # completion tokens, reasoning included
    estimated: bool = False

    @property
    def total(self) -> Decimal:
        return self.input + self.cached_input + self.output

    def __add__(self, other: Cost) -> Cost:
        if not isinstance(other, Cost):
            return NotImplemented
        return Cost(
            input=self.input + other.input,
            cached_input=self.cached_input + other.cached_input,
            output=self.output + other.output,
            estimated=self.estimated or other.estimated,
        )


def _price(per_million: float) -> Decimal:
    # Through str so 0.075 stays 0.075 rather than the binary float nearest to it.
    return Decimal(str(per_million)) / _MILLION


def cost(usage: Usage, model: ModelInfo) -> Cost | None:
    """The cost of `usage` on `model`, or None when the model has no known price.

    Cached prompt tokens are billed at the cached-input price, or at the input price when the
    model has none. Reasoning tokens are billed as output: they are part of completion tokens.
    """
    if model.input_per_million is None or model.output_per_million is None:
        return None
    input_price = _price(model.input_per_million)
    cached_price = (
        _price(model.cached_input_per_million)
        if model.cached_input_per_million is not None
        else input_price
    )
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    return Cost(
        input=usage.uncached_prompt_tokens * input_price,
        cached_input=cached * cached_price,
        output=usage.completion_tokens * _price(model.output_per_million),
        estimated=usage.estimated,
    )


def estimate_request_cost(
    prompt_tokens: int, model: ModelInfo, expected_output_tokens: int = 0
) -> Cost | None:
    """A pre-send estimate: the prompt with nothing cached, plus `expected_output_tokens`.

    With the default of 0 it is the cost of the prompt alone, the part known before sending;
    pass the request's output limit for an upper bound.
    """
    usage = Usage(
        prompt_tokens=prompt_tokens, completion_tokens=expected_output_tokens, estimated=True
    )
    return cost(usage, model)


def format_usd(amount: Decimal | float | int) -> str:
    """Dollars for display: "$0", "$0.000020", "$0.0123", "$0.50", "$1.25", "$1,234.50"."""
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    if value < 0:
        return "-" + format_usd(-value)
    if value == 0:
        return "$0"
    if value < _SMALLEST_SHOWN:
        return f"<${_SMALLEST_SHOWN:f}"
    if value >= 1:
        return f"${value.quantize(_CENT, ROUND_HALF_UP):,}"
    if value < _CENT:
        # A single cheap request costs millionths of a dollar: two significant digits show it.
        quantum = Decimal(10) ** (value.adjusted() - 1)
        return f"${value.quantize(quantum, ROUND_HALF_UP):f}"
    # Under a dollar, fractions of a cent matter to someone paying per token: four decimals,
    # trailing zeros trimmed down to cents.
    text = f"{value.quantize(_FOUR_PLACES, ROUND_HALF_UP):f}"
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.rstrip('0').ljust(2, '0')}"
