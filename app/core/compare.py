"""Comparing answers: one prompt (with its images) sent to several models, or to one model with
several sets of parameters, all at once.

Each contender gets the same conversation and the same new message; only its model and
parameters differ. Every request is its own turn (`app/core/turn.py`) in its own task, so the
answers stream side by side and the slowest does not hold up the others; each turn records
its usage (the server's, or estimated when it was stopped or failed) tagged "compare". The
budget is asked about once for the whole comparison, before it starts, so the columns' turns
run without a budget policy. The comparison keeps a reference to each task until it ends;
`stop` cancels them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.core import preflight
from app.core.catalog import lookup
from app.core.events import StreamEvent, TextDelta
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.preflight import RequestEstimate
from app.core.reply import Reply, RunState
from app.core.request import InvalidRequest
from app.core.turn import Turn, TurnHooks, TurnPlan

MAX_CONTENDERS = 3
# Numeric overrides a column can set, by ChatParams field.
OVERRIDABLE = ("temperature", "top_p", "seed", "max_output_tokens")

# Told the index of the contender whose text grew (with the new text) or whose state changed.
TextListener = Callable[[int, str], None]
ChangeListener = Callable[[int], None]
# Told each settled reply (its usage is in the ledger by then): the status bar's totals.
SettledListener = Callable[[Reply], Awaitable[None]]
# Awaited before a column's request is counted with tiktoken (the window serialises imports).
BeforeCounting = Callable[[str], Awaitable[None]]


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


def turn_plan(request: CompareRequest, contender: Contender) -> TurnPlan:
    """What `contender`'s column sends: the conversation, the message and its own parameters."""
    return TurnPlan(contender.model, request.messages(), params=contender.sent_params())


async def budget_requests(
    request: CompareRequest,
    contenders: Sequence[Contender],
    before_counting: BeforeCounting | None = None,
) -> list[tuple[RequestEstimate, ChatParams]]:
    """What the budget is asked about before a comparison: each sendable request's size and
    what bounds its reply, counted as its turn would count it (in a worker thread)."""
    loop = asyncio.get_running_loop()
    requests = []
    for contender in contenders:
        plan = turn_plan(request, contender)
        try:
            body = plan.build()
        except InvalidRequest:
            continue  # its column fails at once, unsent and unpaid
        if before_counting is not None:
            await before_counting(contender.model)
        estimate = await loop.run_in_executor(None, preflight.estimate_body, body)
        requests.append((estimate, plan.bound_params(body)))
    return requests


class Comparison:
    """The turns of one comparison, one per contender, streamed concurrently.

    `replies[i]` is contender i's reply as it arrives. A contender whose request cannot be
    built fails at once with the reason, and the others still run. `turn` is the Compare
    window's turn engine: tagged `Source.COMPARE` and without a budget policy (the window
    asks once for every column before starting).
    """

    def __init__(
        self,
        request: CompareRequest,
        contenders: Sequence[Contender],
        *,
        turn: Turn,
        on_text: TextListener | None = None,
        on_changed: ChangeListener | None = None,
        on_settled: SettledListener | None = None,
        before_counting: BeforeCounting | None = None,
    ) -> None:
        self.request = request
        self.contenders = tuple(contenders)
        self._turn = turn
        self._on_text = on_text
        self._on_changed = on_changed
        self._on_settled = on_settled
        self._before_counting = before_counting
        self.replies: list[Reply] = [Reply(asked_model=c.model) for c in self.contenders]
        self._tasks: dict[int, asyncio.Task[None]] = {}

    @property
    def busy(self) -> bool:
        return any(not task.done() for task in self._tasks.values())

    def start(self, indices: Sequence[int] | None = None) -> None:
        """Send every contender's request (or those at `indices`), each in its own task."""
        for index in range(len(self.contenders)) if indices is None else indices:
            running = self._tasks.get(index)
            if running is not None and not running.done():
                continue
            contender = self.contenders[index]
            reply = self.replies[index] = Reply(asked_model=contender.model)
            plan = turn_plan(self.request, contender)
            try:
                # Built here as well as in the turn, so that a column that cannot be sent
                # says why at once instead of after a task has started.
                plan.build()
            except InvalidRequest as invalid:
                reply.state, reply.problem = RunState.FAILED, invalid
                self._changed(index)
                continue
            task = asyncio.ensure_future(self._run(index, plan, reply))
            self._tasks[index] = task
            # Told once the task is over, so that `busy` already says so.
            task.add_done_callback(functools.partial(self._on_task_done, index, reply))

    def stop(self) -> None:
        """Stop every request still streaming; what arrived stays (and its estimate is recorded)."""
        for task in self._tasks.values():
            task.cancel()

    async def wait(self) -> None:
        """Until every request has ended (finished, failed or stopped) and been recorded."""
        tasks = [task for task in self._tasks.values() if not task.done()]
        if tasks:
            await asyncio.wait(tasks)

    def replace_contender(self, index: int, contender: Contender) -> None:
        """Use `contender` for index `index` from its next `start` (a column changed)."""
        contenders = list(self.contenders)
        contenders[index] = contender
        self.contenders = tuple(contenders)

    async def _run(self, index: int, plan: TurnPlan, reply: Reply) -> None:
        self._changed(index)
        hooks = TurnHooks(
            before_counting=self._before_counting,
            on_event=functools.partial(self._on_event, index, reply),
            on_settled=self._on_settled,
        )
        # Stopping a column is an ending like another: the turn has settled the reply.
        with contextlib.suppress(asyncio.CancelledError):
            await self._turn.run(plan, reply, hooks=hooks)

    def _on_event(self, index: int, reply: Reply, event: StreamEvent) -> None:
        listener = self._on_text
        if listener is not None and isinstance(event, TextDelta) and event.choice == reply.selected:
            listener(index, event.text)

    def _on_task_done(self, index: int, reply: Reply, task: asyncio.Task[None]) -> None:
        if reply.running:
            # Cancelled before its turn began: nothing was sent.
            reply.state = RunState.STOPPED
        self._changed(index)
        if not task.cancelled() and (bug := task.exception()) is not None:
            # Not a failure the turn could classify: a bug, reported now where every bug goes
            # rather than whenever the task happens to be collected.
            task.get_loop().call_exception_handler(
                {"message": "a Compare column ended with a bug", "exception": bug, "task": task}
            )

    def _changed(self, index: int) -> None:
        if self._on_changed is not None:
            self._on_changed(index)
