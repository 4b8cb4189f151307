"""`chatdesk ask` on a terminal: server text cannot drive it, endings and remedies speak to it."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.cli.ask_remedies import terminal_remedy
from app.core import endings
from app.core.failures import ApiFailure, FailureKind, classify, interrupted
from app.simulator import Fault, SimulatorServer
from tests.cli.test_ask import KEY, chatdesk

ESC = "\x1b"
# Clears the screen, retitles the window, writes the clipboard, then an 8-bit CSI.
HOSTILE = (
    f"Safe {ESC}[2Jstart {ESC}]0;pwned\x07titled {ESC}]52;c;cm0gLXJmIH4=\x07copied "
    "\x9b31mred\x07 end"
)
CLEANED = "Safe start titled copied red\u2407 end"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(api_key=KEY) as server:
        yield server


def ask(sim: SimulatorServer, data_dir: Path, *args: str) -> tuple[int, str, str]:
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": sim.base_url}
    result = chatdesk("ask", *args, data_dir=data_dir, env=env)
    return result.returncode, result.stdout, result.stderr


def test_escape_sequences_in_an_answer_never_reach_the_terminal(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """An answer that clears the screen and writes the clipboard prints as its plain words."""
    sim.script_answer(HOSTILE)
    code, out, err = ask(sim, data_dir, "hi")
    assert code == 0, err
    assert ESC not in out and "\x9b" not in out and "\x07" not in out
    assert out.strip() == CLEANED


def test_raw_prints_the_answer_exactly_as_the_server_sent_it(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """`--raw` keeps every byte, escape sequences included, for a pipe that wants them."""
    sim.script_answer(HOSTILE)
    code, out, err = ask(sim, data_dir, "--raw", "hi")
    assert code == 0, err
    assert out == HOSTILE + "\n"


def test_every_choice_is_cleaned_not_only_the_streamed_one(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """With -n 2 the second choice, printed after the first, is cleaned too."""
    sim.script_answer(HOSTILE)
    code, out, err = ask(sim, data_dir, "-n", "2", "hi")
    assert code == 0, err
    assert "--- choice 2 ---" in out and ESC not in out


def test_a_server_error_message_cannot_drive_the_terminal(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """An error whose message carries a title-setting sequence prints its words only."""
    sim.script(Fault.status(400, message=f"Bad {ESC}]0;pwned\x07input{ESC}[2J here"))
    code, _, err = ask(sim, data_dir, "hi")
    assert code == 1
    assert ESC not in err and "\x07" not in err
    assert "Bad input here" in err


def test_a_reply_cut_by_its_token_limit_says_so_and_succeeds(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """`--max-tokens 3` stops the answer early: exit 0, and stderr says why it is short."""
    code, out, err = ask(sim, data_dir, "--max-tokens", "3", "tell me a long story")
    assert code == 0, err
    assert out.strip()
    assert endings.FINISH_NOTES["length"] in err


def test_a_complete_reply_prints_no_ending_note(sim: SimulatorServer, data_dir: Path) -> None:
    """An ordinary finish adds nothing to stderr but the usage line."""
    code, _, err = ask(sim, data_dir, "hi")
    assert code == 0, err
    assert not any(note in err for note in endings.FINISH_NOTES.values())


class _FilteringServer(BaseHTTPRequestHandler):
    """A compatible server whose model id carries an escape and whose filter cuts the reply."""

    model = f"gpt-4o-mini{ESC}]0;pwned\x07"

    def do_POST(self) -> None:  # http.server calls it by this name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for delta, finish in (
            ({"role": "assistant", "content": "Partly "}, None),
            ({"content": "answered"}, None),
            ({}, "content_filter"),
        ):
            chunk = {
                "id": "chatcmpl-filtered",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def filtering_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FilteringServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_reply_cut_by_the_content_filter_says_so(filtering_url: str, data_dir: Path) -> None:
    """A content_filter ending keeps exit 0 and says, on stderr, why the answer stops short."""
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": filtering_url}
    result = chatdesk("ask", "--model", "gpt-4o-mini", "hi", data_dir=data_dir, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Partly answered\n"
    assert endings.FINISH_NOTES["content_filter"] in result.stderr
    # The model id the server claimed is printed in the usage line, without its sequence.
    assert "gpt-4o-mini" in result.stderr and ESC not in result.stderr


def test_a_rejected_key_names_the_commands_that_replace_it(
    sim: SimulatorServer, data_dir: Path
) -> None:
    """A 401 tells a terminal user about `chatdesk key set`, not a Settings dialog."""
    sim.script(Fault.status(401))
    code, _, err = ask(sim, data_dir, "hi")
    assert code == 1
    assert "API key rejected" in err
    assert "chatdesk key set" in err and "OPENAI_API_KEY" in err and "Settings" not in err


def test_nothing_listening_names_the_base_url_option(data_dir: Path) -> None:
    """A refused connection points at --base-url and OPENAI_BASE_URL, with the address."""
    with SimulatorServer(api_key=KEY) as gone:
        url = gone.base_url
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": url}
    result = chatdesk("ask", "hi", data_dir=data_dir, env=env)
    assert result.returncode == 1
    assert "--base-url" in result.stderr and "OPENAI_BASE_URL" in result.stderr
    assert url in result.stderr and "Settings" not in result.stderr


class _StatusError(Exception):
    """Shaped like the SDK's status errors, which the classifier reads by duck typing."""

    def __init__(self, status_code: int, code: str = "") -> None:
        super().__init__("server message")
        self.status_code = status_code
        self.body = {"error": {"message": "server message", "code": code}}


class APIError(Exception):
    """Named like the SDK's error for an error event inside a stream."""


def _every_failure() -> list[ApiFailure]:
    statuses = [(401, ""), (403, ""), (404, ""), (429, "insufficient_quota"), (429, "")]
    statuses += [(400, "context_length_exceeded"), (400, ""), (500, "")]
    failures = [classify(_StatusError(status, code)) for status, code in statuses]
    failures += [classify(TimeoutError()), classify(ConnectionRefusedError())]
    failures += [classify(ConnectionResetError()), classify(socket.gaierror())]
    failures += [classify(json.JSONDecodeError("bad", "{", 0)), classify(APIError("cut"))]
    return [*failures, interrupted()]


@pytest.mark.parametrize("failure", _every_failure(), ids=lambda f: f"{f.kind}-{f.headline}")
def test_no_terminal_remedy_points_at_a_window_control(failure: ApiFailure) -> None:
    """Whatever failed, the remedy names no button or dialog the terminal does not have."""
    remedy = terminal_remedy(failure, "http://127.0.0.1:9/v1").lower()
    assert "press retry" not in remedy and "pick another" not in remedy
    assert "settings" not in remedy.replace("the chatdesk window's settings", "")
    assert remedy and not remedy.startswith("retry")


def test_every_kind_of_failure_is_covered() -> None:
    """The failures above include every kind the classifier knows."""
    assert {failure.kind for failure in _every_failure()} == set(FailureKind)


def test_an_address_with_credentials_is_printed_without_them() -> None:
    """A user name and password in the base URL stay out of the remedy."""
    failure = ApiFailure(FailureKind.CONNECTION, "Could not connect", "window text")
    remedy = terminal_remedy(failure, "http://me:secret@127.0.0.1:9/v1")
    assert "secret" not in remedy and "http://127.0.0.1:9/v1" in remedy
