"""Load: five answers streaming at once into one data folder, each complete and kept in its place.

The main window streams one conversation at a time (its controller runs one reply; while it
streams, Enter leaves the next draft in the composer), so the five are: the window, the
quick-ask popup of the same running Chatdesk, and three `chatdesk ask` processes, all against
one simulator whose answers take seconds to stream, so they overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.messages import Role
from app.core.store.history import History
from app.core.store.ledger import Source
from app.core.store.records import MessageState
from app.simulator import SimulatorServer
from tests.support.evidence import Evidence
from tests.support.gui_session import is_ready, make_context, open_session_fixture  # noqa: F401
from tests.support.qt import TEST_KEY, WAIT_LIMIT_S, Runner, replay_unstreamed, wait_until

pytestmark = [
    pytest.mark.hardening,
    # Qt's offscreen platform cannot stack windows and says so whenever the popup is shown.
    pytest.mark.qt_log_ignore("This plugin does not support raise"),
]

REPO_ROOT = Path(__file__).resolve().parents[2]
# Each answer streams for several seconds, long enough for all five to be under way together.
CHUNK_DELAY_S = 0.025
ANSWER_WORDS = 300
WINDOW_PROMPT = "Window question: how do lighthouses signal ships at night?"
POPUP_PROMPT = "Popup question: why do kettles whistle?"
ASK_PROMPTS = (
    "Ask one: what makes sourdough rise?",
    "Ask two: how do glaciers carve valleys?",
    "Ask three: why are flamingos pink?",
)


@dataclass
class AskProcess:
    """A `chatdesk ask` process whose output is read as it arrives."""

    prompt: str
    process: subprocess.Popen[bytes]
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    threads: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def start(cls, prompt: str, data_dir: Path, base_url: str) -> AskProcess:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        environ |= {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": base_url}
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "ask", "--data-dir", str(data_dir), prompt],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environ,
        )
        ask = cls(prompt, process)
        for stream, sink in ((process.stdout, ask.stdout), (process.stderr, ask.stderr)):
            thread = threading.Thread(target=_drain, args=(stream, sink), daemon=True)
            thread.start()
            ask.threads.append(thread)
        return ask

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def finish(self) -> int:
        code = self.process.wait(WAIT_LIMIT_S)
        for thread in self.threads:
            thread.join(WAIT_LIMIT_S)
        return code


def _drain(stream: Any, sink: bytearray) -> None:
    while chunk := stream.read1(65536):
        sink += chunk


def test_five_answers_stream_at_once_and_each_is_kept_in_its_own_conversation(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    evidence: Evidence,
) -> None:
    """The window, the quick-ask popup and three `chatdesk ask` answer together: each answer
    is complete and exactly the server's, saved as its own conversation, and paid for once."""
    with SimulatorServer(chunk_delay=CHUNK_DELAY_S, answer_words=ANSWER_WORDS) as simulator:
        context = make_context(data_dir, environ={"OPENAI_API_KEY": TEST_KEY})
        session = open_session(context, base_url=simulator.base_url)
        quick = session.companion.quick_ask
        run(session.connect())
        run(wait_until(lambda: is_ready(session), "the window to connect"))
        run(wait_until(lambda: session.spend.ledger is not None, "the usage ledger"))

        asks = [AskProcess.start(p, data_dir, simulator.base_url) for p in ASK_PROMPTS]
        in_flight: list[bool] = []
        try:
            # The slower start of a process: the window and the popup join once every `ask` is
            # already streaming its answer.
            run(wait_until(lambda: all(a.stdout for a in asks), "every `ask` to start answering"))

            async def scenario() -> None:
                composer = session.window.composer
                qtbot.keyClicks(composer, WINDOW_PROMPT)
                qtbot.keyClick(composer, Qt.Key.Key_Return)
                session.companion.open_quick_ask()
                qtbot.keyClicks(quick.popup.input, POPUP_PROMPT)
                qtbot.keyClick(quick.popup.input, Qt.Key.Key_Return)
                await wait_until(lambda: len(simulator.requests) == 5, "all five requests")
                in_flight.extend([session.controller.busy, quick.busy, *(a.running for a in asks)])
                await wait_until(lambda: not session.controller.busy, "the window's answer")
                await wait_until(lambda: not quick.busy, "the popup's answer")
                while any(a.running for a in asks):
                    await asyncio.sleep(0.05)

            run(scenario())
        finally:
            for ask in asks:
                if ask.running:
                    ask.process.kill()
        codes = [ask.finish() for ask in asks]
        assert codes == [0, 0, 0], [bytes(a.stderr).decode() for a in asks]
        # All five were under way together when the last request arrived.
        assert in_flight == [True] * 5

        received = simulator.requests
        assert len(received) == 5
        answers = {_prompt_of(r.body): _answer_to(simulator, r.body) for r in received}
        assert set(answers) == {WINDOW_PROMPT, POPUP_PROMPT, *ASK_PROMPTS}

    # What each showed is the whole answer the server gave to that question.
    assert session.window.chat_view.last_reply_text() == answers[WINDOW_PROMPT]
    assert quick.popup.answer_view.markdown == answers[POPUP_PROMPT]
    for ask in asks:
        assert bytes(ask.stdout).decode() == answers[ask.prompt] + "\n"

    # Each exchange is a conversation of its own, question and complete answer paired.
    history = History.open(data_dir / "chatdesk.db")
    try:
        stored = {}
        for summary in history.list_conversations():
            conversation = history.load(summary.id)
            user, reply = conversation.messages
            assert (user.role, user.state) == (Role.USER, MessageState.COMPLETE)
            assert (reply.role, reply.state) == (Role.ASSISTANT, MessageState.COMPLETE)
            assert summary.title == user.content
            stored[user.content] = (summary.id, reply.content)
    finally:
        history.close()
    assert {prompt: answer for prompt, (_, answer) in stored.items()} == answers
    assert stored[WINDOW_PROMPT][0] == session.controller.conversation_id
    assert stored[POPUP_PROMPT][0] == quick.conversation_id

    # The usage ledger has one row per answer, from where it was asked.
    with contextlib.closing(sqlite3.connect(data_dir / "chatdesk.db")) as database:
        rows = database.execute(
            "SELECT source, prompt_tokens, completion_tokens FROM usage_ledger"
        ).fetchall()
    assert Counter(source for source, _, _ in rows) == Counter(
        {Source.CLI.value: 3, Source.QUICK_ASK.value: 1, Source.WINDOW.value: 1}
    )
    assert all(prompt > 0 and completion > 0 for _, prompt, completion in rows)

    sources = {WINDOW_PROMPT: "the window", POPUP_PROMPT: "the quick-ask popup"}
    sources |= {prompt: f"`chatdesk ask` process {n}" for n, prompt in enumerate(ASK_PROMPTS, 1)}
    ledger_source = {WINDOW_PROMPT: Source.WINDOW, POPUP_PROMPT: Source.QUICK_ASK}
    for prompt, where in sources.items():
        evidence.record(
            "Load",
            f"{where}, one of five answers streaming at once on one data folder",
            f"complete ({len(answers[prompt].split())} words, exactly the server's answer), "
            f"stored as its own conversation, one ledger row "
            f"({ledger_source.get(prompt, Source.CLI).value})",
        )
    evidence.record(
        "Load",
        "all five at once (the window streams one conversation at a time, so the other four "
        "are the popup and three `ask` processes)",
        "all five were streaming when the last request arrived; 5 conversations, 5 ledger "
        "rows (window, quick-ask, cli ×3)",
    )


def _prompt_of(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    assert isinstance(content, str)
    return content


def _answer_to(simulator: SimulatorServer, body: dict[str, Any]) -> str:
    content = replay_unstreamed(simulator, body)["choices"][0]["message"]["content"]
    assert isinstance(content, str)
    return content
