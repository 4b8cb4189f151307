"""What has arrived of the reply being streamed: its text per choice, how each ended, usage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core.store.records import FINISH_NOTES, MessageState
from app.core.usage import Usage

STOPPED_NOTE = "Stopped."
NOTHING_ARRIVED_NOTE = "Stopped before any text arrived."


@dataclass
class Reply:
    """What has arrived of the reply being streamed, per choice; `selected` is the one shown."""

    choices: dict[int, list[str]] = field(default_factory=dict)
    finish_reasons: dict[int, str] = field(default_factory=dict)
    selected: int = 0
    model: str = ""
    usage: Usage | None = None
    # True once text of this request arrived (a continued reply starts with the old text).
    arrived: bool = False
    logprobs: dict[int, list[dict[str, object]]] = field(default_factory=dict)
    # For a continued reply: how it was stored before, to put back if nothing more arrives.
    continuing: tuple[MessageState, str] | None = None
    # Provenance: the server's build, the seed sent, and the exact body (to re-run it).
    fingerprint: str | None = None
    seed: int | None = None
    body: dict[str, Any] | None = None

    def texts(self) -> list[str]:
        """Every choice's text, in order (for storing n > 1 replies)."""
        count = max(self.choices, default=-1) + 1
        return ["".join(self.choices.get(i, ())) for i in range(count)]

    def stored_logprobs(self) -> object:
        if not self.logprobs:
            return None
        return [self.logprobs.get(i, []) for i in range(max(self.logprobs) + 1)]

    @property
    def parts(self) -> list[str]:
        """What arrived of any choice (empty when nothing did)."""
        return [part for parts in self.choices.values() for part in parts]

    @property
    def text(self) -> str:
        return "".join(self.choices.get(self.selected, ()))

    @property
    def finish_reason(self) -> str:
        return self.finish_reasons.get(self.selected, "")

    def notes(self) -> dict[int, str]:
        return {i: FINISH_NOTES.get(reason, "") for i, reason in self.finish_reasons.items()}


def snapshot(reply: Reply) -> Callable[[], tuple[str, list[str]]]:
    return lambda: (reply.text, reply.texts())


def stopped_note(reply: Reply) -> str:
    return STOPPED_NOTE if reply.arrived or reply.continuing else NOTHING_ARRIVED_NOTE
