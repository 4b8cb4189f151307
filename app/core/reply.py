"""One reply as it arrives and as it ended: the object every surface's turn folds events into.

Text per choice, logprobs, finish reasons, usage, who answered (model snapshot, system
fingerprint, seed), when (sent, first token, end) and how it ended (`RunState`, with the
failure when it failed). The window, quick ask, each Compare column, a re-run and `chatdesk
ask` all read their answer from here (`app/core/turn.py` fills it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from app.core import endings
from app.core.catalog import lookup
from app.core.events import (
    ChoiceFinished,
    LogprobsDelta,
    ReplyMeta,
    ResponseStarted,
    StreamEvent,
    TextDelta,
    UsageReported,
)
from app.core.problems import UserFacingError
from app.core.ratelimits import RateLimits
from app.core.store.records import MessageState
from app.core.usage import Cost, Usage, cost


class RunState(StrEnum):
    """Where a reply is: before its first byte, streaming, or how it ended."""

    WAITING = "waiting"
    STREAMING = "streaming"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"
    # Not sent: the user answered no to the budget question.
    DECLINED = "declined"


@dataclass
class Reply:
    """What has arrived of one reply, per choice; `selected` is the choice shown and continued.

    `asked_model` is the model the request named, `answered_by` the snapshot that answered.
    A continued reply (Continue) starts with the old text in choice 0 and `continuing` saying
    how it was stored before, to put back if nothing more arrives. Times are clock readings.
    """

    asked_model: str = ""
    selected: int = 0
    choices: dict[int, list[str]] = field(default_factory=dict)
    finish_reasons: dict[int, str] = field(default_factory=dict)
    logprobs: dict[int, list[dict[str, object]]] = field(default_factory=dict)
    usage: Usage | None = None
    answered_by: str = ""
    fingerprint: str | None = None
    seed: int | None = None
    # The exact body sent (set by the turn once it is built).
    body: dict[str, Any] | None = None
    rate_limits: RateLimits | None = None
    continuing: tuple[MessageState, str] | None = None
    state: RunState = RunState.WAITING
    problem: UserFacingError | None = None
    # True once the server accepted the request (it bills from then on).
    accepted: bool = False
    # True once text of this request arrived (a continued reply starts with the old text).
    arrived: bool = False
    started_at: float | None = None
    first_token_at: float | None = None
    ended_at: float | None = None

    def apply(self, event: StreamEvent, clock: Callable[[], float]) -> None:
        """Fold one stream event in; `clock` tells when the first text arrived.

        Called for every delta of every reply (tens of thousands in a flood): text comes first
        and the clock is read only once.
        """
        match event:
            case TextDelta(choice=choice, text=text):
                self.choices.setdefault(choice, []).append(text)
                if not self.arrived:
                    self.arrived = True
                    self.first_token_at = clock()
                    self.state = RunState.STREAMING
            case LogprobsDelta(choice=choice, tokens=tokens):
                self.logprobs.setdefault(choice, []).extend(
                    {"token": t.token, "logprob": t.logprob, "top": t.top} for t in tokens
                )
            case ChoiceFinished(choice=choice, reason=reason):
                self.finish_reasons[choice] = reason
            case UsageReported(usage=usage):
                self.usage = usage
            case ReplyMeta(model=model, system_fingerprint=fingerprint):
                self.answered_by = model
                self.fingerprint = fingerprint
            case ResponseStarted(rate_limits=limits):
                self.accepted = True
                self.rate_limits = limits
                self.state = RunState.STREAMING

    # What arrived

    @property
    def text(self) -> str:
        """The selected choice's text (the one shown and continued)."""
        return "".join(self.choices.get(self.selected, ()))

    def texts(self) -> list[str]:
        """Every choice's text, in order (for storing n > 1 replies)."""
        count = max(self.choices, default=-1) + 1
        return ["".join(self.choices.get(i, ())) for i in range(count)]

    @property
    def parts(self) -> list[str]:
        """What arrived of any choice (empty when nothing did)."""
        return [part for parts in self.choices.values() for part in parts]

    def stored_logprobs(self) -> object:
        if not self.logprobs:
            return None
        return [self.logprobs.get(i, []) for i in range(max(self.logprobs) + 1)]

    @property
    def finish_reason(self) -> str:
        return self.finish_reasons.get(self.selected, "")

    def notes(self) -> dict[int, str]:
        """Each finished choice's note (empty for an ordinary finish)."""
        return {i: endings.finished(reason) for i, reason in self.finish_reasons.items()}

    # Who answered, at what cost

    @property
    def billed_model(self) -> str:
        """The model the reply is priced as: the snapshot that answered, else the one asked."""
        return self.answered_by or self.asked_model

    @property
    def rerunnable(self) -> bool:
        """A whole reply from one request (a continuation came from two: no seed repeats it)."""
        return self.body is not None and self.continuing is None

    def cost(self) -> Cost | None:
        """What the reply cost at the catalog's prices (None without usage or a price)."""
        if self.usage is None:
            return None
        return cost(self.usage, lookup(self.billed_model))

    def cost_total(self) -> Decimal | None:
        price = self.cost()
        return price.total if price is not None else None

    # When

    @property
    def running(self) -> bool:
        return self.state in (RunState.WAITING, RunState.STREAMING)

    @property
    def first_token_s(self) -> float | None:
        """Seconds from sending to the first text (None before any arrived)."""
        if self.started_at is None or self.first_token_at is None:
            return None
        return self.first_token_at - self.started_at

    @property
    def total_s(self) -> float | None:
        """Seconds from sending to the end of the stream (None while it runs)."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    # How it ended, as stored

    def ending(self) -> tuple[MessageState, str]:
        """The stored state and note for how the reply ended (call once it has)."""
        if self.state is RunState.DONE:
            return MessageState.COMPLETE, endings.finished(self.finish_reason)
        if not self.arrived and self.continuing is not None:
            # Nothing more arrived for a continued reply: it stays as it was.
            return self.continuing
        if self.state is RunState.FAILED and self.problem is not None:
            if self.arrived:
                return MessageState.FAILED, endings.failed(self.problem.headline)
            return MessageState.FAILED, self.problem.headline
        return MessageState.STOPPED, endings.stopped(self.arrived)


def snapshot(reply: Reply) -> Callable[[], tuple[str, list[str]]]:
    """What a `ReplyRecorder` saves while `reply` streams: its text and every choice's."""
    return lambda: (reply.text, reply.texts())
