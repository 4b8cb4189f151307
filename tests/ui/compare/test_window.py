"""Compare models: one prompt to two or three models at once, side by side, against the
simulator; then continuing the conversation with the answer picked."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.messages import Role
from app.core.reply import RunState
from app.core.store.ledger import Source
from app.core.usage import Usage
from app.simulator import SimulatorServer
from app.ui.compare.window import CompareWindow
from app.ui.usage.budget_guard import SEND_ANYWAY
from app.wiring import AppContext
from tests.support.gui_session import make_context, open_session_fixture  # noqa: F401
from tests.support.qt import TEST_KEY, Runner, wait_until

# The offscreen platform cannot raise windows or pass on size hints; the window asks anyway.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise)")

LATENCY = re.compile(r"First token (\d+\.\d\d) s · total (\d+\.\d\d) s")
USAGE = re.compile(r"[\d,]+ in · [\d,]+ out · \$\d")


@pytest.fixture
def paced() -> Iterator[SimulatorServer]:
    """A simulator that streams slowly enough for the columns to overlap visibly."""
    with SimulatorServer(chunk_delay=0.01, answer_words=60) as server:
        yield server


def start(
    open_session: Callable[..., GuiSession],
    run: Runner[Any],
    data_dir: Path,
    simulator: SimulatorServer,
    context: AppContext | None = None,
) -> GuiSession:
    """A connected session, its start-up requests (the server's model list) done."""
    context = context or make_context(data_dir, environ={"OPENAI_API_KEY": TEST_KEY})
    session = open_session(context, base_url=simulator.base_url)

    async def connected() -> None:
        await session.connect()
        picker = session.window.model_combo
        await wait_until(lambda: picker.server_models, "the server's models")

    run(connected())
    return session


def open_compare(qtbot: QtBot, session: GuiSession, draft: str) -> CompareWindow:
    """Type a draft in the composer and press Ctrl+Shift+M."""
    window = session.window
    qtbot.keyClicks(window.composer, draft)
    with qtbot.waitActive(window):
        window.activateWindow()
    modifiers = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.composer, Qt.Key.Key_M, modifiers)
    compare = session.compare_window
    assert compare is not None and compare.isVisible()
    return compare


def streaming_columns(compare: CompareWindow) -> int:
    comparison = compare.comparison
    if comparison is None:
        return 0
    return sum(reply.state is RunState.STREAMING for reply in comparison.replies)


async def all_answered(compare: CompareWindow) -> None:
    await wait_until(lambda: compare.comparison is not None, "the comparison to start")
    await wait_until(lambda: not compare.busy, "every column to finish")


def ledger_rows(data_dir: Path, *, estimated: bool = False) -> list[tuple[str, ...]]:
    """(source, model) of each usage ledger row, with whether it was estimated if asked."""
    connection = sqlite3.connect(data_dir / "chatdesk.db")
    try:
        rows = connection.execute(
            "SELECT source, model, estimated FROM usage_ledger ORDER BY id"
        ).fetchall()
    finally:
        connection.close()
    return [
        (str(source), str(model), *((str(bool(guess)),) if estimated else ()))
        for source, model, guess in rows
    ]


def test_three_columns_stream_at_once_with_their_tokens_cost_and_latency(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    paced: SimulatorServer,
) -> None:
    """The draft goes to three columns concurrently, each with its own model or parameters;
    each shows tokens, cost and timings, and every request is in the usage ledger as Compare's."""
    session = start(open_session, run, data_dir, paced)
    compare = open_compare(qtbot, session, "Explain recursion briefly")
    assert compare.prompt_edit.toPlainText() == "Explain recursion briefly"
    assert [c.model for c in compare.columns] == ["gpt-4o-mini", "gpt-4o"]

    compare.add_button.click()
    third = compare.columns[2]
    third.model_picker.set_current_model("gpt-4o-mini")
    qtbot.keyClicks(third.override_edits["temperature"], "1.3")
    qtbot.keyClicks(third.override_edits["seed"], "11")
    assert not compare.add_button.isEnabled()  # three at most

    async def scenario() -> None:
        compare.send_button.click()
        await wait_until(lambda: streaming_columns(compare) >= 2, "two columns streaming at once")
        await all_answered(compare)

    run(scenario())
    sent = sorted(
        (r.body["model"], str(r.body.get("temperature")), str(r.body.get("seed")))
        for r in paced.requests
    )
    assert sent == [
        ("gpt-4o", "None", "None"),
        ("gpt-4o-mini", "1.3", "11"),
        ("gpt-4o-mini", "None", "None"),
    ]
    assert {r.body["messages"][-1]["content"] for r in paced.requests} == {
        "Explain recursion briefly"
    }
    for column in compare.columns:
        assert "(simulated)" in column.view.last_reply_text()
        assert USAGE.match(column.usage_label.text()), column.usage_label.text()
        latency = LATENCY.fullmatch(column.latency_label.text())
        assert latency is not None, column.latency_label.text()
        assert 0 < float(latency[1]) <= float(latency[2])
        assert column.continue_button.isEnabled()
    models = ("gpt-4o-mini", "gpt-4o", "gpt-4o-mini")
    for column, answered_by in zip(compare.columns, models, strict=True):
        provenance = column.provenance_label.text()
        assert provenance.startswith(answered_by) and "fp_sim_0001" in provenance
    assert compare.columns[2].provenance_label.text().endswith("seed 11")
    assert sorted(ledger_rows(data_dir)) == [
        ("compare", "gpt-4o-2024-08-06"),
        ("compare", "gpt-4o-mini-2024-07-18"),
        ("compare", "gpt-4o-mini-2024-07-18"),
    ]
    assert session.spend.session.requests == 3


def test_continue_with_a_column_appends_that_exchange_to_the_conversation_and_history(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Picking the second answer adds the prompt and that answer to the conversation and the
    history, and its model and temperature become the conversation's."""
    session = start(open_session, run, data_dir, simulator)
    window, controller = session.window, session.controller
    qtbot.keyClicks(window.composer, "Hello there")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    run(wait_until(lambda: len(controller.conversation) == 2 and not controller.busy, "a reply"))

    compare = open_compare(qtbot, session, "Which answer is better?")
    assert "After this conversation's 2 messages" in compare.context_label.text()
    second = compare.columns[1]
    qtbot.keyClicks(second.override_edits["temperature"], "0.4")

    async def compared() -> None:
        compare.send_button.click()
        await all_answered(compare)

    run(compared())
    picked = second.view.last_reply_text()
    assert "gpt-4o" in picked

    second.continue_button.click()
    assert not compare.isVisible()
    messages = controller.conversation
    assert [m.role for m in messages] == [Role.USER, Role.ASSISTANT] * 2
    assert messages[2].text == "Which answer is better?"
    assert messages[3].text == picked
    assert controller.model == "gpt-4o" and controller.params.temperature == 0.4
    assert window.model_combo.current_model == "gpt-4o"
    assert window.composer.text() == ""
    assert window.chat_view.last_reply_text() == picked
    # The compared requests carried the earlier exchange before the new prompt.
    assert all(len(r.body["messages"]) == 3 for r in simulator.requests[1:])

    assert session.history is not None and controller.conversation_id is not None
    stored = session.history.load(controller.conversation_id)
    assert [m.content for m in stored.messages[2:]] == ["Which answer is better?", picked]
    assert stored.messages[3].model == "gpt-4o-2024-08-06"
    assert stored.messages[3].usage is not None
    assert (stored.model, stored.params.temperature) == ("gpt-4o", 0.4)

    # The conversation goes on with the picked model and parameters.
    qtbot.keyClicks(window.composer, "And now?")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    run(wait_until(lambda: len(controller.conversation) == 6 and not controller.busy, "a reply"))
    last = simulator.requests[-1].body
    assert (last["model"], last["temperature"]) == ("gpt-4o", 0.4)
    assert last["messages"][3]["content"] == picked


def test_the_composers_images_go_to_every_column(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """An image attached in the main window is sent with the prompt to each compared model."""
    picture = tmp_path / "boat.png"
    Image.new("RGB", (64, 48), (20, 90, 160)).save(picture)
    session = start(open_session, run, data_dir, simulator)
    area = session.window.image_area
    area.add_files([str(picture)])
    run(wait_until(lambda: len(area.parts()) == 1, "the image to be prepared"))

    compare = open_compare(qtbot, session, "What is in this picture?")
    assert "with 1 image: boat.png" in compare.context_label.text()

    async def compared() -> None:
        compare.send_button.click()
        await all_answered(compare)

    run(compared())
    for request in simulator.requests:
        content = request.body["messages"][-1]["content"]
        assert [part["type"] for part in content] == ["text", "image_url"]
    for column in compare.columns:
        assert "You attached 1 image" in column.view.last_reply_text()
    assert len(area.parts()) == 1  # comparing does not use up the attachment


def test_stop_stops_every_column_and_keeps_what_arrived(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
) -> None:
    """Stop (or Esc) ends all answers at once; each keeps its text, marked as stopped, and is
    paid for with an estimate of what arrived (the server sends no usage for a stopped one)."""
    with SimulatorServer(chunk_delay=0.05, answer_words=400) as slow:
        session = start(open_session, run, data_dir, slow)
        compare = open_compare(qtbot, session, "Tell me a long story")

        async def stopped() -> None:
            compare.send_button.click()
            await wait_until(lambda: streaming_columns(compare) == 2, "both columns streaming")
            await wait_until(
                lambda: all(c.view.last_reply_text() for c in compare.columns), "text in both"
            )
            compare.stop_button.click()
            await wait_until(lambda: not compare.busy, "the columns to stop")

        run(stopped())
    for column in compare.columns:
        assert column.view.rendered_text().rstrip().endswith("Stopped.")
        assert not column.continue_button.isEnabled()
        assert column.usage_label.text().endswith("(estimated)")
    assert compare.send_button.isEnabled()
    assert sorted(ledger_rows(data_dir, estimated=True)) == [
        ("compare", "gpt-4o-2024-08-06", "True"),
        ("compare", "gpt-4o-mini-2024-07-18", "True"),
    ]
    assert session.spend.session.requests == 2


def test_every_control_of_the_compare_window_has_an_accessible_name(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Screen readers can name every control Tab reaches in the Compare window."""
    session = start(open_session, run, data_dir, simulator)
    compare = open_compare(qtbot, session, "Hello")
    compare.add_button.click()
    controls = [
        w
        for w in compare.findChildren(QWidget)
        # A combo box's list is a popup window of its own, which Tab never enters.
        if w.focusPolicy() & Qt.FocusPolicy.TabFocus
        and w.focusProxy() is None
        and w.window() is compare
    ]
    assert len(controls) >= 20
    unnamed = [f"{type(w).__name__}#{w.objectName()}" for w in controls if not w.accessibleName()]
    assert unnamed == []


def test_with_a_hard_budget_limit_the_comparison_asks_first_and_cancel_sends_nothing(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Two or three requests at once count together against the budget: Cancel sends none."""
    context = make_context(data_dir, environ={"OPENAI_API_KEY": TEST_KEY})
    context.settings_store.update(monthly_budget_usd="10", budget_hard_limit=True)
    # $9.999975 of the $10 budget already spent this month.
    context.usage_ledger().record("gpt-4o", Usage(prompt_tokens=3_999_990), Source.CLI)
    session = start(open_session, run, data_dir, simulator, context)
    before = len(simulator.requests)
    compare = open_compare(qtbot, session, "Which is cheaper?")

    async def scenario() -> None:
        compare.send()
        await wait_until(lambda: session.budget.question is not None, "the budget question")
        box = session.budget.question
        assert box is not None and box.parentWidget() is compare
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
        await wait_until(lambda: "Not sent" in compare.status_label.text(), "the refusal")

    run(scenario())
    assert len(simulator.requests) == before
    assert compare.comparison is None


def test_with_a_hard_budget_limit_send_anyway_sends_every_column_after_one_question(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """One question covers the whole comparison: after Send anyway both columns answer
    without asking again."""
    context = make_context(data_dir, environ={"OPENAI_API_KEY": TEST_KEY})
    context.settings_store.update(monthly_budget_usd="10", budget_hard_limit=True)
    context.usage_ledger().record("gpt-4o", Usage(prompt_tokens=3_999_990), Source.CLI)
    session = start(open_session, run, data_dir, simulator, context)
    before = len(simulator.requests)
    compare = open_compare(qtbot, session, "Which is cheaper?")

    async def scenario() -> None:
        compare.send_button.click()
        await wait_until(lambda: session.budget.question is not None, "the budget question")
        box = session.budget.question
        assert box is not None
        send = next(b for b in box.buttons() if b.text() == SEND_ANYWAY)
        qtbot.mouseClick(send, Qt.MouseButton.LeftButton)
        # A second question would hold a column up until this wait gives up.
        await all_answered(compare)

    run(scenario())
    assert len(simulator.requests) == before + 2
    assert session.budget.question is None
    for column in compare.columns:
        assert "(simulated)" in column.view.last_reply_text()
        assert column.continue_button.isEnabled()
