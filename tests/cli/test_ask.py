"""`chatdesk ask` as a user runs it: a real process, real HTTP, the simulator on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from app.core.store.database import open_database
from app.core.store.ledger import UsageLedger
from app.simulator import Fault, SimulatorServer

KEY = "sk-proj-CLITESTKEY0123456789abcdefghijklmnopq"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(api_key=KEY) as server:
        yield server


def chatdesk(
    *args: str, data_dir: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    environ |= env or {}
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


def test_answer_streams_to_stdout_before_the_reply_is_complete(
    data_dir: Path, tmp_path: Path
) -> None:
    """The first words appear on stdout while the server is still sending the rest."""
    with SimulatorServer(chunk_delay=0.05, answer_words=60) as slow:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        environ |= {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": slow.base_url}
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "--data-dir", str(data_dir), "ask", "stream please"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environ,
        )
        assert process.stdout is not None
        first = process.stdout.read1(64)  # type: ignore[attr-defined]
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
    assert "API key rejected" in result.stderr and "Settings" in result.stderr
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
