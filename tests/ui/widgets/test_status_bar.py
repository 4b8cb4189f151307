"""The status bar: each reply's usage and cost, totals kept in the usage ledger, rate-limit
headroom, and the rate-limit countdown in the banner."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.catalog import lookup
from app.core.ratelimits import RateLimits
from app.core.secrets import ENV_VAR
from app.core.store.database import open_database
from app.core.store.ledger import Source, Spend, UsageLedger
from app.core.usage import Usage, cost, format_usd
from app.simulator import Fault, SimulatorServer
from app.ui.widgets.error_banner import RETRY_TEXT
from app.ui.widgets.status_bar import compact_count, rate_limit_text, totals_text, usage_text
from tests.support.gui_session import is_ready, make_context, open_session_fixture  # noqa: F401
from tests.support.qt import ChatWindow, Runner, replay_unstreamed, wait_until

TEST_KEY = "sk-test-status-bar"


async def send(qtbot: QtBot, session: GuiSession, prompt: str) -> None:
    qtbot.keyClicks(session.window.composer, prompt)
    qtbot.keyClick(session.window.composer, Qt.Key.Key_Return)
    await wait_until(lambda: session.controller.busy, "the reply to start")
    await wait_until(lambda: not session.controller.busy, "the reply to finish")


def test_last_reply_and_totals_match_the_server_usage_and_land_in_the_ledger(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Two replies: the bar shows the last one's usage; session and today add both up."""
    context = make_context(data_dir, environ={ENV_VAR: TEST_KEY})
    session = open_session(context, base_url=simulator.base_url)
    status = session.window.status

    async def scenario() -> None:
        await session.connect()
        await wait_until(status.totals_label.isVisible, "today's totals")
        assert status.totals_label.text() == "Session $0 · Today $0 · Month $0"
        await send(qtbot, session, "first question")
        await send(qtbot, session, "second question")
        await session.shutdown()

    run(scenario())

    replies = [replay_unstreamed(simulator, r.body) for r in simulator.requests]
    usages = [Usage.from_api(reply["usage"]) for reply in replies]
    model = lookup(replies[-1]["model"])
    assert status.usage_label.text() == usage_text(usages[-1], model)
    prices = [
        cost(usage, lookup(reply["model"])) for usage, reply in zip(usages, replies, strict=True)
    ]
    total = sum((p.total for p in prices if p is not None), Decimal(0))
    assert total > 0
    money = format_usd(total)
    assert status.totals_label.text() == f"Session {money} · Today {money} · Month {money}"
    assert "2 replies" in status.totals_label.toolTip()

    database = open_database(context.paths.database_file)
    today = UsageLedger(database).today()
    assert today.requests == 2
    assert today.prompt_tokens == sum(u.prompt_tokens for u in usages)
    assert today.completion_tokens == sum(u.completion_tokens for u in usages)
    assert today.cost_usd == total
    sources = {row[0] for row in database.execute("SELECT source FROM usage_ledger")}
    assert sources == {Source.WINDOW.value}


def test_demo_replies_are_counted_for_the_session_but_never_recorded(
    qtbot: QtBot, run: Runner[Any], data_dir: Path, open_session: Callable[..., GuiSession]
) -> None:
    """In demo mode the totals say "not billed" and the ledger stays empty."""
    context = make_context(data_dir)
    session = open_session(context, demo=True)
    status = session.window.status

    async def scenario() -> None:
        await session.connect()
        await wait_until(lambda: is_ready(session), "the demo")
        await send(qtbot, session, "hello demo")
        await session.shutdown()

    run(scenario())

    assert status.totals_label.text().endswith("(demo, not billed)")
    assert status.totals_label.text().startswith("Session $")
    ledger = UsageLedger(open_database(context.paths.database_file))
    assert ledger.this_month() == Spend()


def test_rate_limit_with_retry_after_counts_down_then_offers_retry(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """A 429 with Retry-After shows a live countdown on Retry, which is enabled at zero."""
    simulator.script(Fault.status(429, retry_after=2))
    chat = open_chat(simulator.base_url)
    banner = chat.window.banner
    labels: list[str] = []

    async def scenario() -> None:
        qtbot.keyClicks(chat.window.composer, "are we rate limited?")
        qtbot.keyClick(chat.window.composer, Qt.Key.Key_Return)
        await wait_until(banner.isVisible, "the rate-limit banner")
        assert banner.headline == "Rate limit reached"
        labels.append(banner.retry_button.text())
        assert not banner.retry_button.isEnabled()
        await wait_until(banner.retry_button.isEnabled, "the countdown to end")
        labels.append(banner.retry_button.text())
        qtbot.mouseClick(banner.retry_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: len(simulator.requests) == 2, "the retried request")
        await wait_until(lambda: not chat.controller.busy, "the retried reply")

    run(scenario())

    assert labels[0] in (f"{RETRY_TEXT} in 2 s", f"{RETRY_TEXT} in 1 s")
    assert labels[-1] == RETRY_TEXT
    assert not banner.isVisible()
    assert chat.controller.conversation[-1].text


def test_a_retryable_failure_without_retry_after_offers_retry_at_once(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """A 500 without Retry-After enables Retry straight away, with no countdown."""
    simulator.script(Fault.status(500))
    chat = open_chat(simulator.base_url)
    banner = chat.window.banner

    async def scenario() -> None:
        qtbot.keyClicks(chat.window.composer, "hello")
        qtbot.keyClick(chat.window.composer, Qt.Key.Key_Return)
        await wait_until(banner.isVisible, "the failure")

    run(scenario())

    assert banner.retry_button.isVisible()
    assert banner.retry_button.isEnabled()
    assert banner.retry_button.text() == RETRY_TEXT
    assert banner.seconds_until_retry == 0


def test_rate_limit_headroom_shows_what_is_left_and_when_it_resets() -> None:
    """Remaining requests and tokens, compacted, and the later of the two reset times."""
    limits = RateLimits(
        limit_requests=5000,
        remaining_requests=4998,
        reset_requests_s=0.012,
        limit_tokens=2_000_000,
        remaining_tokens=1_999_950,
        reset_tokens_s=6.0,
    )
    assert rate_limit_text(limits) == "Left: 4,998 req · 2M tok · resets 6 s"
    assert rate_limit_text(RateLimits()) == ""
    assert [compact_count(n) for n in (999, 12_500, 199_000, 1_500_000)] == [
        "999",
        "12.5k",
        "199k",
        "1.5M",
    ]


def test_totals_mark_estimated_and_unpriced_replies() -> None:
    """`~` marks sums with locally counted tokens, `+` sums missing unpriced replies."""
    exact = Spend(requests=1, cost_usd=Decimal("0.5"))
    rough = Spend(requests=2, cost_usd=Decimal("1.25"), estimated_requests=1, unpriced_requests=1)
    assert totals_text(exact, None, None) == "Session $0.50"
    assert totals_text(exact, rough, rough) == "Session $0.50 · Today ~$1.25+ · Month ~$1.25+"
