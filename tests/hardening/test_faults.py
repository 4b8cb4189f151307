"""Every way a request can fail, driven through the whole windowed app against the simulator.

Each case sends a prompt with an image from the real window (a `GuiSession`: the controller,
the status bar, the history) with the app's default retries, scripts one failure into the
simulator, and checks what a person would see: the headline and remedy, retries only where
they help and shown while they happen, the draft kept or the partial answer kept and marked,
the history, and that the very next message goes through.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.messages import Role
from app.core.settings import Settings
from app.core.store.records import MessageState
from app.simulator import Fault, SimulatorServer
from app.ui.attachments.area import ImageArea
from tests.support.dragdrop import drop, file_mime
from tests.support.evidence import Evidence
from tests.support.gui_session import make_context, open_session_fixture  # noqa: F401
from tests.support.qt import TEST_KEY, Runner, replay_unstreamed, wait_until

pytestmark = pytest.mark.hardening

PROMPT = "What is in this picture?"
FOLLOW_UP = "And what colour is it?"
RETRIES = Settings().max_retries  # the app's default: the SDK retries this often
# Long enough that only a scripted stall ever reaches it.
TIMEOUT_S = 60.0
# Short, so a stall fails fast; not so short that a busy machine's first answer reaches it.
STALL_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class FaultCase:
    """One failure and what the user must see."""

    name: str
    faults: tuple[Fault, ...]
    headline: str
    remedy: str  # a phrase of the remedy
    attempts: int  # requests the server receives for one press of Enter
    text_first: bool = False  # part of the answer arrives before the failure
    retry_button: bool = False
    timeout_s: float = TIMEOUT_S

    @property
    def retried(self) -> bool:
        return self.attempts > 1


def _every_attempt(fault: Fault) -> tuple[Fault, ...]:
    """The fault on the first try and on each retry, so that the retries do not help."""
    return (fault,) * (RETRIES + 1)


MODEL = Settings().default_model
CASES = [
    FaultCase(
        "401 key rejected",
        (Fault.status(401),),
        "API key rejected",
        "Open Settings to replace it",
        attempts=1,
    ),
    FaultCase(
        "403 access denied",
        (Fault.status(403),),
        "Access denied",
        "may not have access to this model or region",
        attempts=1,
    ),
    FaultCase(
        "404 model not found",
        (Fault.status(404),),
        f"Model “{MODEL}” not found",
        "Pick another model",
        attempts=1,
    ),
    FaultCase(
        "400 context length exceeded",
        (Fault.status(400, code="context_length_exceeded"),),
        "Conversation too long for this model",
        "Start a new chat",
        attempts=1,
    ),
    FaultCase(
        "429 rate limit with Retry-After: 1",
        _every_attempt(Fault.status(429, retry_after=1)),
        "Rate limit reached",
        "retry in 1 s",
        attempts=RETRIES + 1,
        retry_button=True,
    ),
    FaultCase(
        "429 insufficient quota",
        (Fault.status(429, code="insufficient_quota"),),
        "Out of credit",
        "add credit",
        attempts=1,
    ),
    FaultCase(
        "500 server error",
        _every_attempt(Fault.status(500)),
        "The server had a problem (500)",
        "retry in a moment",
        attempts=RETRIES + 1,
        retry_button=True,
    ),
    FaultCase(
        "502 bad gateway",
        _every_attempt(Fault.status(502)),
        "The server had a problem (502)",
        "retry in a moment",
        attempts=RETRIES + 1,
        retry_button=True,
    ),
    FaultCase(
        "503 overloaded",
        _every_attempt(Fault.status(503)),
        "The server had a problem (503)",
        "retry in a moment",
        attempts=RETRIES + 1,
        retry_button=True,
    ),
    FaultCase(
        "connection reset before the first token",
        (Fault.disconnect(after_chunks=0),),
        "Connection lost",
        "Check your network connection",
        attempts=1,
        retry_button=True,
    ),
    FaultCase(
        "connection reset mid-stream",
        (Fault.disconnect(after_chunks=4),),
        "Connection lost",
        "partial answer is kept",
        attempts=1,
        text_first=True,
        retry_button=True,
    ),
    FaultCase(
        "malformed chunk mid-stream",
        (Fault.malformed(after_chunks=4),),
        "The server sent a reply that could not be read",
        "may not be OpenAI-compatible",
        attempts=1,
        text_first=True,
        retry_button=True,
    ),
    FaultCase(
        "error event mid-stream",
        (Fault.stream_error(after_chunks=4),),
        "The server reported an error while answering",
        "partial answer is kept",
        attempts=1,
        text_first=True,
        retry_button=True,
    ),
    FaultCase(
        "stream stalls before the first token",
        (Fault.stall(after_chunks=0),),
        "The server took too long to answer",
        "raise the request timeout in Settings",
        attempts=1,
        retry_button=True,
        timeout_s=STALL_TIMEOUT_S,
    ),
    FaultCase(
        "stream stalls mid-answer",
        (Fault.stall(after_chunks=4),),
        "The server took too long to answer",
        "raise the request timeout in Settings",
        attempts=1,
        text_first=True,
        retry_button=True,
        timeout_s=STALL_TIMEOUT_S,
    ),
]


@pytest.fixture(scope="module", autouse=True)
def _warm_simulator() -> None:
    """Load the simulator's schema and encoding once, so no case's first answer is slow."""
    SimulatorServer().warm_up()


@pytest.fixture
def bugs(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Exceptions that reached the excepthook (where the app sends its bugs): none expected."""
    caught: list[BaseException] = []

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        caught.append(exc)

    monkeypatch.setattr(sys, "excepthook", hook)
    return caught


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "red-square.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(path, "PNG")
    return path


def free_port() -> int:
    """A loopback port nothing listens on (until a test starts a server there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class Recorded:
    """What the status bar said while the request ran."""

    messages: list[str]

    @property
    def retries(self) -> list[str]:
        return [m for m in self.messages if "retrying" in m]


def start_session(
    open_session: Callable[..., GuiSession], data_dir: Path, base_url: str, timeout_s: float
) -> tuple[GuiSession, Recorded]:
    context = make_context(data_dir, environ={"OPENAI_API_KEY": TEST_KEY})
    context.settings_store.update(request_timeout_s=timeout_s, max_retries=RETRIES)
    session = open_session(context, base_url=base_url)
    recorded = Recorded([])
    session.window.status.messageChanged.connect(recorded.messages.append)
    return session, recorded


async def attach(area: ImageArea, picture: Path) -> None:
    assert drop(area, file_mime(picture))
    await wait_until(lambda: len(area.parts()) == 1, "the picture to be prepared")


async def send(qtbot: QtBot, session: GuiSession, prompt: str | None = None) -> None:
    """Type `prompt` (or send the draft as it is) and wait for the reply to end."""
    composer = session.window.composer
    if prompt is not None:
        qtbot.keyClicks(composer, prompt)
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    await wait_until(lambda: session.controller.busy, "the request to start")
    await wait_until(lambda: not session.controller.busy, "the request to end")


def stored_messages(session: GuiSession) -> list[tuple[Role, MessageState, str, str]]:
    """(role, state, text, note) of every stored message, in every conversation."""
    history = session.history
    assert history is not None
    found = []
    for summary in history.list_conversations():
        for message in history.load(summary.id).messages:
            found.append((message.role, message.state, message.content, message.note))
    return found


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_failed_request_is_explained_and_nothing_the_user_wrote_is_lost(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    picture: Path,
    bugs: list[BaseException],
    evidence: Evidence,
    case: FaultCase,
) -> None:
    """The banner names the failure and its remedy; the draft or the partial answer survives."""
    with SimulatorServer() as simulator:
        session, status = start_session(open_session, data_dir, simulator.base_url, case.timeout_s)
        window = session.window
        area = window.image_area
        banner = window.banner
        # Retry as it looked the moment the request failed.
        retry_shown: list[tuple[str, bool]] = []
        session.controller.reply_ended.connect(
            lambda: retry_shown.append(
                (banner.retry_button.text(), banner.retry_button.isEnabled())
            )
        )

        async def scenario() -> None:
            await session.connect()
            await attach(area, picture)
            simulator.script(*case.faults)
            await send(qtbot, session, PROMPT)

        run(scenario())

        assert banner.isVisible()
        assert banner.headline == case.headline
        assert case.remedy in banner.remedy
        assert banner.retry_button.isVisible() is case.retry_button
        wait = case.faults[0].retry_after
        if wait:
            # The server asked to wait: Retry counts down, then becomes available.
            assert retry_shown == [(f"Retry in {wait:g} s", False)]
            run(wait_until(banner.retry_button.isEnabled, "the countdown to end"))
            assert banner.retry_button.text() == "Retry"
        attempts = len(simulator.requests)
        assert attempts == case.attempts
        assert len(status.retries) == attempts - 1
        said = f"The server answered {case.faults[0].http_status}; retrying"
        assert all(message.startswith(said) for message in status.retries)
        assert "retrying" not in window.status.currentMessage()
        assert simulator.pending_faults() == []
        conversation = session.controller.conversation
        if case.text_first:
            full = replay_unstreamed(simulator, simulator.requests[0].body)
            answer = full["choices"][0]["message"]["content"]
            assert [m.role for m in conversation] == [Role.USER, Role.ASSISTANT]
            partial = conversation[1].text
            assert partial and answer.startswith(partial) and partial != answer
            note = f"Cut off: {case.headline}."
            assert window.chat_view.reply_text().endswith(note)
            assert window.composer.text() == ""
            assert area.is_empty
            (_, (role, state, text, stored_note)) = stored_messages(session)
            assert (role, state, text, stored_note) == (
                Role.ASSISTANT,
                MessageState.FAILED,
                partial,
                note,
            )
        else:
            assert conversation == ()
            assert window.chat_view.is_empty
            assert window.composer.text() == PROMPT
            assert [p.source for p in area.parts()] == [str(picture)]
            assert stored_messages(session) == []
        assert window.send_button.isEnabled()

        # Usable at once: the draft goes again as it is, or the conversation carries on.
        async def afterwards() -> None:
            simulator.clear_requests()
            await send(qtbot, session, FOLLOW_UP if case.text_first else None)

        run(afterwards())

        assert len(simulator.requests) == 1
        assert not banner.isVisible()
        last = session.controller.conversation[-1]
        expected = replay_unstreamed(simulator, simulator.requests[0].body)
        assert last.text == expected["choices"][0]["message"]["content"]
        assert stored_messages(session)[-1][1] is MessageState.COMPLETE
    assert bugs == []

    evidence.record("Faults", case.name, outcome(case))


def outcome(case: FaultCase) -> str:
    retries = (
        f"retried {case.attempts - 1}× with “retrying…” in the status bar"
        if case.retried
        else "not retried"
    )
    kept = (
        f"partial answer kept, marked “Cut off: {case.headline}.” and stored as failed"
        if case.text_first
        else "prompt and image back in the composer, nothing stored"
    )
    retry = "Retry offered" if case.retry_button else "no Retry button"
    wait = case.faults[0].retry_after
    if wait:
        retry += f", counting down from {wait:g} s"
    return (
        f"Banner “{case.headline}” — “…{case.remedy}…”; {retries}; {kept}; {retry}; "
        "the next send succeeded."
    )


PASSING = [
    ("429 rate limit once (Retry-After: 1)", Fault.status(429, retry_after=1)),
    ("500 once", Fault.status(500)),
    ("502 once", Fault.status(502)),
    ("503 once", Fault.status(503)),
]


@pytest.mark.parametrize(("name", "fault"), PASSING, ids=[name for name, _ in PASSING])
def test_a_passing_server_error_is_retried_visibly_and_the_answer_arrives(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    picture: Path,
    bugs: list[BaseException],
    evidence: Evidence,
    name: str,
    fault: Fault,
) -> None:
    """One 429 or 5xx, then a good answer: "retrying…" shows meanwhile, and no problem after."""
    with SimulatorServer() as simulator:
        session, status = start_session(open_session, data_dir, simulator.base_url, TIMEOUT_S)
        window = session.window

        async def scenario() -> None:
            await session.connect()
            await attach(window.image_area, picture)
            simulator.script(fault)
            await send(qtbot, session, PROMPT)

        run(scenario())

        assert len(simulator.requests) == 2
        wait = f" in {fault.retry_after:g} s" if fault.retry_after else ""
        assert status.retries == [
            f"The server answered {fault.http_status}; retrying{wait} (1/{RETRIES})…"
        ]
        assert "retrying" not in window.status.currentMessage()
        assert not window.banner.isVisible()
        expected = replay_unstreamed(simulator, simulator.requests[1].body)
        assert (
            session.controller.conversation[-1].text == expected["choices"][0]["message"]["content"]
        )
        assert [state for _, state, _, _ in stored_messages(session)] == [
            MessageState.COMPLETE,
            MessageState.COMPLETE,
        ]
        assert window.composer.text() == "" and window.image_area.is_empty
    assert bugs == []

    evidence.record(
        "Faults",
        name,
        f"Retried once with “The server answered {fault.http_status}; retrying{wait} (1/"
        f"{RETRIES})…” in the status bar, cleared when the answer arrived; no banner; the "
        "answer arrived and was stored complete.",
    )


def test_a_refused_connection_is_retried_visibly_and_sending_works_once_the_server_is_up(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    picture: Path,
    bugs: list[BaseException],
    evidence: Evidence,
) -> None:
    """Nothing listening: "Could not connect" naming the address; sending works once it is up."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    session, status = start_session(open_session, data_dir, base_url, TIMEOUT_S)
    window = session.window
    area = window.image_area

    async def scenario() -> None:
        await session.connect()
        await attach(area, picture)
        await send(qtbot, session, PROMPT)

    run(scenario())

    banner = window.banner
    assert banner.headline == "Could not connect"
    assert f"Nothing answered at {base_url}" in banner.remedy
    assert banner.retry_button.isVisible()
    assert status.retries == [
        f"No answer from the server; retrying ({n}/{RETRIES})…" for n in range(1, RETRIES + 1)
    ]
    assert "retrying" not in window.status.currentMessage()
    assert window.composer.text() == PROMPT
    assert [p.source for p in area.parts()] == [str(picture)]
    assert stored_messages(session) == []

    with SimulatorServer(port=port) as simulator:
        qtbot.mouseClick(banner.retry_button, Qt.MouseButton.LeftButton)
        run(wait_until(lambda: not session.controller.busy and simulator.requests, "the reply"))
        expected = replay_unstreamed(simulator, simulator.requests[0].body)
    assert session.controller.conversation[-1].text == expected["choices"][0]["message"]["content"]
    assert not banner.isVisible()
    assert bugs == []

    evidence.record(
        "Faults",
        "connection refused (nothing listening)",
        f"Banner “Could not connect” — “Nothing answered at http://127.0.0.1:…/v1…”; retried "
        f"{RETRIES}× with “No answer from the server; retrying…” in the status bar; prompt and "
        "image back in the composer, nothing stored; Retry offered, and it succeeded once the "
        "server was up.",
    )
