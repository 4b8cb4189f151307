"""The live request estimate: what it shows, when it counts, and the over-window stop."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core import preflight
from app.core.messages import ChatMessage, Detail
from app.core.params import ChatParams
from app.core.tokens import image_tokens
from app.simulator import SimulatorServer
from app.ui.background import BackgroundImports
from app.ui.chat.request_gauge import (
    COUNTING_TEXT,
    RequestEstimator,
    RequestGauge,
    estimate_text,
    share_text,
    window_text,
)
from tests.support.dragdrop import drop, file_mime
from tests.support.qt import MODEL, ChatWindow, Runner, wait_until

GAUGE_TEXT = re.compile(r"^[\d,]+ tokens · \$[\d.]+ · (<1|\d+)% of 128K$")


async def _ready_now() -> None:
    return None


def current_estimate(chat: ChatWindow) -> Callable[[], object]:
    return lambda: chat.controller.estimator.current()


def test_window_sizes_and_shares_read_as_people_say_them() -> None:
    """128,000 is "128K", 8,192 is "8K", and a sliver of the window is "<1%"."""
    assert window_text(128_000) == "128K"
    assert window_text(200_000) == "200K"
    assert window_text(8_192) == "8K"
    assert window_text(999) == "999"
    assert share_text(0.001) == "<1%"
    assert share_text(0.0) == "0%"
    assert share_text(0.0964) == "10%"
    assert share_text(1.25) == "125%"


def test_the_gauge_text_gives_tokens_cost_and_share_of_the_window() -> None:
    """An estimate reads "1,234 tokens · $0.0031 · 1% of 128K"."""
    estimate = preflight.estimate(MODEL, [ChatMessage.user("hello " * 1000)], ChatParams())
    text = estimate_text(estimate)
    assert GAUGE_TEXT.match(text)
    assert text.startswith(f"{estimate.prompt_tokens:,} tokens · $")


def test_counting_is_shown_until_the_encoding_can_load_then_the_estimate(
    qtbot: QtBot, run: Runner[Any]
) -> None:
    """Before its prerequisite (the SDK import) is done the gauge says "counting…"."""
    sdk_loaded = asyncio.Event()

    async def sdk_import() -> None:
        await sdk_loaded.wait()

    messages = [ChatMessage.user("How long is this?")]
    estimator = RequestEstimator(
        lambda: (MODEL, messages, ChatParams()), BackgroundImports(sdk_import)
    )
    gauge = RequestGauge()
    qtbot.addWidget(gauge)
    gauge.follow(estimator)
    assert gauge.text == ""

    async def scenario() -> None:
        estimator.schedule()
        await wait_until(lambda: gauge.text == COUNTING_TEXT, "counting…")
        assert estimator.current() is None
        sdk_loaded.set()
        await wait_until(estimator.current, "the estimate")

    run(scenario())

    expected = preflight.estimate(MODEL, messages, ChatParams())
    assert estimator.current() == expected
    assert gauge.text == estimate_text(expected)
    assert gauge.level == ""
    assert f"{expected.prompt_tokens:,} prompt tokens" in gauge.toolTip()


def test_a_burst_of_changes_is_counted_once_and_changes_meanwhile_are_counted_again(
    run: Runner[Any],
) -> None:
    """Keystrokes in a row make one count; a change during a count makes one more."""
    drafts = ["a"]
    estimates: list[preflight.RequestEstimate] = []
    estimator = RequestEstimator(
        lambda: (MODEL, [ChatMessage.user(drafts[-1])], ChatParams()),
        BackgroundImports(_ready_now),
    )
    estimator.estimated.connect(estimates.append)

    async def scenario() -> None:
        for text in ("ab", "abc", "abcd"):
            drafts.append(text)
            estimator.schedule()
        await wait_until(estimator.current, "the first estimate")
        assert len(estimates) == 1
        drafts.append("abcd " * 500)
        estimator.schedule()
        assert estimator.current() is None
        await wait_until(estimator.current, "the second estimate")

    run(scenario())

    assert len(estimates) == 2
    assert estimates[-1].prompt_tokens > estimates[0].prompt_tokens


def test_nothing_is_counted_before_there_is_a_message(qtbot: QtBot, run: Runner[Any]) -> None:
    """With no draft and no conversation the gauge stays empty and no encoding is loaded."""
    background = BackgroundImports(_ready_now)
    estimator = RequestEstimator(lambda: (MODEL, [], ChatParams()), background)
    gauge = RequestGauge()
    qtbot.addWidget(gauge)
    gauge.show_counting()
    gauge.follow(estimator)
    cleared: list[bool] = []
    estimator.cleared.connect(lambda: cleared.append(True))

    async def scenario() -> None:
        estimator.schedule()
        await wait_until(lambda: cleared, "the count to find nothing")

    run(scenario())

    assert not background.counting_ready(MODEL)
    assert gauge.text == ""
    assert not gauge.bar.isVisibleTo(gauge)


def test_the_estimate_grows_with_the_draft_and_its_images(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """Typing and attaching an image raise the estimate by what they add; the gauge shows it."""
    photo = tmp_path / "wide.png"
    Image.new("RGB", (1600, 1200), (10, 20, 30)).save(photo)
    chat = open_chat(simulator.base_url)
    window = chat.window
    counts: list[int] = []

    async def settle() -> None:
        await wait_until(current_estimate(chat), "an estimate of the draft")
        estimate = chat.controller.estimator.current()
        assert estimate is not None
        counts.append(estimate.prompt_tokens)

    async def scenario() -> None:
        qtbot.keyClicks(window.composer, "Describe")
        await settle()
        qtbot.keyClicks(window.composer, " this picture in great detail, please")
        await settle()
        drop(window.image_area, file_mime(photo))
        await wait_until(lambda: window.image_area.parts(), "the image")
        await settle()

    run(scenario())

    assert counts[0] < counts[1]
    part = window.image_area.parts()[0]
    assert counts[2] - counts[1] == image_tokens(part.width, part.height, Detail.AUTO, MODEL)
    assert GAUGE_TEXT.match(window.request_gauge.text)
    assert window.request_gauge.text.startswith(f"{counts[2]:,} tokens")


def test_a_request_over_the_context_window_is_stopped_with_the_draft_kept(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """Over 128K tokens the gauge turns red and Send explains why nothing was sent."""
    photo = tmp_path / "attached.png"
    Image.new("RGB", (300, 200), (200, 20, 30)).save(photo)
    draft = "the quick brown fox jumps over the lazy dog\n" * 15_000
    chat = open_chat(simulator.base_url)
    window = chat.window

    async def scenario() -> None:
        drop(window.image_area, file_mime(photo))
        await wait_until(lambda: window.image_area.parts(), "the image")
        window.composer.setPlainText(draft)
        await wait_until(current_estimate(chat), "an estimate of the draft")
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)

    run(scenario())

    estimate = chat.controller.estimator.current()
    assert estimate is not None
    assert not estimate.fits
    assert window.request_gauge.level == "over"
    assert window.request_gauge.text.endswith("— too long")
    assert window.banner.isVisible()
    assert window.banner.headline.startswith(f"Too long for {MODEL}")
    assert window.composer.text() == draft
    assert len(window.image_area.parts()) == 1
    assert not chat.controller.busy
    assert chat.controller.conversation == ()
    assert simulator.requests == []
