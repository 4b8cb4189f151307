"""A request the app sent, written as code that sends it again: a curl command or Python.

The code is built from the exact body that was sent and from where it went (base URL,
organization, project); the key is never part of either. Both read it from the
`OPENAI_API_KEY` environment variable, so the code can be pasted into a chat, a ticket or a
notebook without leaking it.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.core.client import DEFAULT_BASE_URL, ConnectionConfig

KEY_VARIABLE = "OPENAI_API_KEY"
# Beyond this a value is spread over several lines (the width of black-formatted code).
_LINE_WIDTH = 88
_HEREDOC_DELIMITER = "JSON"
# Shortened data URLs keep this many characters of their base64 so a reader sees what it is.
_SHOWN_BASE64 = 24


@dataclass(frozen=True)
class Endpoint:
    """Where a request goes: everything needed to send it again except the key."""

    base_url: str = DEFAULT_BASE_URL
    organization: str = ""
    project: str = ""

    @classmethod
    def of(cls, config: ConnectionConfig) -> Endpoint:
        return cls(config.base_url.rstrip("/"), config.organization, config.project)

    @property
    def is_default(self) -> bool:
        return self.base_url.rstrip("/") == DEFAULT_BASE_URL


@dataclass(frozen=True)
class SentRequest:
    """The body of a request exactly as it was sent, and where it was sent."""

    body: Mapping[str, Any]
    endpoint: Endpoint


# --- curl ---------------------------------------------------------------------------------------


def as_curl(body: Mapping[str, Any], endpoint: Endpoint | None = None) -> str:
    """A bash command sending `body`; the JSON goes through a quoted heredoc.

    Nothing in a quoted heredoc is expanded by the shell, whatever the prompt contains, and it
    has no length limit, unlike a command-line argument, so multi-megabyte images fit.
    """
    endpoint = endpoint or Endpoint()
    payload = json.dumps(body, indent=2, ensure_ascii=False)
    delimiter = _HEREDOC_DELIMITER
    lines_of_payload = set(payload.splitlines())
    while delimiter in lines_of_payload:
        delimiter += "_END"
    url = f"{endpoint.base_url.rstrip('/')}/chat/completions"
    options = [f"curl {_shell_quote(url)}"]
    if body.get("stream"):
        # Show each streamed chunk as it arrives rather than when curl's buffer fills.
        options.append("--no-buffer")
    options.append('-H "Content-Type: application/json"')
    options.append(f'-H "Authorization: Bearer ${KEY_VARIABLE}"')
    if endpoint.organization:
        options.append(f"-H {_shell_quote('OpenAI-Organization: ' + endpoint.organization)}")
    if endpoint.project:
        options.append(f"-H {_shell_quote('OpenAI-Project: ' + endpoint.project)}")
    options.append(f"--data-binary @- <<'{delimiter}'")
    command = " \\\n  ".join(options)
    return (
        f"# Needs the {KEY_VARIABLE} environment variable: export {KEY_VARIABLE}=...\n"
        f"{command}\n{payload}\n{delimiter}\n"
    )


def _shell_quote(text: str) -> str:
    """`text` as one bash word, in single quotes (inside which nothing is special)."""
    return "'" + text.replace("'", "'\\''") + "'"


# --- Python -------------------------------------------------------------------------------------


def as_python(body: Mapping[str, Any], endpoint: Endpoint | None = None) -> str:
    """A script sending `body` with the official `openai` package and printing the answer."""
    endpoint = endpoint or Endpoint()
    client_options = []
    if not endpoint.is_default:
        client_options.append(f"base_url={_literal(endpoint.base_url.rstrip('/'), 4)}")
    if endpoint.organization:
        client_options.append(f"organization={_literal(endpoint.organization, 4)}")
    if endpoint.project:
        client_options.append(f"project={_literal(endpoint.project, 4)}")
    if client_options:
        client = "client = OpenAI(\n" + "".join(f"    {o},\n" for o in client_options) + ")"
    else:
        client = "client = OpenAI()"

    arguments: list[str] = []
    extra: dict[str, Any] = {}
    for name, value in body.items():
        if name.isidentifier() and not keyword.iskeyword(name):
            arguments.append(f"    {name}={_literal(value, 4, len(name) + 1)},")
        else:
            extra[name] = value
    if extra:
        arguments.append(f"    extra_body={_literal(extra, 4, len('extra_body='))},")

    streaming = bool(body.get("stream"))
    several = isinstance(body.get("n"), int) and body["n"] > 1
    result = "stream" if streaming else "completion"
    lines = [
        "from openai import OpenAI",
        "",
        f"# The key is read from the {KEY_VARIABLE} environment variable.",
        client,
        "",
        f"{result} = client.chat.completions.create(",
        *arguments,
        ")",
        "",
        *_printing(streaming=streaming, several=several),
    ]
    return "\n".join(lines) + "\n"


def _printing(*, streaming: bool, several: bool) -> list[str]:
    if streaming and several:
        return [
            "# Several choices stream interleaved: collect each, then print them in order.",
            "texts: dict[int, list[str]] = {}",
            "for chunk in stream:",
            "    for choice in chunk.choices:",
            '        texts.setdefault(choice.index, []).append(choice.delta.content or "")',
            "for index, parts in sorted(texts.items()):",
            '    print(f"--- choice {index} ---")',
            '    print("".join(parts))',
        ]
    if streaming:
        return [
            "for chunk in stream:",
            "    for choice in chunk.choices:",
            '        print(choice.delta.content or "", end="", flush=True)',
            "print()",
        ]
    if several:
        return [
            "for choice in completion.choices:",
            '    print(f"--- choice {choice.index} ---")',
            "    print(choice.message.content)",
        ]
    return ["print(completion.choices[0].message.content)"]


def _literal(value: Any, indent: int, used: int = 0) -> str:
    """`value` (JSON data) as a Python literal, spread over lines when it is too wide.

    `indent` is the indentation of the line it starts on, `used` what precedes it there.
    """
    flat = _flat_literal(value)
    if not isinstance(value, dict | list) or not value:
        return flat
    if indent + used + len(flat) + 1 <= _LINE_WIDTH:
        return flat
    inner = " " * (indent + 4)
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            key_text = _flat_literal(str(key))
            items.append(f"{inner}{key_text}: {_literal(item, indent + 4, len(key_text) + 2)},")
        opening, closing = "{", "}"
    else:
        items = [f"{inner}{_literal(item, indent + 4)}," for item in value]
        opening, closing = "[", "]"
    return opening + "\n" + "\n".join(items) + "\n" + " " * indent + closing


def _flat_literal(value: Any) -> str:
    if value is None:
        return "None"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, str):
        # A JSON string is a valid Python string literal: the same escapes, double quotes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{_flat_literal(str(k))}: {_flat_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flat_literal(item) for item in value) + "]"
    raise TypeError(f"not JSON data: {type(value).__name__}")


# --- For display --------------------------------------------------------------------------------


def shorten_data_urls(value: Any) -> Any:
    """A copy of `value` with each `data:` URL cut to its start and a count of what was left out.

    Megabytes of base64 on one line are unreadable, and slow to lay out in a text view; the
    shortened body is for showing only, never for sending or copying.
    """
    if isinstance(value, str):
        header, comma, payload = value.partition(",")
        if value.startswith("data:") and comma and len(payload) > _SHOWN_BASE64:
            left_out = len(payload) - _SHOWN_BASE64
            return f"{header},{payload[:_SHOWN_BASE64]}…({left_out:,} more characters)"
        return value
    if isinstance(value, Mapping):
        return {key: shorten_data_urls(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [shorten_data_urls(item) for item in value]
    return value
