"""One request streamed to its end and timed: the text, who answered, usage, and the latencies.

Used where a reply is not a turn of the conversation: the columns of a comparison and a
re-run with the same seed. Latency is measured from just before the request is handed to the
client, so it includes what the user waits for: connecting, the server's queue, and the
SDK's own retries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from app.core.catalog import lookup
from app.core.client import ChatClient
from app.core.events import ChoiceFinished, ReplyMeta, TextDelta, UsageReported
from app.core.problems import UserFacingError
from app.core.usage import Cost, Usage, cost

Clock = Callable[[], float]
TextListener = Callable[[str], None]


class RunState(StrEnum):
    WAITING = "waiting"
    STREAMING = "streaming"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass
class TimedReply:
    """What has arrived of one streamed request, and when.

    `choice` is the choice followed when the request asks for several. Times are clock
    readings (`time.perf_counter` unless a test gives another clock).
    """

    body: dict[str, Any]
    choice: int = 0
    state: RunState = RunState.WAITING
    parts: list[str] = field(default_factory=list)
    answered_by: str = ""
    fingerprint: str | None = None
    usage: Usage | None = None
    finish_reason: str = ""
    problem: UserFacingError | None = None
    started_at: float | None = None
    first_token_at: float | None = None
    ended_at: float | None = None

    @property
    def model(self) -> str:
        """The model asked for."""
        return str(self.body.get("model", ""))

    @property
    def seed(self) -> int | None:
        seed = self.body.get("seed")
        return seed if isinstance(seed, int) else None

    @property
    def text(self) -> str:
        return "".join(self.parts)

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

    def cost(self) -> Cost | None:
        """What the reply cost at the catalog's prices (None without usage or a price)."""
        if self.usage is None:
            return None
        return cost(self.usage, lookup(self.answered_by or self.model))

    def cost_total(self) -> Decimal | None:
        price = self.cost()
        return price.total if price is not None else None


async def stream_timed(
    client: ChatClient,
    reply: TimedReply,
    *,
    on_text: TextListener | None = None,
    clock: Clock = time.perf_counter,
) -> None:
    """Stream `reply.body` into `reply`, calling `on_text` with each piece of its choice.

    A failure is kept in `reply.problem` (state FAILED), never raised; cancelling the task
    marks the reply STOPPED and propagates the cancellation.
    """
    reply.started_at = clock()
    reply.state = RunState.STREAMING
    try:
        async for event in client.stream_chat(reply.body):
            match event:
                case ReplyMeta(model=model, system_fingerprint=fingerprint):
                    reply.answered_by, reply.fingerprint = model, fingerprint
                case TextDelta(choice=choice, text=text) if choice == reply.choice:
                    if reply.first_token_at is None:
                        reply.first_token_at = clock()
                    reply.parts.append(text)
                    if on_text is not None:
                        on_text(text)
                case ChoiceFinished(choice=choice, reason=reason) if choice == reply.choice:
                    reply.finish_reason = reason
                case UsageReported(usage=usage):
                    reply.usage = usage
    except asyncio.CancelledError:
        reply.ended_at = clock()
        reply.state = RunState.STOPPED
        raise
    except UserFacingError as failure:
        reply.ended_at = clock()
        reply.problem = failure
        reply.state = RunState.FAILED
        return
    reply.ended_at = clock()
    reply.state = RunState.DONE
