"""Fixtures and helpers for driving real Chatdesk widgets on a qasync loop against the API simulator
(used by the conftest files of tests/ui, tests/end2end and tests/hardening)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.catalog import CATALOG
from app.core.client import ChatClient, ConnectionConfig
from app.core.store.history import History
from app.core.store.ledger import UsageLedger
from app.simulator import SimulatorServer
from app.ui.chat.controller import ChatController
from app.ui.event_loop import EventLoop
from app.ui.main_window import MainWindow
from app.ui.usage.spend_tracker import SpendTracker

T = TypeVar("T")
# A guard against a hung test, not a performance expectation.
WAIT_LIMIT_S = 30.0
TEST_KEY = "sk-test-chatdesk-ui"
MODEL = "gpt-4o-mini"

Runner = Callable[[Coroutine[Any, Any, T]], T]

# Closed loops are kept alive for the whole session. A closed qasync loop still owns a QObject
# with pending Qt timers; if the loop were garbage-collected from a worker thread (the cyclic
# GC runs wherever allocation triggers it), Qt would destroy that object off its thread and
# can crash.
_RETIRED_LOOPS: list[asyncio.AbstractEventLoop] = []


@pytest.fixture(autouse=True)
def _clipboard_emptied(qapp: QApplication) -> Iterator[None]:
    """Empty the clipboard after each test.

    Qt owns whatever a test put there and would free it from a static destructor after Python
    has shut down, crashing the interpreter at exit (a segfault after every test passed).
    """
    yield
    qapp.clipboard().clear()


class _TestLoop(EventLoop):
    """The app's loop, kept marked running between a test's `run` calls.

    In the app the loop runs for the whole session. A test runs it a coroutine at a time, yet
    Qt delivers qasync's queued callbacks whenever it processes events (a key click, a worker
    thread's result arriving): a task stepped then found no running loop and failed.
    """

    def run_forever(self) -> None:
        try:
            super().run_forever()
        finally:
            asyncio.events._set_running_loop(self)


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync event loop driving the test's QApplication."""
    loop = _TestLoop(qapp)
    asyncio.set_event_loop(loop)
    asyncio.events._set_running_loop(loop)
    try:
        yield loop
    finally:
        asyncio.events._set_running_loop(None)
        loop.close()
        asyncio.set_event_loop(None)
        _RETIRED_LOOPS.append(loop)


@pytest.fixture
def run(qloop: asyncio.AbstractEventLoop) -> Runner[Any]:
    """Run a coroutine to completion on the qasync loop (Qt events are processed meanwhile)."""

    def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
        return qloop.run_until_complete(asyncio.wait_for(coroutine, WAIT_LIMIT_S))

    return run_coroutine


async def wait_until(predicate: Callable[[], object], what: str = "condition") -> None:
    """Let the loop run until `predicate()` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_LIMIT_S
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


@dataclass
class ChatWindow:
    """A main window wired to a controller and a client, as the application wires them."""

    window: MainWindow
    controller: ChatController
    client: ChatClient


@pytest.fixture
def open_chat(qtbot: QtBot, run: Runner[Any]) -> Iterator[Callable[..., ChatWindow]]:
    """Build and show a chat window talking to `base_url` with `api_key`."""
    opened: list[ChatWindow] = []

    def open_window(
        base_url: str,
        api_key: str = TEST_KEY,
        history: History | None = None,
        ledger: UsageLedger | None = None,
    ) -> ChatWindow:
        client = ChatClient(ConnectionConfig(api_key=api_key, base_url=base_url, max_retries=0))
        window = MainWindow(CATALOG, MODEL)
        spend = None
        if ledger is not None:
            spend = SpendTracker(window.status)
            spend.use_ledger(ledger)
        controller = ChatController(
            view=window.chat_view,
            composer=window.composer,
            banner=window.banner,
            status=window.status,
            model=MODEL,
            client=client,
            history=history,
            spend=spend,
            parent=window,
        )
        window.bind(controller)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        chat = ChatWindow(window, controller, client)
        opened.append(chat)
        return chat

    yield open_window
    for chat in opened:
        run(chat.controller.stop_and_wait())
        run(chat.client.aclose())


def replay_unstreamed(simulator: SimulatorServer, body: dict[str, Any]) -> dict[str, Any]:
    """The simulator's (deterministic) answer to `body`, asked again without streaming."""
    plain = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    request = urllib.request.Request(
        f"{simulator.base_url}/chat/completions",
        data=json.dumps(plain).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TEST_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=WAIT_LIMIT_S) as response:
        result: dict[str, Any] = json.load(response)
    return result
