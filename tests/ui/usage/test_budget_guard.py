"""Budget warnings and limits in the main window: the status bar warns from 80% of the monthly
budget, and with a hard limit a request that could cross it is sent only if the user agrees."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.budget import BudgetLevel
from app.core.secrets import ENV_VAR
from app.core.store.database import open_database
from app.core.store.ledger import Source, UsageLedger
from app.core.usage import Usage
from app.simulator import SimulatorServer
from app.ui.usage.budget_guard import SEND_ANYWAY
from app.wiring import AppContext
from tests.support.gui_session import make_context, open_session_fixture  # noqa: F401
from tests.support.qt import Runner, wait_until

# The offscreen platform cannot size or raise dialogs as a window system would; it says so.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise)")

TEST_KEY = "sk-test-budget-guard"
# A draft with what a careless restore would lose: leading spaces, a blank line, a trailing one.
DRAFT = "  Plan a weekend in Lisbon:\n\n- food\n- museums  "


def spent_this_month(context: AppContext, dollars: str) -> None:
    """Record earlier spending of `dollars` (gpt-4o prompt tokens at $2.50 per million)."""
    tokens = int(Decimal(dollars) / Decimal("2.5") * 1_000_000)
    ledger = UsageLedger(open_database(context.paths.database_file))
    ledger.record("gpt-4o", Usage(prompt_tokens=tokens), Source.CLI)
    assert ledger.this_month().cost_usd == Decimal(dollars)


def budget_context(data_dir: Path, spent: str, *, budget: str, hard_limit: bool) -> AppContext:
    context = make_context(data_dir, environ={ENV_VAR: TEST_KEY})
    context.settings_store.update(monthly_budget_usd=budget, budget_hard_limit=hard_limit)
    spent_this_month(context, spent)
    return context


def press_send(qtbot: QtBot, session: GuiSession, draft: str) -> None:
    session.window.composer.setPlainText(draft)
    qtbot.mouseClick(session.window.send_button, Qt.MouseButton.LeftButton)


async def question_shown(session: GuiSession) -> QMessageBox:
    await wait_until(lambda: session.budget.question is not None, "the over-budget question")
    box = session.budget.question
    assert box is not None
    await wait_until(box.isVisible, "the question to show")
    return box


def test_no_warning_below_80_percent_and_one_once_a_reply_reaches_it(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Just under 80% the status bar is quiet; the reply that reaches 80% brings the warning."""
    context = budget_context(data_dir, "7.9999975", budget="10", hard_limit=False)
    session = open_session(context, base_url=simulator.base_url)
    label = session.budget.label

    async def scenario() -> None:
        await session.connect()
        await wait_until(session.window.status.totals_label.isVisible, "this month's totals")
        assert not label.isVisible()
        qtbot.keyClicks(session.window.composer, "hello")
        qtbot.keyClick(session.window.composer, Qt.Key.Key_Return)
        await wait_until(label.isVisible, "the budget warning")
        # Inside the loop: pending model listings must end before it stops.
        await session.shutdown()

    run(scenario())

    assert label.text() == "Budget 80% used"
    assert label.level is BudgetLevel.WARN
    assert "of your $10.00 budget" in label.toolTip()
    assert len(simulator.requests) == 1


def test_over_the_budget_the_warning_says_so_with_the_amounts(
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Past the budget the status bar shows what was spent against it, in the over colour."""
    context = budget_context(data_dir, "12.50", budget="10", hard_limit=False)
    session = open_session(context, base_url=simulator.base_url)
    label = session.budget.label

    async def scenario() -> None:
        await session.connect()
        await wait_until(label.isVisible, "the budget warning")
        await session.shutdown()

    run(scenario())

    assert label.text() == "Over budget: $12.50 of $10.00"
    assert label.level is BudgetLevel.OVER
    assert "#b3261e" in label.styleSheet() or "#ffb4ab" in label.styleSheet()


def test_raising_the_budget_in_settings_clears_the_warning(
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """A saved budget change takes effect at once: at 45% of the new budget nothing warns."""
    context = budget_context(data_dir, "9", budget="10", hard_limit=False)
    session = open_session(context, base_url=simulator.base_url)
    label = session.budget.label

    async def scenario() -> None:
        await session.connect()
        await wait_until(label.isVisible, "the budget warning")
        context.settings_store.update(monthly_budget_usd="20")
        await session.shutdown()

    run(scenario())

    assert not label.isVisible()


def test_with_a_hard_limit_cancel_sends_nothing_and_keeps_the_draft(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """A request that could cross the budget asks first; Cancel withdraws it, draft intact."""
    context = budget_context(data_dir, "9.998", budget="10", hard_limit=True)
    session = open_session(context, base_url=simulator.base_url)
    texts: list[str] = []

    async def scenario() -> None:
        await session.connect()
        await wait_until(session.window.status.totals_label.isVisible, "this month's totals")
        press_send(qtbot, session, DRAFT)
        box = await question_shown(session)
        texts.extend([box.text(), box.informativeText()])
        cancel = box.button(QMessageBox.StandardButton.Cancel)
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
        await wait_until(lambda: not session.controller.busy, "the turn to be withdrawn")
        await session.shutdown()

    run(scenario())

    assert texts[0] == "This request could take you over your $10.00 monthly budget"
    assert "$0.0020 left" in texts[1]
    assert "may cost up to $0.002" in texts[1]
    assert session.window.composer.toPlainText() == DRAFT
    assert simulator.requests == []
    assert session.controller.conversation == ()
    assert not session.window.banner.isVisible()
    assert session.window.send_button.isEnabled()


def test_with_a_hard_limit_send_anyway_sends_the_request(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Choosing Send anyway goes ahead: the server gets the request and the reply shows."""
    context = budget_context(data_dir, "9.998", budget="10", hard_limit=True)
    session = open_session(context, base_url=simulator.base_url)

    async def scenario() -> None:
        await session.connect()
        await wait_until(session.window.status.totals_label.isVisible, "this month's totals")
        press_send(qtbot, session, "What is the capital of Portugal?")
        box = await question_shown(session)
        [send] = [b for b in box.buttons() if b.text() == SEND_ANYWAY]
        qtbot.mouseClick(send, Qt.MouseButton.LeftButton)
        await wait_until(lambda: not session.controller.busy, "the reply")
        await session.shutdown()

    run(scenario())

    assert len(simulator.requests) == 1
    sent = simulator.requests[0].body["messages"][-1]["content"]
    assert "capital of Portugal" in str(sent)
    assert session.window.composer.toPlainText() == ""
    assert session.controller.conversation[-1].text
    # $9.998 plus a cheap reply: not over, and not rounded up to 100% either.
    assert session.budget.label.text() == "Budget 99% used"


def test_a_request_that_fits_the_budget_is_sent_without_asking(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """With plenty left under a hard limit, sending just sends."""
    context = budget_context(data_dir, "1", budget="10", hard_limit=True)
    session = open_session(context, base_url=simulator.base_url)

    async def scenario() -> None:
        await session.connect()
        await wait_until(session.window.status.totals_label.isVisible, "this month's totals")
        press_send(qtbot, session, "hello")
        # An unanswered question would hold the turn until the wait limit.
        await wait_until(lambda: len(simulator.requests) == 1, "the request")
        await wait_until(lambda: not session.controller.busy, "the reply")
        await session.shutdown()

    run(scenario())

    assert session.budget.question is None
    assert session.controller.conversation[-1].text


def test_without_a_hard_limit_even_an_over_budget_request_is_sent(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """The budget only warns unless the user chose a hard limit: nothing is held back."""
    context = budget_context(data_dir, "15", budget="10", hard_limit=False)
    session = open_session(context, base_url=simulator.base_url)

    async def scenario() -> None:
        await session.connect()
        await wait_until(session.window.status.totals_label.isVisible, "this month's totals")
        press_send(qtbot, session, "hello")
        await wait_until(lambda: len(simulator.requests) == 1, "the request")
        await wait_until(lambda: not session.controller.busy, "the reply")
        await session.shutdown()

    run(scenario())

    assert session.budget.question is None
    assert session.controller.conversation[-1].text


# The offscreen platform cannot stack or size the popup's tool windows and says so.
@pytest.mark.qt_log_ignore("This plugin does not support (raise|propagateSizeHints)")
def test_the_quick_ask_popup_asks_too_and_cancel_keeps_the_question(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """With a hard limit, a quick question that could cross it asks over the popup first."""
    context = budget_context(data_dir, "9.99999", budget="10", hard_limit=True)
    session = open_session(context, base_url=simulator.base_url)
    popup = session.companion.popup

    async def scenario() -> None:
        await session.connect()
        await wait_until(session.window.status.totals_label.isVisible, "this month's totals")
        session.companion.open_quick_ask()
        await wait_until(popup.isVisible, "the popup")
        qtbot.keyClicks(popup.input, "Is it worth it?")
        qtbot.keyClick(popup.input, Qt.Key.Key_Return)
        box = await question_shown(session)
        assert box.parentWidget() is popup
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
        await wait_until(lambda: not session.companion.quick_ask.busy, "the question withdrawn")
        await session.shutdown()

    run(scenario())

    assert simulator.requests == []
    assert popup.input.text() == "Is it worth it?"
