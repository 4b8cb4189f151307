"""Replies in the main window, end to end against the simulator: safety, redoing, choices, Stop."""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.endings import STOPPED as STOPPED_NOTE
from app.core.messages import Role
from app.core.params import ChatParams
from app.simulator import SimulatorServer
from app.ui.chat.transcript import Speaker
from tests.support.qt import ChatWindow, Runner, replay_unstreamed, wait_until
from tests.ui.markdown.structure import anchors, click_text


class Listener:
    """A local HTTP server that records every request made to it."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.paths.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def slow_simulator() -> Iterator[SimulatorServer]:
    """A simulator streaming a long Markdown answer slowly enough to interrupt."""
    with SimulatorServer(chunk_delay=0.02, answer_words=200) as server:
        yield server


def send(qtbot: QtBot, chat: ChatWindow, prompt: str) -> None:
    qtbot.keyClicks(chat.window.composer, prompt)
    qtbot.keyClick(chat.window.composer, Qt.Key.Key_Return)


async def reply_to(qtbot: QtBot, chat: ChatWindow, prompt: str) -> None:
    send(qtbot, chat, prompt)
    await wait_until(lambda: chat.controller.busy, "the reply to start")
    await wait_until(lambda: not chat.controller.busy, "the reply to finish")
    await settled(chat)


async def settled(chat: ChatWindow) -> None:
    """Wait for the window's estimate of the next request, which counts in the background."""
    await wait_until(lambda: chat.controller.estimator.current() is not None, "the estimate")


def click_link(qtbot: QtBot, chat: ChatWindow, label: str) -> None:
    """Click the link labelled `label` in the transcript."""
    assert label in [text for text, _ in anchors(chat.window.chat_view.document())]
    click_text(qtbot, chat.window.chat_view, label)


def user_texts(chat: ChatWindow) -> list[str]:
    return [m.text() for m in chat.window.chat_view.messages if m.speaker is Speaker.USER]


def test_an_image_tag_in_the_answer_makes_no_request(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """Raw `<img>` and Markdown images in the reply are shown as text and never fetched."""
    chat = open_chat(simulator.base_url)
    with Listener() as listener:
        base = f"http://127.0.0.1:{listener.port}"
        prompt = f'Describe <img src="{base}/x.png"> and ![chart]({base}/chart.png) please'

        async def scenario() -> None:
            await reply_to(qtbot, chat, prompt)
            chat.window.grab()
            # A few turns of the loop for anything that might still want to load.
            await asyncio.sleep(0.05)
            assert listener.paths == []
            # The listener does answer: nothing reached it because nothing asked.
            with pytest.raises(urllib.error.HTTPError):
                await asyncio.to_thread(urllib.request.urlopen, f"{base}/probe", timeout=5)
            assert listener.paths == ["/probe"]

        run(scenario())
        assert f'<img src="{base}/x.png">' in chat.controller.conversation[-1].text
    rendered = chat.window.chat_view.rendered_text()
    assert f'<img src="{base}/x.png">' in rendered
    assert "[image: chart]" in rendered


def test_regenerate_asks_again_in_place_of_the_last_answer(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """Regenerate sends the same conversation again and replaces the last exchange with it."""
    chat = open_chat(simulator.base_url)

    async def scenario() -> None:
        await reply_to(qtbot, chat, "first question")
        await reply_to(qtbot, chat, "second question")
        click_link(qtbot, chat, "Regenerate")
        await wait_until(lambda: len(simulator.requests) == 3, "the third request")
        await wait_until(lambda: not chat.controller.busy, "the new reply")
        await settled(chat)

    run(scenario())

    second, third = simulator.requests[1].body, simulator.requests[2].body
    assert third["messages"] == second["messages"]
    assert [m.role for m in chat.controller.conversation] == [Role.USER, Role.ASSISTANT] * 2
    assert user_texts(chat) == ["first question", "second question"]
    answer = replay_unstreamed(simulator, third)["choices"][0]["message"]["content"]
    assert chat.window.chat_view.last_reply_text() == answer


def test_edit_puts_the_last_message_back_and_sending_replaces_its_exchange(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """Edit fills the composer with the last message; sending it replaces that exchange."""
    chat = open_chat(simulator.base_url)
    composer = chat.window.composer

    async def scenario() -> None:
        await reply_to(qtbot, chat, "first question")
        await reply_to(qtbot, chat, "second question")
        click_link(qtbot, chat, "Edit")
        assert composer.text() == "second question"
        assert "Cancel edit" in [text for text, _ in anchors(chat.window.chat_view.document())]
        qtbot.keyClick(composer, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        await reply_to(qtbot, chat, ", edited")

    run(scenario())

    sent = simulator.requests[2].body["messages"]
    assert [m["content"] for m in sent if m["role"] == "user"] == [
        "first question",
        "second question, edited",
    ]
    assert user_texts(chat) == ["first question", "second question, edited"]
    conversation = chat.controller.conversation
    assert [m.role for m in conversation] == [Role.USER, Role.ASSISTANT] * 2
    assert conversation[2].text == "second question, edited"


def test_several_choices_stream_into_tabs_and_the_chosen_one_continues(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """With n=3 every choice streams into its tab; the one picked is what the next turn sends."""
    chat = open_chat(simulator.base_url)
    chat.controller.set_params(ChatParams(n=3))
    view = chat.window.chat_view

    run(reply_to(qtbot, chat, "Give me options"))

    expected = replay_unstreamed(simulator, simulator.requests[0].body)["choices"]
    reply = view.messages[-1]
    assert [reply.text(i) for i in range(3)] == [c["message"]["content"] for c in expected]
    assert "Choice 1" in view.rendered_text()
    assert expected[0]["message"]["content"].split("\n")[0].replace("**", "") in (
        view.rendered_text()
    )
    click_link(qtbot, chat, "Choice 3")
    third = expected[2]["message"]["content"]
    assert view.last_reply_text() == third
    assert third.split(".")[0] in view.rendered_text()
    assert chat.controller.conversation[-1].text == third

    chat.controller.set_params(ChatParams())
    run(reply_to(qtbot, chat, "Go on"))
    # The last request, after the replay above.
    assert simulator.requests[-1].body["messages"][1]["content"] == third


def test_stop_keeps_the_partial_answer_rendered(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    slow_simulator: SimulatorServer,
) -> None:
    """Stopped mid-stream, the partial answer stays as rendered Markdown with a note under it."""
    chat = open_chat(slow_simulator.base_url)
    view = chat.window.chat_view

    async def scenario() -> None:
        send(qtbot, chat, "Explain streaming")
        await wait_until(lambda: "## " in view.last_reply_text(), "a heading to arrive")
        qtbot.mouseClick(chat.window.stop_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: not chat.controller.busy, "the reply to stop")
        await settled(chat)

    run(scenario())

    partial = chat.controller.conversation[-1].text
    assert view.last_reply_text() == partial
    rendered = view.rendered_text()
    assert rendered.endswith(STOPPED_NOTE)
    assert "**" not in rendered
    assert "## " not in rendered
    heading = partial.split("## ", 1)[1].split("\n", 1)[0]
    assert heading in rendered
    assert not view.streaming
