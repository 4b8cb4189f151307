"""The main window end to end: real widgets, the real client, the API simulator."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton
from pytestqt.qtbot import QtBot

from app.core.catalog import lookup
from app.core.endings import STOPPED as STOPPED_NOTE
from app.core.messages import Role
from app.core.usage import Usage, cost, format_usd
from app.simulator import Fault, SimulatorServer
from app.ui.widgets.status_bar import usage_text
from tests.support.qt import ChatWindow, Runner, replay_unstreamed, wait_until

PROMPT = "Explain what a context window is"


@pytest.fixture
def slow_simulator() -> Iterator[SimulatorServer]:
    """A simulator streaming a long answer one word per chunk, slowly enough to interrupt."""
    with SimulatorServer(chunk_delay=0.03, answer_words=150) as server:
        yield server


@pytest.fixture
def paced_simulator() -> Iterator[SimulatorServer]:
    """A simulator whose chunks arrive spread over several frames."""
    with SimulatorServer(chunk_delay=0.01, answer_words=40) as server:
        yield server


def type_and_send(qtbot: QtBot, chat: ChatWindow, prompt: str = PROMPT) -> None:
    qtbot.keyClicks(chat.window.composer, prompt)
    qtbot.keyClick(chat.window.composer, Qt.Key.Key_Return)


def test_enter_streams_the_answer_incrementally_and_shows_usage_and_cost(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    paced_simulator: SimulatorServer,
) -> None:
    """Enter streams the reply in several updates, then the status bar shows the server's usage."""
    chat = open_chat(paced_simulator.base_url)
    snapshots: list[str] = []
    chat.window.chat_view.reply_text_flushed.connect(
        lambda: snapshots.append(chat.window.chat_view.reply_text())
    )

    async def scenario() -> None:
        type_and_send(qtbot, chat)
        assert chat.window.composer.text() == ""
        await wait_until(chat.window.stop_button.isEnabled, "the reply to start")
        assert not chat.window.send_button.isEnabled()
        await wait_until(lambda: not chat.controller.busy, "the reply to finish")

    run(scenario())

    body = paced_simulator.requests[0].body
    expected = replay_unstreamed(paced_simulator, body)
    answer = expected["choices"][0]["message"]["content"]
    conversation = chat.controller.conversation
    assert [m.role for m in conversation] == [Role.USER, Role.ASSISTANT]
    assert conversation[0].text == PROMPT
    assert conversation[1].text == answer
    assert len(snapshots) > 1
    assert all(len(a) < len(b) for a, b in itertools.pairwise(snapshots))
    assert snapshots[-1].endswith(answer)
    usage = Usage.from_api(expected["usage"])
    model = lookup(expected["model"])
    price = cost(usage, model)
    assert price is not None
    label = chat.window.status.usage_label
    assert label.isVisible()
    assert label.text() == usage_text(usage, model)
    assert f"{usage.prompt_tokens:,} in" in label.text()
    assert format_usd(price.total) in label.text()
    assert "estimated" not in label.text()
    assert chat.window.status.limits_label.text().startswith("Left: ")
    assert chat.window.send_button.isEnabled()
    assert not chat.window.stop_button.isEnabled()


def test_usage_is_marked_estimated_when_the_server_sends_none(
    qtbot: QtBot, run: Runner[Any], open_chat: Callable[..., ChatWindow]
) -> None:
    """Against a server that sends no usage, the status bar marks its counts as estimated."""
    with SimulatorServer(send_usage=False) as simulator:
        chat = open_chat(simulator.base_url)

        async def scenario() -> None:
            type_and_send(qtbot, chat)
            await wait_until(lambda: chat.controller.busy, "the reply to start")
            await wait_until(lambda: not chat.controller.busy, "the reply to finish")

        run(scenario())

    text = chat.window.status.usage_label.text()
    assert text.endswith("(estimated)")
    assert " in · " in text
    assert "estimated" in chat.window.status.usage_label.toolTip().lower()


def test_stop_mid_stream_keeps_the_partial_answer(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
) -> None:
    """Stop mid-stream keeps the partial answer in the view and in the conversation."""
    chat = open_chat(slow_simulator.base_url)
    flushes: list[int] = []
    chat.window.chat_view.reply_text_flushed.connect(lambda: flushes.append(1))

    async def scenario() -> None:
        type_and_send(qtbot, chat)
        await wait_until(lambda: len(flushes) >= 2, "some of the reply")
        qtbot.mouseClick(chat.window.stop_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: not chat.controller.busy, "the reply to stop")

    run(scenario())

    full = replay_unstreamed(slow_simulator, slow_simulator.requests[0].body)
    answer = full["choices"][0]["message"]["content"]
    conversation = chat.controller.conversation
    assert [m.role for m in conversation] == [Role.USER, Role.ASSISTANT]
    partial = conversation[1].text
    assert partial
    assert len(partial) < len(answer)
    assert answer.startswith(partial)
    transcript = chat.window.chat_view.reply_text()
    assert partial in transcript
    assert transcript.endswith(STOPPED_NOTE)
    assert chat.window.composer.text() == ""
    assert not chat.window.banner.isVisible()


def test_escape_stops_the_reply(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
) -> None:
    """Esc in the composer stops a streaming reply like the Stop button does."""
    chat = open_chat(slow_simulator.base_url)
    chat.window.activateWindow()
    qtbot.waitActive(chat.window)
    flushes: list[int] = []
    chat.window.chat_view.reply_text_flushed.connect(lambda: flushes.append(1))

    async def scenario() -> None:
        type_and_send(qtbot, chat)
        await wait_until(lambda: flushes, "some of the reply")
        qtbot.keyClick(chat.window.composer, Qt.Key.Key_Escape)
        await wait_until(lambda: not chat.controller.busy, "the reply to stop")

    run(scenario())

    conversation = chat.controller.conversation
    assert conversation[-1].role is Role.ASSISTANT
    assert conversation[-1].text
    assert chat.window.chat_view.reply_text().endswith(STOPPED_NOTE)


def test_rejected_key_shows_the_banner_and_restores_the_draft(
    qtbot: QtBot, run: Runner[Any], open_chat: Callable[..., ChatWindow]
) -> None:
    """A 401 shows the banner, withdraws the turn and puts the prompt back in the composer."""
    with SimulatorServer(api_key="sk-the-right-key") as simulator:
        chat = open_chat(simulator.base_url, api_key="sk-a-wrong-key")

        async def scenario() -> None:
            type_and_send(qtbot, chat)
            await wait_until(lambda: chat.controller.busy, "the request to start")
            await wait_until(lambda: not chat.controller.busy, "the request to fail")

        run(scenario())

    banner = chat.window.banner
    assert banner.isVisible()
    assert banner.headline == "API key rejected"
    assert "Settings" in banner.remedy
    assert not banner.retry_button.isVisible()
    assert chat.window.composer.text() == PROMPT
    assert chat.controller.conversation == ()
    assert chat.window.chat_view.is_empty
    assert chat.window.send_button.isEnabled()


def test_retry_after_a_cut_off_answer_asks_again_in_place_of_it(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """A cut-off answer is kept with a Retry that replaces the turn with a complete answer."""
    simulator.script(Fault.disconnect(after_chunks=3))
    chat = open_chat(simulator.base_url)

    async def scenario() -> None:
        type_and_send(qtbot, chat)
        await wait_until(chat.window.banner.isVisible, "the failure")
        cut = chat.controller.conversation
        assert [m.role for m in cut] == [Role.USER, Role.ASSISTANT]
        assert cut[1].text
        assert chat.window.composer.text() == ""
        assert chat.window.banner.retry_button.isVisible()
        qtbot.mouseClick(chat.window.banner.retry_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: len(simulator.requests) == 2, "the second request")
        await wait_until(lambda: not chat.controller.busy, "the retried reply")

    run(scenario())

    answer = replay_unstreamed(simulator, simulator.requests[1].body)
    conversation = chat.controller.conversation
    assert [m.role for m in conversation] == [Role.USER, Role.ASSISTANT]
    assert conversation[1].text == answer["choices"][0]["message"]["content"]
    assert chat.window.chat_view.reply_text().splitlines().count("You") == 1
    assert not chat.window.banner.isVisible()


def test_shift_enter_inserts_a_newline_instead_of_sending(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """Shift+Enter breaks the line in the composer and sends nothing."""
    chat = open_chat(simulator.base_url)
    composer = chat.window.composer
    qtbot.keyClicks(composer, "first line")
    qtbot.keyClick(composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer, "second line")

    assert composer.text() == "first line\nsecond line"
    assert chat.controller.task is None
    assert chat.controller.conversation == ()
    assert simulator.requests == []


def test_follow_up_sends_the_whole_conversation_and_new_chat_forgets_it(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """A second prompt carries the first turn with it; New chat empties view and conversation."""
    chat = open_chat(simulator.base_url)

    async def send_and_wait(prompt: str) -> None:
        type_and_send(qtbot, chat, prompt)
        await wait_until(lambda: chat.controller.busy, "the reply to start")
        await wait_until(lambda: not chat.controller.busy, "the reply to finish")

    run(send_and_wait("first question"))
    run(send_and_wait("second question"))

    sent = simulator.requests[1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[0]["content"] == "first question"
    assert sent[2]["content"] == "second question"

    qtbot.mouseClick(chat.window.new_chat_button, Qt.MouseButton.LeftButton)
    assert chat.controller.conversation == ()
    assert chat.window.chat_view.is_empty
    assert not chat.window.status.usage_label.isVisible()


def test_the_model_picker_chooses_the_model_of_the_next_request(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """Picking another model in the combo box sends the next request to that model."""
    chat = open_chat(simulator.base_url)
    chat.window.model_combo.setCurrentText("gpt-4o")

    async def scenario() -> None:
        type_and_send(qtbot, chat)
        await wait_until(lambda: chat.controller.busy, "the reply to start")
        await wait_until(lambda: not chat.controller.busy, "the reply to finish")

    run(scenario())

    assert simulator.requests[0].body["model"] == "gpt-4o"


def test_ctrl_l_focuses_the_composer_and_ctrl_n_starts_a_new_chat(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """Ctrl+L moves the keyboard focus to the composer; Ctrl+N forgets the conversation."""
    chat = open_chat(simulator.base_url)
    window = chat.window
    window.activateWindow()
    qtbot.waitActive(window)

    async def scenario() -> None:
        type_and_send(qtbot, chat)
        await wait_until(window.stop_button.isEnabled, "the reply to start")
        await wait_until(lambda: not chat.controller.busy, "the reply to finish")

    run(scenario())
    window.model_combo.setFocus()
    qtbot.keyClick(window.model_combo, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.composer.hasFocus()
    qtbot.keyClick(window.composer, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert chat.controller.conversation == ()
    assert window.chat_view.is_empty


def test_every_control_has_an_accessible_name(
    open_chat: Callable[..., ChatWindow], simulator: SimulatorServer
) -> None:
    """Buttons, the model picker, the composer and the transcript are named for screen readers."""
    window = open_chat(simulator.base_url).window
    controls = [
        *window.findChildren(QAbstractButton),
        window.model_combo,
        window.composer,
        window.chat_view,
        window.banner,
    ]
    unnamed = [c.objectName() or type(c).__name__ for c in controls if not c.accessibleName()]
    assert unnamed == []
