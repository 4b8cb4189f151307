"""The heat-map of token probabilities, end to end against the simulator's streamed logprobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip
from pytestqt.qtbot import QtBot

from app.core.logprobs import percent, probability, shown_token
from app.core.params import ChatParams
from app.core.store.history import History
from app.simulator import SimulatorServer
from app.ui.chat.inspector.dock import InspectorDock
from tests.support.qt import ChatWindow, Runner, replay_unstreamed, wait_until
from tests.ui.chat.test_controller_replies import click_link, reply_to, send
from tests.ui.markdown.structure import anchors

# The offscreen platform cannot raise a tooltip's window; it shows it all the same.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")
WITH_LOGPROBS = ChatParams(logprobs=True, top_logprobs=4)


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    store = History.open(tmp_path / "chatdesk.db")
    yield store
    store.close()


@pytest.fixture
def slow_simulator() -> Iterator[SimulatorServer]:
    """Slow enough to open the heat-map while the reply is still streaming."""
    with SimulatorServer(chunk_delay=0.02, answer_words=120) as server:
        yield server


def links(chat: ChatWindow) -> list[str]:
    return [text for text, _ in anchors(chat.window.chat_view.document())]


def dock(chat: ChatWindow) -> InspectorDock:
    return chat.window.inspector_dock


def expected_tokens(simulator: SimulatorServer, choice: int = 0) -> list[dict[str, Any]]:
    """What the simulator answers to the first request: each token with its logprobs."""
    answer = replay_unstreamed(simulator, simulator.requests[0].body)
    content: list[dict[str, Any]] = answer["choices"][choice]["logprobs"]["content"]
    return content


def hover(chat: ChatWindow, index: int) -> str:
    """Rest the mouse on token `index` of the heat-map; the tooltip that shows."""
    view = dock(chat).heat_map
    point = view.cell_rect_center(index)
    event = QHelpEvent(QEvent.Type.ToolTip, point, view.viewport().mapToGlobal(point))
    QApplication.sendEvent(view.viewport(), event)
    return QToolTip.text()


def test_a_reply_with_logprobs_opens_as_a_tinted_heat_map(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """Probabilities shows the answer token by token, each tinted by how likely it was."""
    chat = open_chat(simulator.base_url)
    chat.controller.set_params(WITH_LOGPROBS)
    run(reply_to(qtbot, chat, "What is a pelican?"))
    assert not dock(chat).isVisible()

    click_link(qtbot, chat, "Probabilities")

    inspector = dock(chat)
    assert inspector.isVisible()
    cells = inspector.heat_map.cells
    assert "".join(cell.text for cell in cells) == chat.window.chat_view.last_reply_text()
    expected = expected_tokens(simulator)
    assert [(c.text, c.logprob) for c in cells] == [(t["token"], t["logprob"]) for t in expected]
    likely = max(range(len(cells)), key=lambda i: cells[i].logprob)
    unlikely = min(range(len(cells)), key=lambda i: cells[i].logprob)
    assert cells[unlikely].probability < 0.5 < cells[likely].probability
    assert inspector.heat_map.cell_color(likely) != inspector.heat_map.cell_color(unlikely)
    assert f"{len(cells):,} tokens" in inspector.summary_label.text()


def test_hovering_a_token_shows_its_probability_and_top_alternatives(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """The tooltip of a token names it, gives its probability, and lists what else was likely."""
    chat = open_chat(simulator.base_url)
    chat.controller.set_params(WITH_LOGPROBS)
    run(reply_to(qtbot, chat, "What is a pelican?"))
    click_link(qtbot, chat, "Probabilities")
    cells = dock(chat).heat_map.cells
    index = next(i for i, cell in enumerate(cells) if cell.text.startswith(" ") and i > 3)

    tip = hover(chat, index)

    cell = cells[index]
    assert shown_token(cell.text) in tip
    assert percent(cell.probability) in tip
    top = expected_tokens(simulator)[index]["top_logprobs"]
    assert len(top) == 4
    for alternative in top:
        assert shown_token(alternative["token"]) in tip
        assert percent(probability(alternative["logprob"])) in tip
    # The token the tip is about stands out from the others.
    assert dock(chat).heat_map.hovered == index


def test_the_heat_map_grows_while_the_reply_streams(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
) -> None:
    """Opened mid-reply, the heat-map shows the tokens so far and keeps up until the end."""
    chat = open_chat(slow_simulator.base_url)
    chat.controller.set_params(WITH_LOGPROBS)
    view = chat.window.chat_view
    seen: list[int] = []

    async def scenario() -> None:
        send(qtbot, chat, "Tell me about herons")
        await wait_until(lambda: len(view.last_reply_text()) > 40, "the first words")
        click_link(qtbot, chat, "Probabilities")
        heat_map = dock(chat).heat_map
        await wait_until(lambda: heat_map.cells, "the first tokens in the heat-map")
        seen.append(len(heat_map.cells))
        assert chat.controller.busy
        assert "streaming" in dock(chat).title_label.text()
        await wait_until(lambda: len(heat_map.cells) > seen[0] + 5, "more tokens")
        seen.append(len(heat_map.cells))
        await wait_until(lambda: not chat.controller.busy, "the reply to finish")
        await wait_until(lambda: not chat.window.inspector.following, "the last frame")

    run(scenario())
    cells = dock(chat).heat_map.cells
    assert seen[0] < seen[1] < len(cells)
    assert "".join(cell.text for cell in cells) == view.last_reply_text()
    assert [c.logprob for c in cells] == [t["logprob"] for t in expected_tokens(slow_simulator)]
    assert "streaming" not in dock(chat).title_label.text()


def test_each_choice_shows_its_own_tokens(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """With n=3 the inspector has a tab per choice, each with that choice's tokens."""
    chat = open_chat(simulator.base_url)
    chat.controller.set_params(ChatParams(n=3, logprobs=True, top_logprobs=2))
    run(reply_to(qtbot, chat, "Name a river"))
    click_link(qtbot, chat, "Probabilities")
    inspector = dock(chat)
    tabs = inspector.choice_tabs
    assert tabs.isVisible() and [tabs.tabText(i) for i in range(tabs.count())] == [
        "Choice 1",
        "Choice 2",
        "Choice 3",
    ]
    shown = []
    for choice in range(3):
        qtbot.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(choice).center())
        cells = inspector.heat_map.cells
        expected = [(t["token"], t["logprob"]) for t in expected_tokens(simulator, choice)]
        assert [(c.text, c.logprob) for c in cells] == expected
        shown.append("".join(cell.text for cell in cells))
    assert len(set(shown)) == 3


def test_probabilities_come_back_with_the_stored_conversation(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    history: History,
) -> None:
    """Reopened from the history, a reply still offers its heat-map, with the same tokens."""
    chat = open_chat(simulator.base_url, history=history)
    chat.controller.set_params(WITH_LOGPROBS)
    run(reply_to(qtbot, chat, "What is a pelican?"))
    click_link(qtbot, chat, "Probabilities")
    before = dock(chat).heat_map.cells
    chat.controller.new_chat()
    assert dock(chat).source is None

    [summary] = history.list_conversations()
    chat.controller.open_conversation(history.load(summary.id))
    click_link(qtbot, chat, "Probabilities")

    after = dock(chat).heat_map.cells
    assert [(c.text, c.logprob, c.alternatives) for c in after] == [
        (c.text, c.logprob, c.alternatives) for c in before
    ]
    assert hover(chat, 2)


def test_a_reply_without_logprobs_offers_no_heat_map(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """Only replies asked for with logprobs have a Probabilities link."""
    chat = open_chat(simulator.base_url)
    run(reply_to(qtbot, chat, "What is a pelican?"))
    assert "Copy" in links(chat)
    assert "Probabilities" not in links(chat)


def test_a_continued_reply_shows_its_earlier_part_untinted(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
) -> None:
    """After Continue only the new part has probabilities; the start is shown plain, and said so."""
    chat = open_chat(slow_simulator.base_url)
    chat.controller.set_params(WITH_LOGPROBS)
    view = chat.window.chat_view
    partial: list[str] = []

    async def scenario() -> None:
        send(qtbot, chat, "Tell me about herons")
        await wait_until(lambda: len(view.last_reply_text()) > 60, "some text")
        chat.controller.stop()
        await wait_until(lambda: not chat.controller.busy, "the reply to stop")
        partial.append(view.last_reply_text())
        click_link(qtbot, chat, "Continue")
        await wait_until(lambda: chat.controller.busy, "the continuation to start")
        await wait_until(lambda: not chat.controller.busy, "the continuation to finish")

    run(scenario())
    click_link(qtbot, chat, "Probabilities")
    heat_map = dock(chat).heat_map
    assert heat_map.prefix == partial[0]
    assert partial[0] + "".join(cell.text for cell in heat_map.cells) == view.last_reply_text()
    assert "untinted" in dock(chat).summary_label.text()
