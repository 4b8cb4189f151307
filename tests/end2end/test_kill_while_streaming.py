"""The real window killed mid-answer (SIGKILL) under Xvfb: the next start shows the answer."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.paths import DATABASE_FILENAME
from app.core.tokens import count_text
from app.simulator import SimulatorServer
from tests.end2end.test_quick_ask_desktop import MAIN, api_env, wait_for_log
from tests.support.desktop import WAIT_LIMIT_S, Desktop, xvfb_desktop

REPLY = "SELECT content, state FROM messages WHERE role = 'assistant'"


@pytest.fixture
def desktop() -> Iterator[Desktop]:
    with xvfb_desktop() as screen:
        yield screen


@pytest.fixture
def slow_simulator() -> Iterator[SimulatorServer]:
    """An answer that takes many seconds to stream, so the kill lands in the middle of it."""
    with SimulatorServer(chunk_delay=0.05, answer_words=600) as server:
        yield server


def reply_rows(data_dir: Path) -> list[tuple[str, str]]:
    database = data_dir / DATABASE_FILENAME
    if not database.exists():
        return []
    with sqlite3.connect(database) as db:
        return db.execute(REPLY).fetchall()


def ledger_rows(data_dir: Path) -> list[tuple[str, str, int, int, int]]:
    with sqlite3.connect(data_dir / DATABASE_FILENAME) as db:
        return db.execute(
            "SELECT source, model, prompt_tokens, completion_tokens, estimated FROM usage_ledger"
        ).fetchall()


def test_an_answer_cut_by_a_kill_is_kept_and_shown_as_interrupted_at_the_next_start(
    desktop: Desktop, data_dir: Path, slow_simulator: SimulatorServer
) -> None:
    """Typed, sent, killed while streaming: the database is intact, the partial answer kept."""
    env = api_env(slow_simulator)
    first = desktop.start_app(data_dir, env=env)
    window = desktop.wait_for_window(MAIN)
    wait_for_log(data_dir, "SDK ready")
    desktop.run("xdotool", "windowactivate", "--sync", window, check=False)
    desktop.run("xdotool", "windowfocus", "--sync", window)
    desktop.run("xdotool", "type", "--delay", "10", "Tell me a long story")
    desktop.run("xdotool", "key", "Return")

    deadline = time.monotonic() + WAIT_LIMIT_S
    while not any(len(content) > 200 for content, _ in reply_rows(data_dir)):
        assert time.monotonic() < deadline, "the answer was never written while streaming"
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=WAIT_LIMIT_S)

    with sqlite3.connect(data_dir / DATABASE_FILENAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    [(partial, state)] = reply_rows(data_dir)
    assert state == "streaming" and partial

    desktop.start_app(data_dir, env=env)
    desktop.wait_for_window(MAIN)
    # The window opens that conversation by itself, showing the answer with Continue.
    wait_for_log(data_dir, "with its interrupted reply")
    deadline = time.monotonic() + WAIT_LIMIT_S
    while reply_rows(data_dir)[0][1] != "interrupted":
        assert time.monotonic() < deadline, "the next start did not mark the answer interrupted"
        time.sleep(0.05)
    assert reply_rows(data_dir)[0][0] == partial
    # The provider billed what it generated before the kill: the start pays for it, estimated.
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not (rows := ledger_rows(data_dir)):
        assert time.monotonic() < deadline, "the interrupted answer was never paid for"
        time.sleep(0.05)
    [(source, model, prompt_tokens, completion_tokens, estimated)] = rows
    assert (source, estimated) == ("recovered", 1)
    assert completion_tokens == count_text(partial, model) > 0 and prompt_tokens > 0
