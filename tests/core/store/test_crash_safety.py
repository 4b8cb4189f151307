"""Killing Chatdesk mid-answer never corrupts the history and loses at most about a second.

Real `chatdesk ask` processes stream long answers from the simulator and are killed with
SIGKILL at random (seeded) moments: some while starting (opening and migrating the database,
writing the question), most while the answer streams. All trials share one database, a few at
a time, as a user's windows and scripts would. After each kill the file must pass SQLite's
integrity check; at the end every saved reply must be a prefix of what was printed, and the
printed text missing from the database must all have been printed within LOSS_BOUND_S before
the kill (the one timing bound the history promises).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from app.core.store.history import History
from app.core.store.records import MessageState, StoredMessage
from app.core.store.reply_recorder import DEFAULT_INTERVAL_S
from app.simulator import SimulatorServer

KEY = "sk-proj-CRASHTESTKEY0123456789abcdefghijklmno"
SEED = 20_261_125
TRIALS = 30
# Killed while starting, at a random moment up to this long after launch (before any answer:
# starting takes about a second, most of it importing the SDK).
STARTING_TRIALS = 8
STARTING_WINDOW_S = (0.0, 0.9)
# The others are killed this long after the first answer text was read.
ANSWERING_WINDOW_S = (0.0, 3.0)
PARALLEL = 4
# A second of text, plus the recorder's save interval: the promise under test.
LOSS_BOUND_S = 1.0 + DEFAULT_INTERVAL_S
# Long enough that no answer finishes before its kill (about 25 s at this pace).
CHUNK_DELAY_S = 0.01
ANSWER_WORDS = 2_000
PATIENCE_S = 60.0


@dataclass
class Trial:
    """One launch and kill: the plan, and what was read from its stdout and when."""

    index: int
    starting: bool
    delay_s: float
    prompt: str = ""
    pieces: list[tuple[float, bytes]] = field(default_factory=list)
    killed_at: float = 0.0
    integrity: str = ""

    def __post_init__(self) -> None:
        self.prompt = f"Trial {self.index}: tell me a long story about rivers"

    @property
    def printed(self) -> bytes:
        return b"".join(data for _, data in self.pieces)

    def printed_at(self, offset: int) -> float:
        """When the byte at `offset` of the output was read (just after it was printed)."""
        end = 0
        for at, data in self.pieces:
            end += len(data)
            if end > offset:
                return at
        raise IndexError(offset)


def plan_trials() -> list[Trial]:
    rng = random.Random(SEED)
    starting = set(rng.sample(range(TRIALS), STARTING_TRIALS))
    return [
        Trial(
            index,
            index in starting,
            rng.uniform(*(STARTING_WINDOW_S if index in starting else ANSWERING_WINDOW_S)),
        )
        for index in range(TRIALS)
    ]


def run_trial(trial: Trial, base_url: str, data_dir: Path) -> Trial:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    environ |= {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": base_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), "ask", trial.prompt],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=environ,
    )
    assert process.stdout is not None
    first_output = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        while data := os.read(process.stdout.fileno(), 65536):
            trial.pieces.append((time.monotonic(), data))
            first_output.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not trial.starting:
        assert first_output.wait(PATIENCE_S), "no answer began"
    time.sleep(trial.delay_s)
    process.send_signal(signal.SIGKILL)
    trial.killed_at = time.monotonic()
    process.wait(PATIENCE_S)
    reader.join(PATIENCE_S)
    process.stdout.close()
    trial.integrity = integrity_of(data_dir / "chatdesk.db")
    return trial


def integrity_of(database: Path) -> str:
    if not database.exists():
        return "ok"  # killed before the file was created: nothing to damage
    connection = sqlite3.connect(database, timeout=PATIENCE_S)
    try:
        return "\n".join(row[0] for row in connection.execute("PRAGMA integrity_check"))
    finally:
        connection.close()


def reply_of(history: History, titles: dict[str, int], trial: Trial) -> StoredMessage | None:
    if trial.prompt not in titles:
        return None
    messages = history.load(titles[trial.prompt]).messages
    assert [m.content for m in messages[:1]] == [trial.prompt]
    return messages[1] if len(messages) > 1 else None


def test_random_kills_never_corrupt_the_history_or_lose_more_than_a_second(
    data_dir: Path,
) -> None:
    """Dozens of SIGKILLs at random moments: the file stays sound, little text is ever lost."""
    trials = plan_trials()
    with (
        SimulatorServer(api_key=KEY, chunk_delay=CHUNK_DELAY_S, answer_words=ANSWER_WORDS) as sim,
        ThreadPoolExecutor(PARALLEL) as pool,
    ):
        done = list(pool.map(lambda t: run_trial(t, sim.base_url, data_dir), trials))

    assert [t.integrity for t in done] == ["ok"] * TRIALS
    killed_answering = [t for t in done if t.pieces and t.pieces[0][0] < t.killed_at]
    assert len(killed_answering) >= TRIALS - STARTING_TRIALS
    assert any(not t.pieces for t in done), "no kill came before the answer began"

    history = History.open(data_dir / "chatdesk.db")
    titles = {c.title: c.id for c in history.list_conversations(limit=1000)}
    streaming: list[int] = []
    for trial in done:
        reply = reply_of(history, titles, trial)
        printed = trial.printed
        if reply is None:
            assert printed == b"", f"trial {trial.index}: text printed but no reply saved"
            continue
        assert reply.state is MessageState.STREAMING, f"trial {trial.index} finished unkilled"
        saved = reply.content.encode()
        assert printed.startswith(saved), f"trial {trial.index}: saved text was never printed"
        if len(saved) < len(printed):
            lost_for = trial.killed_at - trial.printed_at(len(saved))
            assert lost_for <= LOSS_BOUND_S, (
                f"trial {trial.index}: {len(printed) - len(saved)} bytes printed over "
                f"{lost_for:.2f} s before the kill were not saved"
            )
        streaming.append(reply.id)

    # What the next start of the app does: the cut-off replies show as interrupted.
    assert len(history.recover_interrupted()) == len(streaming)
    for trial in done:
        reply = reply_of(history, titles, trial)
        assert reply is None or reply.state is MessageState.INTERRUPTED
    assert history.search("rivers"), "the search index is empty after the kills"
    history.close()
    fts = sqlite3.connect(data_dir / "chatdesk.db")
    fts.execute("INSERT INTO message_search(message_search) VALUES ('integrity-check')")
    fts.close()
