from __future__ import annotations

from decimal import Decimal

import pytest

from app.core.catalog import CATALOG, ModelInfo, lookup
from app.core.usage import Cost, Usage, cost, estimate_request_cost, format_usd

# 10,000 prompt tokens of which 4,000 cached; 2,000 completion tokens of which 500 reasoning.
API_USAGE = {
    "prompt_tokens": 10_000,
    "completion_tokens": 2_000,
    "total_tokens": 12_000,
    "prompt_tokens_details": {"cached_tokens": 4_000, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 500,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}

# Worked by hand from the catalog prices: 6,000 uncached × input + 4,000 × cached (input price
# when the model has no cached price) + 2,000 × output, per million tokens.
EXPECTED = {
    # model: (input, cached_input, output, total)
    "gpt-4o": ("0.015", "0.005", "0.02", "0.04"),
    "gpt-4o-mini": ("0.0009", "0.0003", "0.0012", "0.0024"),
    "gpt-4o-audio-preview": ("0.015", "0.01", "0.02", "0.045"),
    "gpt-4-turbo": ("0.06", "0.04", "0.06", "0.16"),
    "o1": ("0.09", "0.03", "0.12", "0.24"),
    "o1-mini": ("0.0066", "0.0022", "0.0088", "0.0176"),
    "o3-mini": ("0.0066", "0.0022", "0.0088", "0.0176"),
}


def test_expected_table_covers_the_whole_catalog() -> None:
    """Every priced catalog model has a hand-computed cost below."""
    assert set(EXPECTED) == set(CATALOG)


@pytest.mark.parametrize("model_id", sorted(EXPECTED))
def test_cost_of_each_catalog_model(model_id: str) -> None:
    """Usage with cached and reasoning tokens costs exactly the hand-computed dollars."""
    result = cost(Usage.from_api(API_USAGE), CATALOG[model_id])
    assert result is not None
    expected = tuple(Decimal(value) for value in EXPECTED[model_id])
    assert (result.input, result.cached_input, result.output, result.total) == expected
    assert result.estimated is False


def test_from_api_reads_details() -> None:
    """The API's usage object fills every field, reasoning and cached tokens included."""
    usage = Usage.from_api(API_USAGE)
    assert usage == Usage(10_000, 2_000, cached_tokens=4_000, reasoning_tokens=500)
    assert usage.total == 12_000
    assert usage.uncached_prompt_tokens == 6_000


@pytest.mark.parametrize(
    "details",
    [
        {},
        {"prompt_tokens_details": None, "completion_tokens_details": None},
        {"prompt_tokens_details": {}, "completion_tokens_details": {"reasoning_tokens": None}},
    ],
)
def test_from_api_tolerates_missing_details(details: dict[str, object]) -> None:
    """OpenAI-compatible servers that omit or null the details give zero cached/reasoning."""
    usage = Usage.from_api({"prompt_tokens": 12, "completion_tokens": 5, **details})
    assert usage == Usage(prompt_tokens=12, completion_tokens=5)


def test_from_api_of_nothing_is_zero() -> None:
    """A missing usage object or junk values read as zero usage, never an exception."""
    assert Usage.from_api(None) == Usage()
    assert Usage.from_api({"prompt_tokens": "12", "completion_tokens": True}) == Usage()


def test_unknown_model_has_no_cost() -> None:
    """A model without a price gives None, not a made-up zero."""
    assert cost(Usage(100, 100), lookup("llama3.1:8b")) is None
    assert cost(Usage(100, 100), ModelInfo.unknown("gpt-5-preview")) is None
    assert estimate_request_cost(100, lookup("mistral-large")) is None


def test_dated_snapshot_is_priced_like_its_family() -> None:
    """A dated model id costs what its catalog family costs."""
    usage = Usage.from_api(API_USAGE)
    assert cost(usage, lookup("gpt-4o-2024-08-06")) == cost(usage, CATALOG["gpt-4o"])


def test_cached_tokens_beyond_prompt_never_cost_negative() -> None:
    """A server reporting more cached than prompt tokens is billed as all cached."""
    result = cost(Usage(prompt_tokens=100, cached_tokens=150), CATALOG["gpt-4o"])
    assert result is not None
    assert result.input == 0
    assert result.cached_input == Decimal("0.000125")


def test_usage_sums() -> None:
    """Adding usages adds every count and keeps the estimated flag if any part had it."""
    total = Usage(10, 5, 2, 1) + Usage(20, 7, 3, 4, estimated=True)
    assert total == Usage(30, 12, 5, 5, estimated=True)
    assert sum((Usage(1, 1) for _ in range(3)), Usage()) == Usage(3, 3)


def test_sum_of_many_costs_is_exact() -> None:
    """Ten thousand one-token requests add up without floating-point drift."""
    one = cost(Usage(prompt_tokens=1, completion_tokens=1), CATALOG["gpt-4o-mini"])
    assert one is not None
    total = sum((one for _ in range(10_000)), Cost())
    assert total.total == Decimal("0.0075")
    assert total.input == Decimal("0.0015")


def test_estimate_before_sending() -> None:
    """The pre-send estimate prices the whole prompt uncached plus the expected output."""
    prompt_only = estimate_request_cost(1_000, CATALOG["gpt-4o"])
    with_reply = estimate_request_cost(1_000, CATALOG["gpt-4o"], expected_output_tokens=500)
    assert prompt_only == Cost(input=Decimal("0.0025"), estimated=True)
    assert with_reply is not None
    assert with_reply.total == Decimal("0.0075")
    assert with_reply.estimated


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0, "$0"),
        (Decimal(0), "$0"),
        (Decimal("0.0000001"), "<$0.000001"),
        (Decimal("0.00001"), "$0.000010"),
        (Decimal("0.0000196"), "$0.000020"),
        (Decimal("0.0001"), "$0.00010"),
        (Decimal("0.00999"), "$0.0100"),
        (Decimal("0.0123"), "$0.0123"),
        (0.0123, "$0.0123"),
        (Decimal("0.01234"), "$0.0123"),
        (Decimal("0.5"), "$0.50"),
        (Decimal("0.25"), "$0.25"),
        (Decimal("0.99996"), "$1.00"),
        (Decimal("1.25"), "$1.25"),
        (1.005, "$1.01"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("-0.5"), "-$0.50"),
    ],
)
def test_format_usd(amount: Decimal | float, shown: str) -> None:
    """Dollar amounts display with enough digits for per-token prices and no more."""
    assert format_usd(amount) == shown
