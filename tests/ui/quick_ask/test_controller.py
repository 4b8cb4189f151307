"""The quick-ask popup against the API simulator: asking, streaming, stopping, failing, saving."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core import endings
from app.core.client import ChatClient, ConnectionConfig
from app.core.messages import Role
from app.core.store.database import open_database
from app.core.store.history import History
from app.core.store.ledger import Source, UsageLedger
from app.core.store.records import MessageState
from app.core.tokens import count_text
from app.simulator import Fault, SimulatorServer
from app.ui.background import BackgroundImports
from app.ui.quick_ask.controller import QuickAskController
from app.ui.quick_ask.popup import POPUP_TITLE, OfferKind, QuickAskPopup
from app.ui.usage.spend_tracker import SpendTracker
from app.ui.widgets.status_bar import StatusBar
from tests.support.gui_session import (  # noqa: F401
    make_context,
    open_session_fixture,
    open_settings,
    settle,
)
from tests.support.qt import TEST_KEY, Runner, wait_until

# Qt's offscreen platform cannot stack windows and says so whenever a tool window is shown.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")


@dataclass
class QuickAsk:
    popup: QuickAskPopup
    controller: QuickAskController
    history: History
    ledger: UsageLedger
    database: Path


@pytest.fixture
def slow_simulator() -> Iterator[SimulatorServer]:
    """A simulator whose long answers take seconds to stream, so they can be stopped."""
    with SimulatorServer(chunk_delay=0.05, answer_words=400) as server:
        yield server


@pytest.fixture
def open_quick_ask(
    qtbot: QtBot, run: Runner[Any], tmp_path: Path
) -> Iterator[Callable[[SimulatorServer], QuickAsk]]:
    """A quick-ask popup wired as the app wires it, talking to a simulator."""
    made: list[tuple[QuickAsk, ChatClient]] = []

    def make(simulator: SimulatorServer) -> QuickAsk:
        config = ConnectionConfig(api_key=TEST_KEY, base_url=simulator.base_url, max_retries=0)
        client = ChatClient(config)
        database = tmp_path / "chatdesk.sqlite3"
        ledger = UsageLedger(open_database(database))
        status = StatusBar()
        qtbot.addWidget(status)
        spend = SpendTracker(status)
        spend.use_ledger(ledger)
        popup = QuickAskPopup()
        qtbot.addWidget(popup)
        controller = QuickAskController(
            popup,
            model="gpt-4o-mini",
            client=lambda: client,
            background=BackgroundImports(client.warm_up),
            history=lambda: History.open(database),
            spend=spend,
        )
        quick = QuickAsk(popup, controller, History.open(database), ledger, database)
        made.append((quick, client))
        return quick

    yield make
    for quick, client in made:
        run(quick.controller.close())
        run(client.aclose())
        quick.history.close()


def ask(qtbot: QtBot, quick: QuickAsk, question: str) -> None:
    quick.controller.open()
    qtbot.waitExposed(quick.popup)
    qtbot.keyClicks(quick.popup.input, question)
    qtbot.keyClick(quick.popup.input, Qt.Key.Key_Return)


def stored_messages(history: History) -> list[tuple[Role, str, MessageState]]:
    conversations = history.list_conversations()
    if not conversations:
        return []
    stored = history.load(conversations[0].id)
    return [(m.role, m.content, m.state) for m in stored.messages]


def ledger_rows(quick: QuickAsk) -> list[tuple[str, int, int]]:
    """Each recorded request's source, whether it was estimated, and its reply tokens."""
    with sqlite3.connect(quick.database) as db:
        return db.execute(
            "SELECT source, estimated, completion_tokens FROM usage_ledger ORDER BY id"
        ).fetchall()


def test_answer_streams_in_place_with_its_cost_and_is_saved(
    qtbot: QtBot, run: Runner[Any], simulator: SimulatorServer, open_quick_ask: Any
) -> None:
    """Enter sends the question; the answer streams into the popup, shows its cost, and is kept."""
    quick = open_quick_ask(simulator)
    assert quick.popup.windowTitle() == POPUP_TITLE
    ask(qtbot, quick, "What is a context window?")
    run(wait_until(lambda: quick.controller.busy, "the question to be sent"))
    run(wait_until(lambda: not quick.controller.busy, "the answer to finish"))

    answer = quick.popup.answer_view.markdown
    assert "context window" in answer
    assert "context window" in quick.popup.answer_view.toPlainText()
    assert " in · " in quick.popup.cost_label.text() and "$" in quick.popup.cost_label.text()
    assert quick.popup.input.text() == ""
    assert quick.popup.open_button.isEnabled()
    messages = stored_messages(quick.history)
    assert messages == [
        (Role.USER, "What is a context window?", MessageState.COMPLETE),
        (Role.ASSISTANT, answer, MessageState.COMPLETE),
    ]
    run(wait_until(lambda: quick.ledger.today().requests == 1, "the spend to be recorded"))
    [(source, estimated, _tokens)] = ledger_rows(quick)
    assert (source, estimated) == (Source.QUICK_ASK.value, 0)


def test_a_follow_up_continues_the_same_conversation(
    qtbot: QtBot, run: Runner[Any], simulator: SimulatorServer, open_quick_ask: Any
) -> None:
    """A second question in the open popup is a follow-up, saved in the same conversation."""
    quick = open_quick_ask(simulator)

    async def scenario() -> None:
        # Typed while the event loop runs, as in the app: the first answer's connection may
        # still be closing, and that must happen inside the loop.
        ask(qtbot, quick, "Name a prime number")
        await wait_until(lambda: quick.popup.open_button.isEnabled(), "the first answer")
        await wait_until(lambda: not quick.controller.busy, "the first answer to finish")
        qtbot.keyClicks(quick.popup.input, "And another one?")
        qtbot.keyClick(quick.popup.input, Qt.Key.Key_Return)
        await wait_until(lambda: len(stored_messages(quick.history)) == 4, "the second exchange")
        await wait_until(lambda: not quick.controller.busy, "the second answer to finish")

    run(scenario())
    assert len(quick.history.list_conversations()) == 1
    assert [role for role, _, _ in stored_messages(quick.history)] == [
        Role.USER,
        Role.ASSISTANT,
        Role.USER,
        Role.ASSISTANT,
    ]


def test_escape_hides_the_popup_and_stops_the_answer_keeping_what_arrived(
    qtbot: QtBot, run: Runner[Any], slow_simulator: SimulatorServer, open_quick_ask: Any
) -> None:
    """Esc while the answer streams hides the popup and stops it; the partial answer is kept."""
    quick = open_quick_ask(slow_simulator)
    ask(qtbot, quick, "Tell me a long story")
    run(wait_until(lambda: len(quick.popup.answer_view.markdown) > 20, "some of the answer"))
    qtbot.keyClick(quick.popup.input, Qt.Key.Key_Escape)

    assert not quick.popup.isVisible()
    run(wait_until(lambda: not quick.controller.busy, "the answer to stop"))
    _question, (role, content, state) = stored_messages(quick.history)
    assert role is Role.ASSISTANT and state is MessageState.STOPPED
    assert content and len(content) < len("word " * 400)


def test_a_stopped_answer_is_paid_for_at_an_estimate_shown_in_the_popup(
    qtbot: QtBot, run: Runner[Any], slow_simulator: SimulatorServer, open_quick_ask: Any
) -> None:
    """Esc mid-answer records the tokens shown, counted locally; the popup shows that cost."""
    quick = open_quick_ask(slow_simulator)
    ask(qtbot, quick, "Tell me a long story")
    run(wait_until(lambda: len(quick.popup.answer_view.markdown) > 20, "some of the answer"))
    qtbot.keyClick(quick.popup.input, Qt.Key.Key_Escape)
    run(wait_until(lambda: not quick.controller.busy, "the answer to stop"))

    shown = quick.popup.answer_view.markdown
    [(source, estimated, completion_tokens)] = ledger_rows(quick)
    assert (source, estimated) == (Source.QUICK_ASK.value, 1)
    assert completion_tokens == count_text(shown, "gpt-4o-mini") > 0
    cost = quick.popup.cost_label.text()
    assert cost.startswith(endings.STOPPED)
    assert f"{completion_tokens:,} out" in cost and cost.endswith("(estimated)")
    _question, answer = stored_messages(quick.history)
    assert answer == (Role.ASSISTANT, shown, MessageState.STOPPED)
    assert quick.popup.input.text() == ""


def test_an_answer_cut_off_by_a_failure_is_kept_with_the_problem_and_its_estimate(
    qtbot: QtBot, run: Runner[Any], simulator: SimulatorServer, open_quick_ask: Any
) -> None:
    """A stream that breaks after some text keeps that text, says what broke, and its cost."""
    quick = open_quick_ask(simulator)
    simulator.script(Fault.disconnect(after_chunks=4))
    ask(qtbot, quick, "Will this finish?")
    run(wait_until(lambda: quick.popup.problem_label.isVisible(), "the problem"))
    run(wait_until(lambda: not quick.controller.busy, "the exchange to end"))

    shown = quick.popup.answer_view.markdown
    assert shown
    _question, (role, content, state) = stored_messages(quick.history)
    assert (role, content, state) == (Role.ASSISTANT, shown, MessageState.FAILED)
    assert quick.popup.cost_label.text().startswith("Cut off:")
    assert quick.popup.cost_label.text().endswith("(estimated)")
    assert [estimated for _source, estimated, _tokens in ledger_rows(quick)] == [1]
    assert quick.popup.input.text() == ""
    assert quick.popup.open_button.isEnabled()


def test_a_failure_shows_what_to_do_and_keeps_the_question(
    qtbot: QtBot, run: Runner[Any], simulator: SimulatorServer, open_quick_ask: Any
) -> None:
    """A rejected request shows its headline and remedy, and the question stays to send again."""
    quick = open_quick_ask(simulator)
    simulator.script(Fault.status(401))
    ask(qtbot, quick, "Will this work?")
    run(wait_until(lambda: quick.popup.problem_label.isVisible(), "the problem"))
    run(wait_until(lambda: not quick.controller.busy, "the exchange to end"))

    problem = quick.popup.problem_label.accessibleDescription()
    assert "key" in problem.lower()
    assert quick.popup.input.text() == "Will this work?"
    assert not quick.popup.open_button.isEnabled()


def test_a_failed_first_question_leaves_no_conversation_in_the_history(
    qtbot: QtBot, run: Runner[Any], simulator: SimulatorServer, open_quick_ask: Any
) -> None:
    """A first question that got no answer is not kept: the history has no conversation."""
    quick = open_quick_ask(simulator)
    simulator.script(Fault.status(500))
    ask(qtbot, quick, "Is anyone there?")
    run(wait_until(lambda: quick.popup.problem_label.isVisible(), "the problem"))
    run(wait_until(lambda: not quick.controller.busy, "the exchange to end"))

    assert quick.history.list_conversations() == []
    assert quick.controller.conversation_id is None
    assert ledger_rows(quick) == []


def test_a_failed_follow_up_is_withdrawn_and_the_first_exchange_stays(
    qtbot: QtBot, run: Runner[Any], simulator: SimulatorServer, open_quick_ask: Any
) -> None:
    """A follow-up that got no answer goes back to the input; the answered exchange is kept."""
    quick = open_quick_ask(simulator)

    async def scenario() -> None:
        ask(qtbot, quick, "Name a prime number")
        await wait_until(lambda: quick.popup.open_button.isEnabled(), "the first answer")
        await wait_until(lambda: not quick.controller.busy, "the first answer to finish")
        simulator.script(Fault.status(500))
        qtbot.keyClicks(quick.popup.input, "And another one?")
        qtbot.keyClick(quick.popup.input, Qt.Key.Key_Return)
        await wait_until(lambda: quick.popup.problem_label.isVisible(), "the problem")
        await wait_until(lambda: not quick.controller.busy, "the follow-up to end")

    run(scenario())
    assert quick.popup.input.text() == "And another one?"
    assert [(role, state) for role, _, state in stored_messages(quick.history)] == [
        (Role.USER, MessageState.COMPLETE),
        (Role.ASSISTANT, MessageState.COMPLETE),
    ]
    assert quick.popup.open_button.isEnabled()


def test_copied_text_is_offered_and_sent_after_the_question(
    qtbot: QtBot,
    run: Runner[Any],
    qapp: QApplication,
    simulator: SimulatorServer,
    open_quick_ask: Any,
) -> None:
    """Copied text is offered when the popup opens; attached, it is sent after the question."""
    qapp.clipboard().setText("def add(a, b): return a - b")
    quick = open_quick_ask(simulator)
    quick.controller.open()
    qtbot.waitExposed(quick.popup)
    assert quick.popup.offer_row.isVisible()
    assert "clipboard holds text" in quick.popup.offer_label.text()
    qtbot.mouseClick(quick.popup.offer_button, Qt.MouseButton.LeftButton)
    assert quick.popup.attached_text_label.isVisible()

    qtbot.keyClicks(quick.popup.input, "Find the bug")
    qtbot.keyClick(quick.popup.input, Qt.Key.Key_Return)
    run(wait_until(lambda: quick.popup.open_button.isEnabled(), "the answer"))
    question = stored_messages(quick.history)[0][1]
    assert question == "Find the bug\n\ndef add(a, b): return a - b"


def test_a_copied_image_is_offered_and_attached(
    qtbot: QtBot,
    run: Runner[Any],
    qapp: QApplication,
    simulator: SimulatorServer,
    open_quick_ask: Any,
) -> None:
    """An image on the clipboard is offered; attached, it is sent with the question."""
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor("teal"))
    qapp.clipboard().setImage(image)
    quick = open_quick_ask(simulator)
    offer = quick.controller.clipboard_offer()
    assert offer is not None and offer.kind is OfferKind.IMAGE
    quick.controller.open()
    qtbot.waitExposed(quick.popup)
    qtbot.mouseClick(quick.popup.offer_button, Qt.MouseButton.LeftButton)
    area = quick.popup.image_area
    run(wait_until(lambda: len(area.parts()) == 1, "the image to be prepared"))
    assert area.isVisible()

    qtbot.keyClicks(quick.popup.input, "What colour is this?")
    qtbot.keyClick(quick.popup.input, Qt.Key.Key_Return)
    run(wait_until(lambda: quick.popup.open_button.isEnabled(), "the answer"))
    stored = quick.history.load(quick.history.list_conversations()[0].id)
    assert len(stored.messages[0].images) == 1


def test_open_in_chatdesk_hands_over_the_saved_conversation(
    qtbot: QtBot, run: Runner[Any], simulator: SimulatorServer, open_quick_ask: Any
) -> None:
    """'Open in Chatdesk' hides the popup and asks for its conversation in the main window."""
    quick = open_quick_ask(simulator)
    ask(qtbot, quick, "Hello")
    run(wait_until(lambda: quick.popup.open_button.isEnabled(), "the answer"))
    with qtbot.waitSignal(quick.controller.open_conversation_requested) as opened:
        qtbot.mouseClick(quick.popup.open_button, Qt.MouseButton.LeftButton)
    assert opened.args == [quick.history.list_conversations()[0].id]
    assert not quick.popup.isVisible()


def test_reopening_after_an_answer_starts_a_new_question(
    qtbot: QtBot, run: Runner[Any], simulator: SimulatorServer, open_quick_ask: Any
) -> None:
    """Opened again after an answer, the popup is empty and ready for a new question."""
    quick = open_quick_ask(simulator)
    ask(qtbot, quick, "Hello")
    run(wait_until(lambda: quick.popup.open_button.isEnabled(), "the answer"))
    qtbot.keyClick(quick.popup.input, Qt.Key.Key_Escape)
    quick.controller.open()
    assert quick.popup.isVisible()
    assert not quick.popup.answer_view.isVisible()
    assert quick.controller.conversation_id is None


def test_settings_say_when_no_global_hotkey_works_and_how_to_bind_one(
    qtbot: QtBot, run: Runner[Any], data_dir: Path, open_session: Callable[..., GuiSession]
) -> None:
    """Without a hotkey backend, Settings says so and shows the command to bind instead."""
    session = open_session(make_context(data_dir, environ={"OPENAI_API_KEY": TEST_KEY}))
    session.companion.start()
    dialog = open_settings(qtbot, session)
    run(settle(dialog))

    note = dialog.hotkey_status_label
    assert note.isVisible()
    assert "Ctrl+Alt+Space does not work here" in note.text()
    assert "without a screen" in note.text()
    assert f"--data-dir {data_dir} --quick-ask" in note.text()
    assert "keyboard settings" in note.text()


def test_the_quick_ask_settings_are_saved(
    qtbot: QtBot, run: Runner[Any], data_dir: Path, open_session: Callable[..., GuiSession]
) -> None:
    """The hotkey, the quick-ask model and keeping to the tray are edited and saved in Settings."""
    context = make_context(data_dir, environ={"OPENAI_API_KEY": TEST_KEY})
    session = open_session(context)
    dialog = open_settings(qtbot, session)
    run(settle(dialog))
    fields = dialog.quick_ask
    fields.hotkey_edit.setText("ctrl+shift+k")
    fields.model_combo.setCurrentText("gpt-4o")
    fields.close_to_tray_check.setChecked(False)
    assert run(dialog.save())

    saved = context.settings_store.current
    assert (saved.hotkey, saved.quick_ask_model, saved.close_to_tray) == (
        "ctrl+shift+k",
        "gpt-4o",
        False,
    )
    assert session.companion.quick_ask.model == "gpt-4o"
    assert session.companion.popup.model_label.text() == "gpt-4o"


def test_a_hotkey_that_is_no_key_combination_is_refused(
    qtbot: QtBot, run: Runner[Any], data_dir: Path, open_session: Callable[..., GuiSession]
) -> None:
    """A hotkey without a modifier is refused under its field, and nothing is saved."""
    context = make_context(data_dir, environ={"OPENAI_API_KEY": TEST_KEY})
    dialog = open_settings(qtbot, open_session(context))
    run(settle(dialog))
    dialog.quick_ask.hotkey_edit.setText("space")
    assert not run(dialog.save())
    assert dialog.errors["hotkey"].isVisible()
    assert context.settings_store.current.hotkey == "ctrl+alt+space"
