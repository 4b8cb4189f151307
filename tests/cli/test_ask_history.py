"""`chatdesk ask` keeps each exchange in the history, as a real process against the simulator."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from app.cli.ask import AskOptions, run_ask
from app.core.client import ChatClient, ConnectionConfig
from app.core.messages import Detail, Role
from app.core.params import ChatParams
from app.core.store.database import SCHEMA_VERSION, open_database
from app.core.store.history import History
from app.core.store.image_files import ImageFiles
from app.core.store.records import MessageState, StoredConversation
from app.simulator import Fault, SimulatorServer

KEY = "sk-proj-HISTORYTESTKEY0123456789abcdefghijklmn"
# Ample for a slow machine; the waits below end as soon as their condition holds.
PATIENCE_S = 60.0


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(api_key=KEY) as server:
        yield server


def environment(base_url: str | None) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    if base_url is not None:
        environ |= {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": base_url}
    return environ


def ask(
    *args: str, data_dir: Path, base_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), "ask", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment(base_url),
        check=False,
    )


def start_ask(*args: str, data_dir: Path, base_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), "ask", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(base_url),
        # A background job of a non-interactive shell starts with SIGINT ignored, and so would
        # the child: Ctrl+C would then never reach it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def saved(data_dir: Path) -> list[StoredConversation]:
    """Every conversation in the history, oldest first, as the app would show it."""
    history = History.open(data_dir / "chatdesk.db")
    try:
        return [history.load(c.id) for c in reversed(history.list_conversations())]
    finally:
        history.close()


def test_an_answered_question_is_saved_as_a_new_conversation(
    sim: SimulatorServer, data_dir: Path, tmp_path: Path
) -> None:
    """The prompt, its images, settings and the printed answer with its usage are all kept."""
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (10, 120, 200)).save(photo)
    result = ask(
        "--model",
        "gpt-4o",
        "--system",
        "Be brief",
        "--temperature",
        "0.2",
        "--image",
        str(photo),
        "--image",
        "https://example.com/a.png",
        "--detail",
        "low",
        "What colour is this sky?\nAnswer in one word.",
        data_dir=data_dir,
        base_url=sim.base_url,
    )
    assert result.returncode == 0, result.stderr

    [conversation] = saved(data_dir)
    assert conversation.title == "What colour is this sky?"
    assert (conversation.model, conversation.system_prompt) == ("gpt-4o", "Be brief")
    assert conversation.params == ChatParams(temperature=0.2)
    question, answer = conversation.messages
    assert question.role is Role.USER
    assert question.content == "What colour is this sky?\nAnswer in one word."
    sent = sim.requests[-1].body["messages"][1]["content"]
    assert [image.url for image in question.images] == [
        sent[1]["image_url"]["url"],
        "https://example.com/a.png",
    ]
    assert question.images[0].url.startswith("data:image/")
    assert question.images[0].detail is Detail.LOW
    assert (question.images[0].width, question.images[0].height) == (64, 48)
    assert answer.role is Role.ASSISTANT and answer.state is MessageState.COMPLETE
    assert answer.content + "\n" == result.stdout and answer.note == ""
    assert answer.model.startswith("gpt-4o") and answer.finish_reason == "stop"
    assert answer.usage is not None and answer.usage.completion_tokens > 0
    assert f"{answer.usage.completion_tokens:,} out" in result.stderr


def test_each_invocation_is_a_conversation_of_its_own(sim: SimulatorServer, data_dir: Path) -> None:
    """Two asks give two conversations, newest first in the sidebar, each findable."""
    assert ask("first question", data_dir=data_dir, base_url=sim.base_url).returncode == 0
    assert ask("second question", data_dir=data_dir, base_url=sim.base_url).returncode == 0
    assert [c.title for c in saved(data_dir)] == ["first question", "second question"]
    history = History.open(data_dir / "chatdesk.db")
    assert {hit.conversation_title for hit in history.search("second")} == {"second question"}


def test_no_save_keeps_the_exchange_out_of_the_history(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """With --no-save the answer is printed and nothing is added to the history."""
    result = ask("--no-save", "a private question", data_dir=data_dir, base_url=sim.base_url)
    assert result.returncode == 0 and "a private question" in result.stdout
    assert saved(data_dir) == []


def test_demo_answers_are_not_saved(data_dir: Path) -> None:
    """--demo answers are made up by the simulator, so they never enter the history."""
    result = ask("--demo", "hello", data_dir=data_dir)
    assert result.returncode == 0 and result.stdout.strip()
    assert saved(data_dir) == []


def test_a_request_refused_before_sending_is_not_saved(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """Invalid parameters stop the question before it is sent, and before it is saved."""
    result = ask(
        "--model", "o1", "--temperature", "0.5", "hi", data_dir=data_dir, base_url=sim.base_url
    )
    assert result.returncode == 1 and saved(data_dir) == []


def test_a_broken_stream_keeps_the_partial_answer_marked_failed(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """When the connection drops mid-answer the saved reply is what was printed, marked failed."""
    sim.script(Fault.disconnect(after_chunks=4))
    result = ask("a long answer please", data_dir=data_dir, base_url=sim.base_url)
    assert result.returncode == 1

    [conversation] = saved(data_dir)
    answer = conversation.messages[-1]
    assert answer.state is MessageState.FAILED
    assert answer.content and answer.content + "\n" == result.stdout
    assert "Connection lost" in answer.note and "Connection lost" in result.stderr


def test_the_reply_is_on_disk_while_it_streams(data_dir: Path) -> None:
    """Another program reading the history mid-answer sees the reply so far, marked streaming."""
    with SimulatorServer(api_key=KEY, chunk_delay=0.02, answer_words=400) as slow:
        process = start_ask("write at length", data_dir=data_dir, base_url=slow.base_url)
        try:
            content, state = wait_for_saved_text(data_dir, process)
            assert process.poll() is None  # still answering
        finally:
            process.kill()
            printed, _ = process.communicate(timeout=PATIENCE_S)
    assert state == MessageState.STREAMING.value
    assert printed.decode().startswith(content)


def test_ctrl_c_keeps_the_partial_answer_marked_stopped(data_dir: Path) -> None:
    """Ctrl+C mid-answer exits 130 and saves the printed part as stopped, with a note."""
    with SimulatorServer(api_key=KEY, chunk_delay=0.02, answer_words=400) as slow:
        process = start_ask("write at length", data_dir=data_dir, base_url=slow.base_url)
        wait_for_saved_text(data_dir, process)
        process.send_signal(signal.SIGINT)
        printed, errors = process.communicate(timeout=PATIENCE_S)
    assert process.returncode == 130, errors

    [conversation] = saved(data_dir)
    answer = conversation.messages[-1]
    assert answer.state is MessageState.STOPPED and answer.note
    assert answer.content and printed.decode() == answer.content + "\n"
    assert len(answer.content.split()) < 400


def test_a_history_that_cannot_be_written_does_not_cost_the_answer(
    sim: SimulatorServer, data_dir: Path, tmp_path: Path
) -> None:
    """If the question cannot be saved, the answer is still printed, with a warning."""
    photo = tmp_path / "photo.png"
    Image.new("RGB", (16, 16), (200, 0, 0)).save(photo)
    (data_dir / "images").write_text("a file where the image directory should be")
    result = ask("--image", str(photo), "still answer me", data_dir=data_dir, base_url=sim.base_url)
    assert result.returncode == 0 and "still answer me" in result.stdout
    assert "not saved in the history" in result.stderr
    assert saved(data_dir) == []


def test_a_history_from_a_newer_chatdesk_is_refused_clearly(data_dir: Path) -> None:
    """A database written by a newer version is left alone, with a message saying why."""
    newer = sqlite3.connect(data_dir / "chatdesk.db")
    newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer.close()
    result = ask("hello", data_dir=data_dir, base_url="http://127.0.0.1:9/v1")
    assert result.returncode == 1
    assert "newer Chatdesk" in result.stderr and "Traceback" not in result.stderr
    check = sqlite3.connect(data_dir / "chatdesk.db")
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


def wait_for_saved_text(data_dir: Path, process: subprocess.Popen[bytes]) -> tuple[str, str]:
    """Poll the database (as a second reader would) until the reply has some saved text."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline and process.poll() is None:
        database = data_dir / "chatdesk.db"
        if database.exists():
            reader = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
            try:
                row = reader.execute(
                    "SELECT content, state FROM messages WHERE role = 'assistant'"
                ).fetchone()
            except sqlite3.OperationalError:
                row = None  # not migrated yet
            finally:
                reader.close()
            if row is not None and row[0]:
                return str(row[0]), str(row[1])
        time.sleep(0.05)
    raise AssertionError("the reply never reached the database while streaming")


def test_every_choice_and_the_logprobs_are_kept(sim: SimulatorServer, data_dir: Path) -> None:
    """With -n 2 and --logprobs, both answers and each one's token probabilities are saved."""
    result = ask(
        "-n", "2", "--logprobs", "two takes please", data_dir=data_dir, base_url=sim.base_url
    )
    assert result.returncode == 0, result.stderr

    [conversation] = saved(data_dir)
    answer = conversation.messages[-1]
    first, second = answer.choices
    assert first == answer.content and second and second != first
    assert result.stdout == f"{first}\n\n--- choice 2 ---\n{second}\n"
    assert isinstance(answer.logprobs, list)
    for text, tokens in zip(answer.choices, answer.logprobs, strict=True):
        assert "".join(token["token"] for token in tokens) == text
        assert all(token["logprob"] <= 0 for token in tokens)


class _FullDisk(History):
    """A history whose disk fills up just as the reply ends."""

    def finish_reply(self, *args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")


def test_a_reply_whose_end_cannot_be_saved_is_still_printed(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """A write failing at the end of the answer costs a warning only: the answer is printed."""
    database = data_dir / "chatdesk.db"

    def open_history() -> History:
        return _FullDisk(open_database(database), ImageFiles(data_dir / "images"))

    out, err = io.StringIO(), io.StringIO()
    client = ChatClient(ConnectionConfig(api_key=KEY, base_url=sim.base_url))
    options = AskOptions(prompt="keep this one", model="gpt-4o-mini")
    code = asyncio.run(run_ask(options, client, out, err, open_history=open_history))
    assert code == 0, err.getvalue()
    assert "keep this one" in out.getvalue()
    assert "the end of this answer was not saved in the history" in err.getvalue()
    [conversation] = saved(data_dir)
    assert conversation.messages[0].content == "keep this one"
