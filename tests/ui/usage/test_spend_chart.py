"""The spend chart: days stacked by model, readable dollar gridlines, and an honest empty state."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from pytestqt.qtbot import QtBot

from app.core.store.ledger import DailySpend
from app.ui.usage.spend_chart import (
    MAX_SERIES,
    OTHER_MODELS,
    SpendChart,
    axis_text,
    bar_details,
    nice_step,
    stack_days,
)

DAY = date(2026, 3, 10)
WEEK = [DAY - timedelta(days=offset) for offset in range(6, -1, -1)]


def test_many_models_keep_their_own_colours_up_to_a_limit_then_share_one() -> None:
    """With more models than colours, the cheapest are drawn together; no cost is lost."""
    daily = [
        DailySpend(DAY, f"model-{i:02}", requests=1, cost_usd=Decimal(i + 1)) for i in range(12)
    ]
    stacked = stack_days(WEEK, daily)
    assert len(stacked.series) == MAX_SERIES
    assert stacked.series[0] == "model-11"
    assert stacked.series[-1] == OTHER_MODELS
    assert stacked.bars[-1].total == sum(Decimal(i + 1) for i in range(12))
    assert stacked.bars[-1].costs[-1] == sum(Decimal(i + 1) for i in range(5))


def test_days_without_requests_are_empty_bars_in_their_place() -> None:
    """Every day of the period has a bar, so gaps show as gaps rather than closing up."""
    stacked = stack_days(WEEK, [DailySpend(WEEK[2], "gpt-4o", 3, Decimal("0.40"))])
    assert [bar.total for bar in stacked.bars] == [0, 0, Decimal("0.40"), 0, 0, 0, 0]
    assert bar_details(stacked.bars[0]).endswith("No requests")


def test_gridlines_fall_on_round_dollar_amounts() -> None:
    """Steps are 1, 2 or 5 times a power of ten, labelled with the decimals they need."""
    assert nice_step(Decimal("3.7")) == 1
    assert nice_step(Decimal("0.07")) == Decimal("0.02")
    assert nice_step(Decimal("180")) == 50
    assert [axis_text(Decimal(n), Decimal(50)) for n in (0, 50, 1000)] == ["$0", "$50", "$1,000"]
    assert axis_text(Decimal("0.5"), Decimal("0.5")) == "$0.50"
    assert axis_text(Decimal("0.004"), Decimal("0.002")) == "$0.004"


def test_an_empty_period_says_so(qtbot: QtBot) -> None:
    """With nothing recorded the chart tells screen readers and eyes alike that it is empty."""
    chart = SpendChart()
    qtbot.addWidget(chart)
    chart.set_data(WEEK, [])
    chart.show()
    qtbot.waitExposed(chart)
    assert chart.data.empty
    assert chart.accessibleDescription() == "No requests in this period."


def test_the_accessible_summary_names_the_total_and_the_busiest_day(qtbot: QtBot) -> None:
    """A screen reader hears what the bars show: the sum, the peak day and the models."""
    chart = SpendChart()
    qtbot.addWidget(chart)
    chart.set_data(
        WEEK,
        [
            DailySpend(WEEK[1], "gpt-4o", 2, Decimal("1.20")),
            DailySpend(WEEK[4], "gpt-4o-mini", 9, Decimal("0.05")),
        ],
    )
    assert chart.accessibleDescription() == (
        "$1.25 over 7 days; the most on Mar 5, $1.20. Models: gpt-4o, gpt-4o-mini."
    )
