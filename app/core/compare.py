"""Comparing answers: one prompt (with its images) sent to several models, or to one model with
several sets of parameters, all at once.

Each contender gets the same conversation and the same new message; only its model and
parameters differ. Every request runs as its own task on the shared client, so the answers
stream side by side and the slowest does not hold up the others. The comparison keeps a
reference to each task until it ends; `stop` cancels them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.core.catalog import lookup
from app.core.client import ChatClient
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.request import InvalidRequest, build_request
from app.core.timed_stream import Clock, RunState, TimedReply, stream_timed
from app.core.usage import Usage

MAX_CONTENDERS = 3
# Numeric overrides a column can set, by ChatParams field.
OVERRIDABLE = ("temperature", "top_p", "seed", "max_output_tokens")

# Told the index of the contender whose text grew (with the new text) or whose state changed.
TextListener = Callable[[int, str], None]
ChangeListener = Callable[[int], None]
# Records a finished request's usage (the usage ledger), off the caller's hands.
UsageRecorder = Callable[[str, Usage], Awaitable[None]]


@dataclass(frozen=True)
class Contender:
    """One column: the model and the parameters its request is sent with.

    `params` are the whole parameters the conversation would continue with if this answer is
    picked; what is sent leaves out what the model does not accept, and asks for one choice.
    """

    model: str
    params: ChatParams

    def sent_params(self) -> ChatParams:
        return replace(self.params.without_unsupported(lookup(self.model)), n=None)


@dataclass(frozen=True)
class CompareRequest:
    """What is compared: the conversation so far and the message to send after it."""

    history: tuple[ChatMessage, ...]
    message: ChatMessage
    model: str
    params: ChatParams

    def messages(self) -> list[ChatMessage]:
        return [*self.history, self.message]


class OverrideError(ValueError):
    """An override that is not a number of the right kind; the message says which."""


def parse_overrides(base: ChatParams, texts: dict[str, str]) -> ChatParams:
    """`base` with the overrides typed in a column (empty text keeps the base value).

    Raises `OverrideError` for text that is not a number; ranges are checked where every
    request is checked (`build_request`), with the same wording.
    """
    values: dict[str, Any] = {}
    for name, text in texts.items():
        if name not in OVERRIDABLE:
            raise KeyError(name)
        text = text.strip()
        if not text:
            continue
        try:
            if name in ("seed", "max_output_tokens"):
                values[name] = int(text)
            else:
                values[name] = float(text)
        except ValueError:
            label = OVERRIDE_LABELS[name]
            raise OverrideError(f"{label} must be a number (it is “{text}”).") from None
    return replace(base, **values)


OVERRIDE_LABELS = {
    "temperature": "Temperature",
    "top_p": "Top P",
    "seed": "Seed",
    "max_output_tokens": "Max tokens",
}


def request_body(request: CompareRequest, contender: Contender) -> dict[str, Any]:
    """The streamed request body for `contender`; `InvalidRequest` when it must not be sent."""
    return build_request(contender.model, request.messages(), contender.sent_params())


class Comparison:
    """The requests of one comparison, one per contender, streamed concurrently.

    `replies[i]` is contender i's reply as it arrives. A contender whose request cannot be
    built fails at once with the reason, and the others still run.
    """

    def __init__(
        self,
        request: CompareRequest,
        contenders: Sequence[Contender],
        *,
        on_text: TextListener | None = None,
        on_changed: ChangeListener | None = None,
        record_usage: UsageRecorder | None = None,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.request = request
        self.contenders = tuple(contenders)
        self._on_text = on_text
        self._on_changed = on_changed
        self._record_usage = record_usage
        self._clock = clock
        self.replies: list[TimedReply] = [TimedReply({}) for _ in self.contenders]
        self._tasks: dict[int, asyncio.Task[None]] = {}

    @property
    def busy(self) -> bool:
        return any(not task.done() for task in self._tasks.values())

    def start(self, client: ChatClient, indices: Sequence[int] | None = None) -> None:
        """Send every contender's request (or those at `indices`), each in its own task."""
        for index in range(len(self.contenders)) if indices is None else indices:
            running = self._tasks.get(index)
            if running is not None and not running.done():
                continue
            reply = self.replies[index] = self._prepare(index)
            if reply.state is RunState.FAILED:
                self._changed(index)
                continue
            task = asyncio.ensure_future(self._run(client, index, reply))
            self._tasks[index] = task
            # Told once the task is over, so that `busy` already says so.
            task.add_done_callback(functools.partial(self._on_task_done, index))

    def stop(self) -> None:
        """Stop every request still streaming; what arrived stays."""
        for task in self._tasks.values():
            task.cancel()

    async def wait(self) -> None:
        """Until every request has ended (finished, failed or stopped)."""
        tasks = [task for task in self._tasks.values() if not task.done()]
        if tasks:
            await asyncio.wait(tasks)

    def replace_contender(self, index: int, contender: Contender) -> None:
        """Use `contender` for index `index` from its next `start` (a column changed)."""
        contenders = list(self.contenders)
        contenders[index] = contender
        self.contenders = tuple(contenders)

    def _prepare(self, index: int) -> TimedReply:
        try:
            body = request_body(self.request, self.contenders[index])
        except InvalidRequest as invalid:
            return TimedReply({}, state=RunState.FAILED, problem=invalid)
        return TimedReply(body)

    async def _run(self, client: ChatClient, index: int, reply: TimedReply) -> None:
        self._changed(index)

        def grew(text: str) -> None:
            if self._on_text is not None:
                self._on_text(index, text)

        with contextlib.suppress(asyncio.CancelledError):
            await stream_timed(client, reply, on_text=grew, clock=self._clock)
        # Usage arrives once the server has billed the request, so it is counted even when
        # the stream failed or was stopped afterwards.
        if reply.usage is not None and self._record_usage is not None:
            await self._record_usage(reply.answered_by or reply.model, reply.usage)

    def _on_task_done(self, index: int, _task: asyncio.Task[None]) -> None:
        self._changed(index)

    def _changed(self, index: int) -> None:
        if self._on_changed is not None:
            self._on_changed(index)
