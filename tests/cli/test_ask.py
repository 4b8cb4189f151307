"""`chatdesk ask` as a user runs it: a real process, real HTTP, the simulator on loopback."""

from __future__ import annotations

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

from app.core.store.database import open_database
from app.core.store.ledger import UsageLedger
from app.core.store.records import MessageState
from app.core.tokens import count_text
from app.simulator import Fault, SimulatorServer
from tests.cli.test_ask_history import saved

KEY = "sk-proj-CLITESTKEY0123456789abcdefghijklmnopq"
# Ample for a slow machine; nothing waits this long unless something is wrong.
PATIENCE_S = 60.0


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(api_key=KEY) as server:
        yield server


def environment(env: dict[str, str] | None = None) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return environ | (env or {})


def chatdesk(
    *args: str, data_dir: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    environ = environment(env)
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        check=False,
    )


def test_demo_streams_an_answer_with_no_key(data_dir: Path) -> None:
    """`chatdesk ask --demo hello` answers from the built-in simulator and prints its cost."""
    result = chatdesk("ask", "--demo", "hello", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "hello" in result.stdout
    assert "in ·" in result.stderr and "out" in result.stderr and "$" in result.stderr


def start_chatdesk(*args: str, data_dir: Path, base_url: str) -> subprocess.Popen[bytes]:
    """`chatdesk …` running against `base_url`, for a test to interrupt or read as it goes."""
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment({"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": base_url}),
        # A background job of a non-interactive shell starts with SIGINT ignored, and so would
        # the child: Ctrl+C would then never reach it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def first_output(process: subprocess.Popen[bytes]) -> bytes:
    """What the process printed first, once it has printed anything."""
    assert process.stdout is not None
    return process.stdout.read1(64)  # type: ignore[attr-defined,no-any-return]


def ledger_rows(data_dir: Path) -> list[tuple[str, str, int, int]]:
    """Every ledger row: (source, model, completion tokens, estimated)."""
    database = sqlite3.connect(data_dir / "chatdesk.db")
    try:
        return database.execute(
            "SELECT source, model, completion_tokens, estimated FROM usage_ledger ORDER BY id"
        ).fetchall()
    finally:
        database.close()


def test_answer_streams_to_stdout_before_the_reply_is_complete(
    data_dir: Path, tmp_path: Path
) -> None:
    """The first words appear on stdout while the server is still sending the rest."""
    with SimulatorServer(chunk_delay=0.05, answer_words=60) as slow:
        process = start_chatdesk("ask", "stream please", data_dir=data_dir, base_url=slow.base_url)
        first = first_output(process)
        still_running = process.poll() is None
        rest, _ = process.communicate(timeout=60)
    assert first and still_running
    assert len(rest) > 0 and process.returncode == 0


def test_environment_key_and_base_url_are_honoured(sim: SimulatorServer, data_dir: Path) -> None:
    """OPENAI_API_KEY and OPENAI_BASE_URL point ask at any OpenAI-compatible server."""
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": sim.base_url}
    result = chatdesk(
        "ask",
        "--model",
        "gpt-4o",
        "--temperature",
        "0.2",
        "what is 2+2",
        data_dir=data_dir,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    sent = sim.requests[-1].body
    assert sent["model"] == "gpt-4o" and sent["temperature"] == 0.2
    assert "what is 2+2" in result.stdout


def test_images_and_system_prompt_are_sent(
    sim: SimulatorServer, data_dir: Path, tmp_path: Path
) -> None:
    """--image files and URLs and --system end up in the request as the API expects."""
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (4000, 3000), (10, 120, 200)).save(photo)
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": sim.base_url}
    result = chatdesk(
        "ask",
        "--image",
        str(photo),
        "--image",
        "https://example.com/a.png",
        "--detail",
        "low",
        "--system",
        "Be brief",
        "describe",
        data_dir=data_dir,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    messages = sim.requests[-1].body["messages"]
    assert messages[0] == {"role": "system", "content": "Be brief"}
    parts = messages[1]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert parts[1]["image_url"]["detail"] == "low"
    assert parts[2]["image_url"]["url"] == "https://example.com/a.png"


def test_prompt_from_stdin(sim: SimulatorServer, data_dir: Path) -> None:
    """`ask -` reads the prompt from standard input."""
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": sim.base_url}
    result = chatdesk("ask", "-", data_dir=data_dir, env=env, stdin="piped question")
    assert result.returncode == 0 and "piped question" in result.stdout


def test_failure_prints_headline_and_remedy_and_exits_nonzero(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """A rejected key: exit 1, the headline and remedy on stderr, and the key nowhere."""
    wrong = "sk-proj-WRONGKEYabcdefghijklmnopqrstuvwxyz0123"
    env = {"OPENAI_API_KEY": wrong, "OPENAI_BASE_URL": sim.base_url}
    result = chatdesk("ask", "hi", data_dir=data_dir, env=env)
    assert result.returncode == 1
    assert "API key rejected" in result.stderr and "chatdesk key set" in result.stderr
    logs = "".join(p.read_text() for p in data_dir.rglob("*.log"))
    assert wrong not in result.stdout + result.stderr + logs


def test_partial_answer_stays_printed_when_the_stream_breaks(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """A disconnect mid-answer keeps the printed part and explains the cut."""
    sim.script(Fault.disconnect(after_chunks=4))
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": sim.base_url}
    result = chatdesk("ask", "a long answer please", data_dir=data_dir, env=env)
    assert result.returncode == 1
    assert result.stdout.strip()
    assert "Connection lost" in result.stderr


def test_invalid_parameters_are_refused_before_sending(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """A temperature for o1 is refused locally; nothing reaches the server."""
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": sim.base_url}
    result = chatdesk(
        "ask", "--model", "o1", "--temperature", "0.5", "hi", data_dir=data_dir, env=env
    )
    assert result.returncode == 1 and "temperature" in result.stderr
    assert sim.requests == []


def test_bad_image_is_refused_clearly(sim: SimulatorServer, data_dir: Path, tmp_path: Path) -> None:
    """A text file passed as an image gets a message naming the file and the formats."""
    fake = tmp_path / "notes.png"
    fake.write_text("not an image")
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": sim.base_url}
    result = chatdesk("ask", "--image", str(fake), "what", data_dir=data_dir, env=env)
    assert result.returncode == 1 and "notes.png" in result.stderr
    assert sim.requests == []


def test_missing_key_for_openai_says_how_to_provide_one(data_dir: Path) -> None:
    """No key anywhere for api.openai.com: a clear message, exit 1, no network attempt needed."""
    result = chatdesk(
        "ask", "hi", data_dir=data_dir, env={"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent"}
    )
    assert result.returncode == 1
    assert "OPENAI_API_KEY" in result.stderr


def test_version_is_printed(data_dir: Path) -> None:
    """`chatdesk --version` prints the project's version."""
    result = chatdesk("--version", data_dir=data_dir)
    assert result.returncode == 0 and result.stdout.startswith("chatdesk 0.")


def test_usage_and_cost_are_reported_on_stderr(sim: SimulatorServer, data_dir: Path) -> None:
    """Tokens and cost of the reply go to stderr, keeping stdout clean for pipes."""
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": sim.base_url}
    result = chatdesk("ask", "--model", "gpt-4o", "hello", data_dir=data_dir, env=env)
    assert result.returncode == 0
    assert "$" not in result.stdout
    assert "gpt-4o" in result.stderr and "requests and" in result.stderr


def test_each_answered_request_is_recorded_in_the_usage_ledger(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """A CLI request lands in the ledger with its model, tokens and cost; a demo one does not."""
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": sim.base_url}
    assert chatdesk("ask", "--model", "gpt-4o", "hello", data_dir=data_dir, env=env).returncode == 0
    assert chatdesk("ask", "--demo", "hello", data_dir=data_dir).returncode == 0
    ledger = UsageLedger(open_database(data_dir / "chatdesk.db"))
    spend = ledger.spend_since(0)
    assert spend.requests == 1 and spend.prompt_tokens > 0 and spend.cost_usd > 0


def test_ctrl_c_mid_answer_records_what_was_printed_as_estimated_usage(data_dir: Path) -> None:
    """Ctrl+C after a second of streaming: exit 130, the printed text kept as stopped, and
    exactly one ledger row paying for it, counted locally since the server sent no usage."""
    with SimulatorServer(api_key=KEY, chunk_delay=0.02, answer_words=2000) as slow:
        process = start_chatdesk(
            "ask", "--model", "gpt-4o", "write at length", data_dir=data_dir, base_url=slow.base_url
        )
        first = first_output(process)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        rest, errors = process.communicate(timeout=PATIENCE_S)
    assert process.returncode == 130, errors.decode()
    printed = (first + rest).decode()
    assert printed.endswith("\n")
    text = printed.removesuffix("\n")
    assert len(text.split()) > 1 and len(text.split()) < 2000

    [(source, model, completion_tokens, estimated)] = ledger_rows(data_dir)
    assert (source, estimated) == ("cli", 1) and model.startswith("gpt-4o")
    assert completion_tokens > 0 and completion_tokens == count_text(text, model)
    assert "Stopped." in errors.decode()
    assert f"{completion_tokens:,} out" in errors.decode()
    assert "(estimated: the reply did not finish)" in errors.decode()

    [conversation] = saved(data_dir)
    answer = conversation.messages[-1]
    assert answer.state is MessageState.STOPPED and answer.content == text
    assert answer.usage is not None and answer.usage.completion_tokens == completion_tokens


def test_a_stream_broken_mid_way_records_its_estimated_usage(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """A disconnect after some text: what arrived is paid for in the ledger, marked estimated."""
    sim.script(Fault.disconnect(after_chunks=6))
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": sim.base_url}
    result = chatdesk("ask", "a long answer please", data_dir=data_dir, env=env)
    assert result.returncode == 1
    text = result.stdout.removesuffix("\n")
    [(source, model, completion_tokens, estimated)] = ledger_rows(data_dir)
    assert (source, estimated) == ("cli", 1)
    assert completion_tokens > 0 and completion_tokens == count_text(text, model)
    assert "(estimated: the reply did not finish)" in result.stderr


def test_a_server_without_usage_is_estimated_and_says_so(data_dir: Path) -> None:
    """A server that never reports usage: the answer is counted locally, and the line says so."""
    with SimulatorServer(api_key=KEY, send_usage=False) as quiet:
        env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": quiet.base_url}
        result = chatdesk("ask", "hello", data_dir=data_dir, env=env)
    assert result.returncode == 0, result.stderr
    assert "(estimated: the server sent no usage)" in result.stderr
    [(_source, model, completion_tokens, estimated)] = ledger_rows(data_dir)
    assert estimated == 1
    assert completion_tokens == count_text(result.stdout.removesuffix("\n"), model)


def test_a_reader_that_goes_away_stops_the_answer_quietly(data_dir: Path) -> None:
    """`chatdesk ask … | head`: once stdout is closed the request stops, exit 0, no traceback,
    and the part that was sent is still kept and paid for."""
    with SimulatorServer(api_key=KEY, chunk_delay=0.02, answer_words=2000) as slow:
        process = start_chatdesk(
            "ask", "write at length", data_dir=data_dir, base_url=slow.base_url
        )
        first_output(process)
        assert process.stdout is not None
        process.stdout.close()
        assert process.stderr is not None
        errors = process.stderr.read().decode()
        process.wait(timeout=PATIENCE_S)
    assert process.returncode == 0 and "Traceback" not in errors, errors
    [(_source, _model, completion_tokens, estimated)] = ledger_rows(data_dir)
    assert estimated == 1 and completion_tokens > 0
    [conversation] = saved(data_dir)
    answer = conversation.messages[-1]
    assert answer.state is MessageState.STOPPED and answer.content


def test_a_plain_question_loads_no_token_encoding(sim: SimulatorServer, data_dir: Path) -> None:
    """A short question with no hard budget is sent without loading tiktoken (~0.6 s)."""
    script = (
        "import sys; from app.main import main; code = main(sys.argv[1:]); "
        "print('tiktoken loaded' if 'tiktoken' in sys.modules else 'no tiktoken', "
        "file=sys.stderr); sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "--data-dir", str(data_dir), "ask", "hello"],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment({"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": sim.base_url}),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and "no tiktoken" in result.stderr
