"""The Usage window: spend per day for the last 30 days stacked by model, today's and this
month's totals, the monthly budget, and what the figures leave out."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.secrets import ENV_VAR
from app.core.settings import Theme
from app.core.settings_store import SettingsStore
from app.core.store.database import open_database
from app.core.store.ledger import Source, UsageLedger
from app.core.usage import Usage
from app.simulator import SimulatorServer
from app.ui.usage.spend_chart import SpendChart
from app.ui.usage.spend_tracker import SpendTracker
from app.ui.usage.window import WINDOW_TITLE, UsageWindow
from app.ui.widgets.status_bar import StatusBar
from app.ui.widgets.theme import ThemeController
from app.wiring import AppContext
from tests.support.gui_session import (  # noqa: F401
    make_context,
    open_session_fixture,
    theme_controller_fixture,
)
from tests.support.qt import Runner, wait_until

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise)")

TEST_KEY = "sk-test-usage-window"
# gpt-4o: $2.50 per million prompt tokens; gpt-4o-mini: $0.60 per million reply tokens.
HISTORY = [
    (0, "gpt-4o", Usage(prompt_tokens=400_000)),  # $1.00
    (0, "gpt-4o-mini", Usage(completion_tokens=500_000)),  # $0.30
    (1, "gpt-4o", Usage(prompt_tokens=800_000)),  # $2.00
    (5, "gpt-4o-mini", Usage(completion_tokens=1_000_000, estimated=True)),  # $0.60
    (5, "llama3", Usage(prompt_tokens=900, completion_tokens=100)),  # no price
    (45, "gpt-4o", Usage(prompt_tokens=4_000_000)),  # $10, before the chart's 30 days
]
COSTS = [Decimal("1.00"), Decimal("0.30"), Decimal("2.00"), Decimal("0.60"), None, Decimal(10)]


def noon(days_ago: int) -> datetime:
    return datetime.combine(date.today() - timedelta(days=days_ago), time(12))


def with_history(data_dir: Path) -> AppContext:
    context = make_context(data_dir, environ={ENV_VAR: TEST_KEY})
    ledger = UsageLedger(open_database(context.paths.database_file))
    for days_ago, model, usage in HISTORY:
        ledger.record(model, usage, Source.WINDOW, at=noon(days_ago).timestamp())
    return context


def this_month(days_ago: int) -> bool:
    today = date.today()
    day = today - timedelta(days=days_ago)
    return (day.year, day.month) == (today.year, today.month)


async def open_with_shortcut(qtbot: QtBot, session: GuiSession) -> UsageWindow:
    window = session.window
    with qtbot.waitActive(window):
        window.activateWindow()
    qtbot.keyClick(
        window.composer,
        Qt.Key.Key_U,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    usage = session.usage_window
    assert usage is not None
    await wait_until(lambda: usage.snapshot is not None, "the ledger to be read")
    return usage


def test_ctrl_shift_u_shows_todays_and_this_months_totals_with_request_counts(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """The window opens on the shortcut and sums the ledger for today and this month."""
    session = open_session(with_history(data_dir), base_url=simulator.base_url)

    async def scenario() -> UsageWindow:
        await session.connect()
        usage = await open_with_shortcut(qtbot, session)
        await session.shutdown()
        return usage

    usage = run(scenario())

    assert usage.isVisible()
    assert usage.windowTitle() == WINDOW_TITLE == "Usage — Chatdesk"
    assert usage.today_box.amount.text() == "$1.30"
    assert usage.today_box.detail.text() == "2 requests"
    in_month = [i for i, (days_ago, _, _) in enumerate(HISTORY) if this_month(days_ago)]
    month_cost = sum((COSTS[i] or Decimal(0) for i in in_month), Decimal(0))
    assert usage.month_box.detail.text() == f"{len(in_month)} requests"
    assert usage.month_box.amount.text().strip("~+") == f"${month_cost:.2f}"


def test_the_chart_has_thirty_days_stacked_by_model_biggest_spender_first(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """30 bars end today, split by priced model; the request from 45 days ago is not in them."""
    session = open_session(with_history(data_dir), base_url=simulator.base_url)

    async def scenario() -> UsageWindow:
        await session.connect()
        usage = await open_with_shortcut(qtbot, session)
        await session.shutdown()
        return usage

    data = run(scenario()).chart.data

    assert len(data.bars) == 30
    assert data.bars[-1].day == date.today()
    # llama3 has no price: it draws nothing, so it has no colour in the legend.
    assert data.series == ("gpt-4o", "gpt-4o-mini")
    assert data.bars[-1].costs == (Decimal("1.00"), Decimal("0.30"))
    assert data.bars[-2].costs == (Decimal("2.00"), Decimal(0))
    assert data.bars[-6].requests == 2 and data.bars[-6].unpriced_requests == 1
    assert sum(bar.requests for bar in data.bars) == 5


def test_hovering_a_bar_explains_that_day_per_model(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Today's bar's tooltip gives the day's total, requests and each model's share."""
    session = open_session(with_history(data_dir), base_url=simulator.base_url)

    async def scenario() -> SpendChart:
        await session.connect()
        usage = await open_with_shortcut(qtbot, session)
        await session.shutdown()
        return usage.chart

    chart = run(scenario())
    today = chart.bar_rect(29).center().toPoint()
    QApplication.sendEvent(chart, QHelpEvent(QEvent.Type.ToolTip, today, chart.mapToGlobal(today)))
    text = QToolTip.text()
    QToolTip.hideText()

    assert text.splitlines() == [
        f"{date.today():%a %b} {date.today().day}: $1.30 · 2 requests",
        "gpt-4o: $1.00 (1)",
        "gpt-4o-mini: $0.30 (1)",
    ]


def test_bars_are_painted_in_their_models_legend_colours(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
    theme_controller: ThemeController,
) -> None:
    """Yesterday's single-model bar shows gpt-4o's colour, in the light and the dark theme."""
    session = open_session(with_history(data_dir), base_url=simulator.base_url)
    seen: dict[Theme, tuple[str, str]] = {}

    async def scenario() -> None:
        await session.connect()
        usage = await open_with_shortcut(qtbot, session)
        chart = usage.chart
        for theme in (Theme.LIGHT, Theme.DARK):
            theme_controller.apply(theme)
            await asyncio.sleep(0.05)
            image = chart.grab().toImage()
            ratio = image.devicePixelRatio()
            # Low in yesterday's bar: well inside it, whatever the axis scale.
            slot = chart.bar_rect(28)
            point = QPoint(int(slot.center().x() * ratio), int((slot.bottom() - 3) * ratio))
            seen[theme] = (image.pixelColor(point).name(), chart.series_colour(0).name())
        await session.shutdown()

    run(scenario())

    for painted, legend in seen.values():
        assert painted == legend
    assert seen[Theme.LIGHT][1] != seen[Theme.DARK][1]


def test_notes_say_which_figures_are_estimated_or_left_out(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """A locally counted request and one without a price are each pointed out."""
    session = open_session(with_history(data_dir), base_url=simulator.base_url)

    async def scenario() -> UsageWindow:
        await session.connect()
        usage = await open_with_shortcut(qtbot, session)
        await session.shutdown()
        return usage

    notes = run(scenario()).notes_label

    assert notes.isVisible()
    assert "1 request was counted locally" in notes.text()
    assert "1 request to models without a known price is counted but not included" in (notes.text())


def test_the_budget_bar_shows_the_share_used_and_the_daily_average_line(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """With a budget, the window shows spent, left and % used, and the chart its daily share."""
    context = with_history(data_dir)
    context.settings_store.update(monthly_budget_usd="31")
    session = open_session(context, base_url=simulator.base_url)

    async def scenario() -> UsageWindow:
        await session.connect()
        usage = await open_with_shortcut(qtbot, session)
        await session.shutdown()
        return usage

    usage = run(scenario())
    state = usage.budget
    assert state is not None
    spent = state.spent

    assert usage.budget_bar.isVisible()
    assert usage.budget_label.text().startswith(f"Budget: ${spent:.2f} of $31.00 used (")
    assert usage.budget_bar.value() == round(float(spent / 31) * usage.budget_bar.maximum())
    daily = usage.chart.daily_budget
    assert daily is not None and Decimal(28) <= Decimal(31) / daily <= Decimal(31)


def test_without_a_budget_the_window_says_how_to_set_one(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """No budget: no bar, a line explaining what a budget does, and a button to set one."""
    session = open_session(with_history(data_dir), base_url=simulator.base_url)

    async def scenario() -> None:
        await session.connect()
        usage = await open_with_shortcut(qtbot, session)
        assert not usage.budget_bar.isVisible()
        assert usage.budget_label.text().startswith("No monthly budget")
        qtbot.mouseClick(usage.budget_button, Qt.MouseButton.LeftButton)
        dialog = session.settings_dialog
        assert dialog is not None
        await wait_until(dialog.isVisible, "the settings dialog")
        await wait_until(lambda: not dialog.busy, "the settings dialog to settle")
        assert dialog.focusWidget() is dialog.budget_edit
        await session.shutdown()

    run(scenario())


def test_a_reply_sent_while_the_window_is_open_shows_up_in_it(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """The open window reads the ledger again once a new reply has been recorded."""
    session = open_session(with_history(data_dir), base_url=simulator.base_url)

    async def scenario() -> UsageWindow:
        await session.connect()
        usage = await open_with_shortcut(qtbot, session)
        assert usage.today_box.detail.text() == "2 requests"
        composer = session.window.composer
        composer.setPlainText("one more question")
        qtbot.mouseClick(session.window.send_button, Qt.MouseButton.LeftButton)
        await wait_until(
            lambda: usage.today_box.detail.text() == "3 requests", "the new reply in the window"
        )
        await session.shutdown()
        return usage

    usage = run(scenario())

    assert usage.chart.data.bars[-1].requests == 3
    assert "gpt-4o-mini" in usage.chart.data.series


def test_clicking_the_spend_in_the_status_bar_opens_the_window(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """The status bar's Session · Today · Month figures lead to the Usage window."""
    session = open_session(with_history(data_dir), base_url=simulator.base_url)
    totals = session.window.status.totals_label

    async def scenario() -> None:
        await session.connect()
        await wait_until(totals.isVisible, "the totals")
        qtbot.mouseClick(totals, Qt.MouseButton.LeftButton)
        usage = session.usage_window
        assert usage is not None
        await wait_until(lambda: usage.snapshot is not None, "the ledger to be read")
        await session.shutdown()

    run(scenario())

    assert session.usage_window is not None and session.usage_window.isVisible()


def test_in_the_demo_the_window_says_nothing_is_billed(
    qtbot: QtBot, run: Runner[Any], data_dir: Path, open_session: Callable[..., GuiSession]
) -> None:
    """Demo replies are not recorded, and the window explains why it has no figures."""
    session = open_session(make_context(data_dir), demo=True)

    async def scenario() -> UsageWindow:
        await session.connect()
        session.window.usage_button.click()
        usage = session.usage_window
        assert usage is not None
        await wait_until(usage.status_label.isVisible, "the explanation")
        await session.shutdown()
        return usage

    usage = run(scenario())

    assert "demo is not billed" in usage.status_label.text()
    assert usage.today_box.amount.text() == "—"


def test_a_ledger_that_cannot_be_read_is_said_so_instead_of_figures(
    qtbot: QtBot, run: Runner[Any], tmp_path: Path
) -> None:
    """A damaged usage ledger leaves the window up, saying it could not be read and why."""
    database = tmp_path / "chatdesk.sqlite3"
    ledger = UsageLedger(open_database(database))
    ledger.record("gpt-4o", Usage(prompt_tokens=1_000), Source.WINDOW)
    with sqlite3.connect(database) as db:
        db.execute("DROP TABLE usage_ledger")
    status = StatusBar()
    qtbot.addWidget(status)
    spend = SpendTracker(status)
    spend.use_ledger(ledger)
    usage = UsageWindow(spend, SettingsStore(tmp_path / "settings.json"))
    qtbot.addWidget(usage)

    run(usage.refresh())

    assert usage.status_label.text().startswith("Could not read the usage history: ")
    assert "usage_ledger" in usage.status_label.text()
    assert usage.today_box.amount.text() == "—"
    assert usage.snapshot is None
