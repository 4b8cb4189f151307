"""View as code: the last request as a curl command and as Python, runnable as they are."""

from __future__ import annotations

import ast
import base64
import io
import json
import os
import random
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.core.as_code import (
    Endpoint,
    SentRequest,
    as_curl,
    as_python,
    shorten_data_urls,
)
from app.core.client import ConnectionConfig
from app.core.messages import ChatMessage, Detail, ImagePart
from app.core.params import ChatParams
from app.core.request import build_request
from app.simulator import SimulatorServer
from tests.support.conversations import png_part
from tests.support.schema import schema_errors

KEY = "sk-test-as-code-0123456789"
# A hang guard only: the scripts finish far sooner, and nothing asserts on elapsed time.
HANG_GUARD_S = 60.0
# Characters a shell or Python would treat specially, to prove the code sends them unchanged.
AWKWARD = "Cost in $HOME? `date` $(whoami) 'single' \"double\" \\n back\\slash\nJSON\nEOF ✓ 😀"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    # Only the right key is accepted, so a reply proves the key came from the environment.
    with SimulatorServer(api_key=KEY) as server:
        yield server


def request_body(*, stream: bool, params: ChatParams | None = None) -> dict[str, Any]:
    """A body as the app sends it: system prompt, history, an image, parameters."""
    messages = [
        ChatMessage.system("You are terse."),
        ChatMessage.user("Hello"),
        ChatMessage.assistant("Hi."),
        ChatMessage.user(
            AWKWARD,
            (png_part((10, 200, 90)), ImagePart("https://example.com/cat.jpg", Detail.HIGH)),
        ),
    ]
    params = params or ChatParams(temperature=0.5, max_output_tokens=200, seed=7, stop=("END",))
    return build_request("gpt-4o-mini", messages, params, stream=stream)


def local_body(*, stream: bool, n: int | None = None) -> dict[str, Any]:
    """Like `request_body` but with only local images: the simulator cannot fetch URLs."""
    body = request_body(stream=stream, params=ChatParams(temperature=0.5, seed=7, n=n))
    body["messages"][-1]["content"] = body["messages"][-1]["content"][:2]
    return body


def curl_body(command: str) -> Any:
    """The JSON between the heredoc's opening line and its delimiter."""
    lines = command.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith("<<'JSON'"))
    end = lines.index("JSON", start + 1)
    return json.loads("\n".join(lines[start + 1 : end]))


def python_call_arguments(code: str) -> dict[str, Any]:
    """The keyword arguments of the script's `client.chat.completions.create(...)` call."""
    for node in ast.walk(ast.parse(code)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and ast.unparse(node.func) == "client.chat.completions.create"
        ):
            return {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg is not None}
    raise AssertionError("no client.chat.completions.create call")


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: the key and what is asked, nothing inherited (no proxies)."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "OPENAI_API_KEY": KEY, **extra}


def run_python(code: str, tmp_path: Path, **env: str) -> str:
    script = tmp_path / "request.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        env=child_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_bash(command: str, tmp_path: Path) -> str:
    script = tmp_path / "request.sh"
    script.write_text(command, encoding="utf-8")
    done = subprocess.run(
        ["bash", str(script)],
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def answer_to(sim: SimulatorServer, body: Mapping[str, Any]) -> list[str]:
    """The simulator's (deterministic) answer to `body`, asked again without streaming."""
    plain = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    request = urllib.request.Request(
        f"{sim.base_url}/chat/completions",
        data=json.dumps(plain).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"},
    )
    with urllib.request.urlopen(request, timeout=HANG_GUARD_S) as response:
        reply = json.load(response)
    return [choice["message"]["content"] for choice in reply["choices"]]


# What the code contains


@pytest.mark.parametrize("stream", [True, False])
def test_curl_sends_exactly_the_request_body_and_it_is_schema_valid(stream: bool) -> None:
    """The JSON in the curl command is the very body that was sent, valid per the spec."""
    body = request_body(stream=stream)
    sent = curl_body(as_curl(body))
    assert sent == body
    assert schema_errors(sent) == []


@pytest.mark.parametrize("stream", [True, False])
def test_python_passes_exactly_the_request_body_and_it_is_schema_valid(stream: bool) -> None:
    """The create() call's arguments are the very body that was sent, valid per the spec."""
    body = request_body(stream=stream)
    arguments = python_call_arguments(as_python(body))
    assert arguments == body
    assert schema_errors(arguments) == []


def test_the_key_is_never_written_only_its_variable() -> None:
    """Whatever the connection's key, the code refers to $OPENAI_API_KEY and never holds it."""
    config = ConnectionConfig(
        api_key=KEY, base_url="https://example.org/v1/", organization="org-1", project="proj_2"
    )
    body = request_body(stream=True)
    curl = as_curl(body, Endpoint.of(config))
    python = as_python(body, Endpoint.of(config))
    for code in (curl, python):
        assert KEY not in code
        assert "OPENAI_API_KEY" in code
    assert '-H "Authorization: Bearer $OPENAI_API_KEY"' in curl
    assert "'OpenAI-Organization: org-1'" in curl
    assert "'OpenAI-Project: proj_2'" in curl
    assert "curl 'https://example.org/v1/chat/completions'" in curl
    assert 'base_url="https://example.org/v1"' in python
    assert 'organization="org-1"' in python and 'project="proj_2"' in python


def test_default_connection_writes_the_shortest_code() -> None:
    """Against api.openai.com with no organization or project, no extra headers or options."""
    body = request_body(stream=False)
    curl = as_curl(body)
    assert "OpenAI-Organization" not in curl and "OpenAI-Project" not in curl
    assert "curl 'https://api.openai.com/v1/chat/completions'" in curl
    assert "client = OpenAI()\n" in as_python(body)


def test_shortened_display_keeps_everything_but_image_data() -> None:
    """The on-screen version cuts only the base64 of images; the real body is left untouched."""
    body = request_body(stream=True)
    image_url = body["messages"][-1]["content"][1]["image_url"]["url"]
    shown = shorten_data_urls(body)
    shown_url = shown["messages"][-1]["content"][1]["image_url"]["url"]
    assert shown_url.startswith("data:image/png;base64,") and "more characters)" in shown_url
    assert len(shown_url) < len(image_url)
    assert body["messages"][-1]["content"][1]["image_url"]["url"] == image_url
    shown["messages"][-1]["content"][1]["image_url"]["url"] = image_url
    assert shown == body


# The code runs


def test_generated_python_streams_a_real_answer(sim: SimulatorServer, tmp_path: Path) -> None:
    """Run as a script, the Python code gets the reply to the same request the app sent."""
    body = local_body(stream=True)
    endpoint = Endpoint(sim.base_url, organization="org-chatdesk", project="proj_export")
    output = run_python(as_python(body, endpoint), tmp_path)

    [received] = sim.requests
    assert received.body == body
    assert (received.organization, received.project) == ("org-chatdesk", "proj_export")
    [answer] = answer_to(sim, body)
    assert answer and output == answer + "\n"


def test_generated_python_uses_the_environment_for_the_default_server(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    """Code for api.openai.com honours OPENAI_BASE_URL, so it runs against any server."""
    body = local_body(stream=False, n=2)
    output = run_python(as_python(body), tmp_path, OPENAI_BASE_URL=sim.base_url)

    assert sim.requests[0].body == body
    first, second = answer_to(sim, body)
    assert output == f"--- choice 0 ---\n{first}\n--- choice 1 ---\n{second}\n"


def test_curl_command_gets_a_streamed_answer(sim: SimulatorServer, tmp_path: Path) -> None:
    """Run by bash, the curl command streams the reply; the prompt arrives byte for byte."""
    body = local_body(stream=True)
    endpoint = Endpoint(sim.base_url, organization="org-chatdesk", project="proj_export")
    output = run_bash(as_curl(body, endpoint), tmp_path)

    [received] = sim.requests
    assert received.body == body
    assert received.body["messages"][-1]["content"][0]["text"] == AWKWARD
    assert (received.organization, received.project) == ("org-chatdesk", "proj_export")
    events = [line[6:] for line in output.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == answer_to(sim, body)[0]


def test_curl_command_gets_a_plain_answer(sim: SimulatorServer, tmp_path: Path) -> None:
    """Without streaming, the curl command prints the completion as JSON."""
    body = local_body(stream=False)
    reply = json.loads(run_bash(as_curl(body, Endpoint(sim.base_url)), tmp_path))
    assert reply["choices"][0]["message"]["content"] == answer_to(sim, body)[0]
    assert sim.requests[0].body == body


def test_large_images_fit_in_the_curl_command(sim: SimulatorServer, tmp_path: Path) -> None:
    """A multi-megabyte image (too big for a command-line argument) still goes through."""
    body = local_body(stream=False)
    body["messages"][-1]["content"][1]["image_url"]["url"] = big_png_data_url()
    assert len(json.dumps(body)) > 3_000_000
    run_bash(as_curl(body, Endpoint(sim.base_url)), tmp_path)
    assert sim.requests[0].body == body


def big_png_data_url() -> str:
    """A PNG of noise, stored uncompressed: about 4.5 MB as a data URL."""
    noise = random.Random(3).randbytes(1400 * 800 * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (1400, 800), noise).save(buffer, "PNG", compress_level=0)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def test_sent_request_keeps_where_it_went() -> None:
    """What the dialog is given pairs the body with its endpoint, minus the key."""
    config = ConnectionConfig(api_key=KEY, base_url="http://localhost:8080/v1/")
    sent = SentRequest(request_body(stream=True), Endpoint.of(config))
    assert sent.endpoint == Endpoint("http://localhost:8080/v1")
    assert KEY not in repr(sent)
