"""Reproducibility in the main window: each reply's build and seed, and re-running it with the
same seed to see whether the answer changed (against the deterministic simulator)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.store.history import History
from app.core.store.ledger import Source
from app.core.usage import Usage
from app.simulator import SimulatorServer
from app.ui.chat.rerun_dialog import RerunDialog
from app.wiring import AppContext
from tests.support.gui_session import make_context, open_session_fixture  # noqa: F401
from tests.support.qt import TEST_KEY, ChatWindow, Runner, wait_until
from tests.ui.markdown.structure import anchors, blocks, click_text

# The offscreen platform cannot raise windows or pass on size hints; the dialog asks anyway.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise)")

RERUN = "Re-run with same seed"
SET_SEED = "Set a seed"

# A window and its controller: one opened by `open_chat`, or a whole session's.
Chat = ChatWindow | GuiSession


def links(chat: ChatWindow) -> list[str]:
    return [text for text, _ in anchors(chat.window.chat_view.document())]


def set_seed_in_panel(qtbot: QtBot, chat: Chat, seed: str) -> None:
    """Type a seed into the Parameters panel, as a user would."""
    chat.window.parameters_button.click()
    edit = chat.window.parameter_panel.seed_edit
    edit.setFocus()
    qtbot.keyClicks(edit, seed)
    assert chat.controller.params.seed == int(seed)


async def reply_to(qtbot: QtBot, chat: Chat, prompt: str) -> None:
    qtbot.keyClicks(chat.window.composer, prompt)
    qtbot.keyClick(chat.window.composer, Qt.Key.Key_Return)
    await wait_until(lambda: chat.controller.busy, "the reply to start")
    await wait_until(lambda: not chat.controller.busy, "the reply to finish")


async def rerun_result(qtbot: QtBot, chat: Chat) -> RerunDialog:
    """Click "Re-run with same seed" on the last reply and wait for the verdict."""
    click_text(qtbot, chat.window.chat_view, RERUN)
    reruns = chat.controller.reruns
    await wait_until(lambda: reruns.dialog is not None, "the re-run dialog")
    await wait_until(lambda: not reruns.busy, "the re-run to finish")
    assert reruns.dialog is not None and reruns.dialog.isVisible()
    return reruns.dialog


def marked_words(document: QTextDocument) -> tuple[list[str], list[str]]:
    """(struck-through words, highlighted words) as the diff shows them."""
    removed: list[str] = []
    added: list[str] = []
    for block in blocks(document):
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            char = fragment.charFormat()
            if char.fontStrikeOut():
                removed += fragment.text().split()
            elif char.background().style() != Qt.BrushStyle.NoBrush:
                added += fragment.text().split()
            iterator += 1
    return removed, added


def test_a_reply_shows_its_fingerprint_and_seed_and_a_rerun_reports_identical(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """With a seed set, the reply names its build and seed; re-running it says 'identical'
    and leaves the conversation as it was."""
    chat = open_chat(simulator.base_url)
    set_seed_in_panel(qtbot, chat, "42")

    async def scenario() -> RerunDialog:
        await reply_to(qtbot, chat, "Why is the sea salty?")
        return await rerun_result(qtbot, chat)

    dialog = run(scenario())
    view = chat.window.chat_view
    assert "gpt-4o-mini-2024-07-18 · fp_sim_0001 · seed 42" in view.rendered_text()
    assert dialog.headline_label.text() == "Identical: the same answer, word for word."
    assert "Same system fingerprint (fp_sim_0001)" in dialog.fingerprint_label.text()
    assert "Seed 42" in dialog.facts_label.text()
    assert marked_words(dialog.diff_view.document()) == ([], [])
    # The identical body went out twice, seed included.
    first, second = (request.body for request in simulator.requests)
    assert first == second and first["seed"] == 42
    # The conversation still holds one exchange, with the original reply.
    assert len(chat.controller.conversation) == 2
    assert dialog.diff_view.toPlainText().strip() == view.last_reply_text().strip()


def test_a_changed_answer_on_a_new_backend_is_shown_as_a_word_diff(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """When the server's build changed and the answer with it, the changed words are marked
    and the new fingerprint is named as the likely reason."""
    chat = open_chat(simulator.base_url)
    set_seed_in_panel(qtbot, chat, "7")

    async def scenario() -> RerunDialog:
        await reply_to(qtbot, chat, "Name a colour of the sea")
        original = chat.window.chat_view.last_reply_text()
        simulator.system_fingerprint = "fp_sim_0002"
        simulator.script_answer(original.replace("simulated", "emulated", 1))
        return await rerun_result(qtbot, chat)

    dialog = run(scenario())
    assert dialog.headline_label.text().startswith("Changed: 1 word removed, 1 word added")
    note = dialog.fingerprint_label.text()
    assert "changed from fp_sim_0001 to fp_sim_0002" in note
    removed, added = marked_words(dialog.diff_view.document())
    assert [w.strip("*().") for w in removed] == ["simulated"]
    assert [w.strip("*().") for w in added] == ["emulated"]
    assert dialog.legend_label.isVisible()
    assert "This re-run:" in dialog.cost_label.text()
    # The reply in the conversation is not replaced by the re-run.
    assert "emulated" not in chat.window.chat_view.last_reply_text()


def test_without_a_seed_the_reply_offers_to_set_one(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """A reply sent without a seed says so and offers "Set a seed"; after that the next
    reply can be re-run."""
    chat = open_chat(simulator.base_url)
    run(reply_to(qtbot, chat, "First question"))
    assert "fp_sim_0001 · no seed" in chat.window.chat_view.rendered_text()
    assert SET_SEED in links(chat) and RERUN not in links(chat)

    click_text(qtbot, chat.window.chat_view, SET_SEED)
    seed = chat.controller.params.seed
    assert seed is not None
    assert chat.window.parameter_panel.seed_edit.text() == str(seed)
    assert f"Seed {seed} is set" in chat.window.status.currentMessage()
    assert SET_SEED not in links(chat)

    run(reply_to(qtbot, chat, "Second question"))
    assert simulator.requests[-1].body["seed"] == seed
    assert f"seed {seed}" in chat.window.chat_view.rendered_text()
    assert RERUN in links(chat)


def test_a_reopened_conversation_keeps_the_provenance_and_can_be_rerun(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """Fingerprint and seed are stored with the reply: opened again from the history it still
    shows them, and re-running it sends the same request as the original."""
    history = History.open(tmp_path / "chatdesk.db")
    chat = open_chat(simulator.base_url, history=history)
    set_seed_in_panel(qtbot, chat, "123")
    run(reply_to(qtbot, chat, "Tell me about tides"))
    conversation_id = chat.controller.conversation_id
    assert conversation_id is not None

    chat.controller.new_chat()
    chat.controller.open_conversation(history.load(conversation_id))
    assert "fp_sim_0001 · seed 123" in chat.window.chat_view.rendered_text()
    dialog = run(rerun_result(qtbot, chat))
    assert dialog.headline_label.text() == "Identical: the same answer, word for word."
    first, second = (request.body for request in simulator.requests)
    assert first == second
    history.close()


def seeded_session(
    qtbot: QtBot,
    run: Runner[Any],
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
    context: AppContext,
) -> GuiSession:
    """A connected session (its start-up requests done) whose last reply was sent with seed 42."""
    session = open_session(context, base_url=simulator.base_url)

    async def connected() -> None:
        await session.connect()
        picker = session.window.model_combo
        await wait_until(lambda: picker.server_models, "the server's models")

    run(connected())
    set_seed_in_panel(qtbot, session, "42")
    run(reply_to(qtbot, session, "Why is the sea salty?"))
    return session


def ledger_sources(data_dir: Path) -> list[str]:
    connection = sqlite3.connect(data_dir / "chatdesk.db")
    try:
        rows = connection.execute("SELECT source FROM usage_ledger ORDER BY id").fetchall()
    finally:
        connection.close()
    return [str(source) for (source,) in rows]


def test_a_rerun_is_paid_for_under_its_own_name(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """The re-run's cost is in the usage ledger as a re-run and in the status bar's totals."""
    context = make_context(data_dir, environ={"OPENAI_API_KEY": TEST_KEY})
    session = seeded_session(qtbot, run, open_session, simulator, context)
    dialog = run(rerun_result(qtbot, session))
    assert dialog.headline_label.text() == "Identical: the same answer, word for word."
    assert "This re-run:" in dialog.cost_label.text()
    assert ledger_sources(data_dir) == ["window", "rerun"]
    assert session.spend.session.requests == 2


def test_with_a_hard_budget_limit_a_rerun_asks_first_and_cancel_sends_nothing(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    simulator: SimulatorServer,
) -> None:
    """Near a hard budget limit, "Re-run with same seed" asks like any paid request; Cancel
    sends nothing and says so."""
    context = make_context(data_dir, environ={"OPENAI_API_KEY": TEST_KEY})
    session = seeded_session(qtbot, run, open_session, simulator, context)
    # Then the month comes within a few cents of a $10 budget with a hard limit.
    context.usage_ledger().record("gpt-4o", Usage(prompt_tokens=3_999_990), Source.CLI)
    context.settings_store.update(monthly_budget_usd="10", budget_hard_limit=True)
    before = len(simulator.requests)

    async def scenario() -> RerunDialog:
        click_text(qtbot, session.window.chat_view, RERUN)
        reruns = session.controller.reruns
        await wait_until(lambda: session.budget.question is not None, "the budget question")
        box = session.budget.question
        assert box is not None and box.isVisible()
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
        await wait_until(lambda: not reruns.busy, "the re-run to end")
        assert reruns.dialog is not None
        return reruns.dialog

    dialog = run(scenario())
    assert len(simulator.requests) == before
    assert dialog.headline_label.text() == "Not re-run: it could take the month past your budget."
    assert dialog.fingerprint_label.text() == "Nothing was sent."
    assert ledger_sources(data_dir) == ["window", "cli"]
