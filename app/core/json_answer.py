"""A JSON-mode answer checked: valid or not, where and why not, and what of it can be read.

JSON mode promises an object, but an answer cut off by the token limit (or stopped, or
filtered) ends mid-document. `check` says so in words a person can act on, and salvages the
part that did arrive, closed off, so it can still be browsed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# How many cut points `salvage` tries, from the end backwards, before giving up.
_SALVAGE_TRIES = 64
_LITERALS = ("true", "false", "null")
_ENDINGS = {
    "length": "Cut off by the token limit",
    "content_filter": "Cut off by the content filter",
}
_PREVIEW_CHARS = 120


@dataclass(frozen=True)
class JsonProblem:
    """Why an answer is not valid JSON, and where (line and column count from 1)."""

    reason: str
    line: int
    column: int
    position: int
    # The document ends before it is complete (rather than being wrong somewhere inside).
    truncated: bool = False

    @property
    def headline(self) -> str:
        return f"{self.reason} (line {self.line}, column {self.column})"


@dataclass(frozen=True)
class JsonAnswer:
    """The result of checking an answer: its value, or the problem and what could be salvaged."""

    valid: bool
    value: object = None
    problem: JsonProblem | None = None

    @property
    def has_value(self) -> bool:
        """True when there is something to browse (the document, or what arrived of it)."""
        return self.valid or self.value is not None


def check(text: str, finish_reason: str = "") -> JsonAnswer:
    """Parse `text`; when it is not valid JSON, say why and salvage what arrived."""
    if not text.strip():
        return JsonAnswer(False, None, JsonProblem("The answer is empty", 1, 1, 0, True))
    try:
        return JsonAnswer(True, json.loads(text))
    except json.JSONDecodeError as error:
        truncated = _ends_early(text, error)
        if truncated:
            reason = _ENDINGS.get(finish_reason, "The JSON ends before it is complete")
            position = len(text.rstrip())
        else:
            reason = f"Not valid JSON: {error.msg[:1].lower()}{error.msg[1:]}"
            position = error.pos
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        problem = JsonProblem(reason, line, column, position, truncated)
        return JsonAnswer(False, salvage(text) if truncated else None, problem)


def salvage(text: str) -> object:
    """What arrived of a cut-off document, closed off where its last complete value ends.

    None when not even the first container was opened.
    """
    stack: list[str] = []
    cuts: list[tuple[str, str]] = []
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        if char == '"':
            end = _string_end(text, index)
            if end < 0:
                # The answer stops inside a string: keep what arrived of it.
                head = _without_broken_escape(text[index:])
                cuts.append((text[:index] + head + '"', _closers(stack)))
                break
            index = end
            cuts.append((text[:index], _closers(stack)))
            continue
        if char in "{[":
            stack.append("}" if char == "{" else "]")
            cuts.append((text[: index + 1], _closers(stack)))
        elif char in "}]":
            if stack:
                stack.pop()
            cuts.append((text[: index + 1], _closers(stack)))
        elif not char.isspace() and char not in ",:":
            end = index
            while end < size and not text[end].isspace() and text[end] not in ',:]}"':
                end += 1
            if end > index:
                index = end
                cuts.append((text[:index], _closers(stack)))
                continue
        index += 1
    for head, closers in reversed(cuts[-_SALVAGE_TRIES:]):
        try:
            return json.loads(head + closers)
        except json.JSONDecodeError:
            continue
    return None


def preview(value: object) -> str:
    """A value in one short line: scalars as JSON, containers by their size."""
    if isinstance(value, dict):
        return "{" + count_label(value) + "}"
    if isinstance(value, list):
        return "[" + count_label(value) + "]"
    shown = json.dumps(value, ensure_ascii=False)
    if len(shown) > _PREVIEW_CHARS:
        shown = shown[: _PREVIEW_CHARS - 1] + "…"
    return shown


def count_label(value: dict[object, object] | list[object]) -> str:
    count = len(value)
    if isinstance(value, dict):
        return f"{count} key" + ("" if count == 1 else "s")
    return f"{count} item" + ("" if count == 1 else "s")


def kind(value: object) -> str:
    """The JSON type of a value, as the spec names it."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return "number"
    return "string"


def dumps(value: object) -> str:
    """A value as indented JSON (what copying a node gives)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def _ends_early(text: str, error: json.JSONDecodeError) -> bool:
    """Whether the decoder failed because the text stops, not because it is wrong."""
    if error.msg.startswith("Unterminated string"):
        return True
    rest = text[error.pos :].rstrip()
    if not rest:
        return True
    # Stopped inside a literal ("tru") or inside an escape at the very end ("\\u00").
    if any(literal.startswith(rest) for literal in _LITERALS):
        return True
    return error.msg.startswith("Invalid \\uXXXX escape") and error.pos + 6 > len(text)


def _string_end(text: str, start: int) -> int:
    """The index just after the string starting at `start`, or -1 when it is not closed."""
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == '"':
            return index + 1
        index += 1
    return -1


def _without_broken_escape(head: str) -> str:
    backslash = head.rfind("\\")
    if backslash < 0:
        return head
    run = len(head[: backslash + 1]) - len(head[: backslash + 1].rstrip("\\"))
    if run % 2 == 0:
        return head  # an escaped backslash, complete
    escape = head[backslash:]
    complete = len(escape) >= 2 and (escape[1] != "u" or len(escape) >= 6)
    return head if complete else head[:backslash]


def _closers(stack: list[str]) -> str:
    return "".join(reversed(stack))
