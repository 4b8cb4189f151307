"""What the inspector reads of a reply: per choice its text, token logprobs and how it ended.

A reply being streamed is read from the controller's `Reply`, which grows in place while the
inspector looks at it; a stored reply from its `StoredMessage`. Both answer the same questions,
so the inspector does not care which it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from app.core import json_answer
from app.core.logprobs import TokenCell, untokenized_prefix
from app.core.messages import Role
from app.core.store.records import StoredMessage
from app.ui.chat.transcript import Act

if TYPE_CHECKING:
    from app.core.reply import Reply

PROBABILITIES = Act.PROBABILITIES.name.lower()
JSON = Act.JSON.name.lower()
# The header link of a reply whose JSON did not check; it opens the same view.
INVALID_JSON = Act.INVALID_JSON.name.lower().replace("_", "-")


class ReplySource(Protocol):
    """One reply, as the inspector reads it."""

    @property
    def model(self) -> str: ...

    @property
    def choice_count(self) -> int: ...

    @property
    def streaming(self) -> bool: ...

    @property
    def json_mode(self) -> bool: ...

    @property
    def has_logprobs(self) -> bool: ...

    def text(self, choice: int) -> str: ...

    def entries(self, choice: int) -> Sequence[object]: ...

    def finish_reason(self, choice: int) -> str: ...

    def untokenized(self, choice: int, cells: Sequence[TokenCell]) -> str:
        """The start of the choice's text that has no logprobs (it was continued)."""
        ...


class LiveReply:
    """The reply being streamed; `finish()` once the stream has ended."""

    def __init__(
        self, reply: Reply, *, model: str, choices: int, json_mode: bool, logprobs: bool
    ) -> None:
        self._reply = reply
        self._model = model
        self._choices = max(1, choices)
        self._json_mode = json_mode
        self._logprobs = logprobs
        self._streaming = True
        # A continued reply starts with the earlier request's text, which has no logprobs here.
        self._prefix = "".join(reply.choices.get(0, ())) if reply.continuing is not None else ""

    @property
    def model(self) -> str:
        return self._reply.answered_by or self._model

    @property
    def choice_count(self) -> int:
        return self._choices

    @property
    def streaming(self) -> bool:
        return self._streaming

    @property
    def json_mode(self) -> bool:
        return self._json_mode

    @property
    def has_logprobs(self) -> bool:
        if self._streaming:
            return self._logprobs
        return any(self._reply.logprobs.values())

    def finish(self) -> None:
        self._streaming = False

    def text(self, choice: int) -> str:
        return "".join(self._reply.choices.get(choice, ()))

    def entries(self, choice: int) -> Sequence[object]:
        return self._reply.logprobs.get(choice, [])

    def finish_reason(self, choice: int) -> str:
        return self._reply.finish_reasons.get(choice, "")

    def untokenized(self, choice: int, cells: Sequence[TokenCell]) -> str:
        return self._prefix if choice == 0 else ""


class StoredReply:
    """A reply read back from the history."""

    def __init__(self, message: StoredMessage) -> None:
        self._message = message
        self._texts = list(message.choices) or [message.content]
        logprobs = message.logprobs
        self._entries: list[list[object]] = (
            [list(entries) if isinstance(entries, list) else [] for entries in logprobs]
            if isinstance(logprobs, list)
            else []
        )

    @property
    def model(self) -> str:
        return self._message.model

    @property
    def choice_count(self) -> int:
        return len(self._texts)

    @property
    def streaming(self) -> bool:
        return False

    @property
    def json_mode(self) -> bool:
        return looks_like_json(self._message.content)

    @property
    def has_logprobs(self) -> bool:
        return any(self._entries)

    def text(self, choice: int) -> str:
        return self._texts[choice] if 0 <= choice < len(self._texts) else ""

    def entries(self, choice: int) -> Sequence[object]:
        return self._entries[choice] if 0 <= choice < len(self._entries) else []

    def finish_reason(self, choice: int) -> str:
        # Only the ending of the choice the conversation continued with is kept.
        return self._message.finish_reason

    def untokenized(self, choice: int, cells: Sequence[TokenCell]) -> str:
        return untokenized_prefix(self.text(choice), cells)


def looks_like_json(text: str) -> bool:
    """Whether a stored answer was (most likely) asked for in JSON mode, which answers objects.

    The history does not keep each request's response format; a reply opening with a brace is
    one nobody would mistake for prose.
    """
    return text.lstrip().startswith("{")


def json_tool(text: str, finish_reason: str) -> Act:
    """The header link of a JSON answer: it says at a glance whether the JSON checked."""
    return Act.JSON if json_answer.check(text, finish_reason).valid else Act.INVALID_JSON


def source_tools(source: ReplySource, selected: int) -> tuple[Act, ...]:
    """The inspector links a reply offers in its header."""
    tools: list[Act] = []
    if source.has_logprobs:
        tools.append(Act.PROBABILITIES)
    if source.json_mode:
        if source.streaming:
            tools.append(Act.JSON)
        else:
            tools.append(json_tool(source.text(selected), source.finish_reason(selected)))
    return tuple(tools)


def stored_inspection(message: StoredMessage) -> tuple[tuple[Act, ...], StoredReply | None]:
    """The links a stored reply offers, and what they open (nothing for a user's message)."""
    if message.role is not Role.ASSISTANT:
        return (), None
    source = StoredReply(message)
    texts = source.choice_count
    selected = next((i for i in range(texts) if source.text(i) == message.content), 0)
    tools = source_tools(source, selected)
    return tools, (source if tools else None)
