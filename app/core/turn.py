"""One paid request, start to end: the turn every surface runs.

The window, quick ask, each Compare column, a re-run with the same seed and `chatdesk ask` all
send through `Turn.run`; nothing else calls `ChatClient.stream_chat`. A turn:

1. builds and validates the body once (or takes the exact body of a re-run);
2. counts it once when it must (it may not fit, or the budget may have to ask), then checks
   the context window and the budget policy the surface answers (confirm, refuse, allow);
3. stores the prompt and an empty reply marked streaming, when the surface keeps history;
4. streams through `ChatClient`, folding every event into one `Reply` and telling the surface;
5. ends in a known state whatever happens (done, stopped, failed, declined) with its usage:
   the server's, or estimated with tiktoken from the prompt and what arrived when the server
   never sent it (stopped, cut off, failed mid-way) — the provider bills every token it made;
6. records that usage in the ledger, tagged with the surface, and finishes the stored reply.

`run` returns normally for every ending but a cancellation, which it re-raises after the
reply is settled (stored as stopped, its estimate recorded).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core import preflight, usage_estimate
from app.core.budget import BudgetPolicy, SendDeclined
from app.core.catalog import lookup
from app.core.client import ChatClient, RetryListener
from app.core.events import StreamEvent
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.problems import UserFacingError
from app.core.reply import Reply, RunState, snapshot
from app.core.request import build_request
from app.core.store.ledger import Source, UsageLedger
from app.core.store.reply_recorder import ReplyRecorder
from app.core.store.saved_conversation import (
    ConversationSettings,
    ReplyEnding,
    SavedConversation,
)
from app.core.usage import Usage

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class NotConnected(UserFacingError):
    """A turn was started before any connection was configured."""


@dataclass(frozen=True)
class TurnPlan:
    """What one turn sends, and where its exchange is kept.

    `messages` are the whole request's (system prompt first); `params` are the conversation's,
    those the model does not take are left out here. A re-run gives its exact `body` instead.
    With history, `prompt` is stored before the reply (None for Continue, which grows the
    stored reply at `resume_position`, and for requests outside a conversation).
    """

    model: str
    messages: Sequence[ChatMessage] = ()
    params: ChatParams = field(default_factory=ChatParams)
    body: dict[str, Any] | None = None
    prompt: ChatMessage | None = None
    settings: ConversationSettings | None = None
    resume_position: int | None = None

    def sent_params(self) -> ChatParams:
        return self.params.without_unsupported(lookup(self.model))

    def build(self) -> dict[str, Any]:
        """The body to send (`InvalidRequest` when it must not be sent)."""
        if self.body is not None:
            return dict(self.body)
        return build_request(self.model, list(self.messages), self.sent_params())

    def bound_params(self, body: dict[str, Any]) -> ChatParams:
        """What bounds the reply's cost: its output limit and number of choices."""
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        choices = body.get("n")
        return ChatParams(
            max_output_tokens=limit if isinstance(limit, int) else None,
            n=choices if isinstance(choices, int) else None,
        )


@dataclass
class TurnHooks:
    """What the surface is told as the turn goes; every hook is optional.

    `before_counting(model)` runs before tiktoken is used (the window serialises heavy imports
    through it); `on_event` follows each event once the reply has folded it in; `on_checked`
    once the request passed its checks and is about to be sent; `on_settled` once the reply
    is stored and its usage recorded (the status bar's totals).
    """

    before_counting: Callable[[str], Awaitable[None]] | None = None
    on_checked: Callable[[], None] | None = None
    on_event: Callable[[StreamEvent], None] | None = None
    on_retry: RetryListener | None = None
    on_settled: Callable[[Reply], Awaitable[None]] | None = None


@dataclass
class Turn:
    """The turn engine of one surface: its client, ledger tag, budget and history.

    `client` is a callable so a surface always sends on the current connection.
    """

    client: Callable[[], ChatClient | None]
    source: Source
    ledger: Callable[[], UsageLedger | None] = lambda: None
    budget: BudgetPolicy | None = None
    not_connected: UserFacingError = field(
        default_factory=lambda: NotConnected(
            "Not connected yet", "Wait a moment for Chatdesk to finish starting, then send again."
        )
    )
    clock: Clock = time.perf_counter

    async def run(
        self,
        plan: TurnPlan,
        reply: Reply | None = None,
        *,
        saved: SavedConversation | None = None,
        hooks: TurnHooks | None = None,
    ) -> Reply:
        """Send `plan` and stream its answer into `reply` (a new one unless given); the reply.

        Every ending but a cancellation returns: read `reply.state` (and `reply.problem`).
        """
        hooks = hooks or TurnHooks()
        reply = reply if reply is not None else Reply(asked_model=plan.model)
        reply.asked_model = reply.asked_model or plan.model
        recorder: ReplyRecorder | None = None
        try:
            client = self.client()
            if client is None:
                raise self.not_connected
            body = plan.build()
            reply.body = body
            seed = body.get("seed")
            reply.seed = seed if isinstance(seed, int) else None
            await self._check(plan, body, hooks)
            if hooks.on_checked is not None:
                hooks.on_checked()
            recorder = self._begin_saving(plan, reply, saved)
            reply.started_at = self.clock()
            async for event in client.stream_chat(body, on_retry=hooks.on_retry):
                reply.apply(event, self.clock)
                if hooks.on_event is not None:
                    hooks.on_event(event)
                if recorder is not None and reply.arrived:
                    recorder.changed()
        except asyncio.CancelledError:
            reply.state = RunState.STOPPED
            await self._settle(reply, recorder, saved, hooks)
            raise
        except SendDeclined as declined:
            reply.state, reply.problem = RunState.DECLINED, declined
        except UserFacingError as failure:
            log.info("%s turn failed: %s", self.source.value, failure)
            reply.state, reply.problem = RunState.FAILED, failure
        except Exception as bug:
            # Not a failure anyone classified (a bug, or a hook that raised): the reply is
            # still stored and paid for before the error goes on to whoever reports bugs.
            reply.state = RunState.FAILED
            reply.problem = UserFacingError(f"Stopped by an error ({type(bug).__name__})", "")
            await self._settle(reply, recorder, saved, hooks)
            raise
        else:
            reply.state = RunState.DONE
        await self._settle(reply, recorder, saved, hooks)
        return reply

    async def _check(self, plan: TurnPlan, body: dict[str, Any], hooks: TurnHooks) -> None:
        """Count the request when it must be, then check the context window and the budget."""
        budget = self.budget
        asks = budget is not None and budget.may_ask
        messages = list(plan.messages)
        fits_uncounted = plan.body is not None or preflight.surely_fits(
            plan.model, messages, plan.sent_params()
        )
        if fits_uncounted and not asks:
            return
        if hooks.before_counting is not None:
            await hooks.before_counting(plan.model)
        estimate = await asyncio.get_running_loop().run_in_executor(
            None, preflight.estimate_body, body
        )
        preflight.ensure_fits(estimate)
        if budget is not None and asks:
            await budget.check([(estimate, plan.bound_params(body))])

    def _begin_saving(
        self, plan: TurnPlan, reply: Reply, saved: SavedConversation | None
    ) -> ReplyRecorder | None:
        if saved is None:
            return None
        if plan.resume_position is not None:
            return saved.resume_reply(plan.resume_position, snapshot(reply))
        if plan.prompt is not None:
            settings = plan.settings or ConversationSettings(plan.model, "", plan.params)
            saved.add_user(plan.prompt, settings)
        return saved.begin_reply(plan.model, snapshot(reply))

    async def _settle(
        self,
        reply: Reply,
        recorder: ReplyRecorder | None,
        saved: SavedConversation | None,
        hooks: TurnHooks,
    ) -> None:
        """Give the reply its usage, record it, and store how the reply ended."""
        reply.ended_at = self.clock()
        stopped_again = False
        if reply.usage is None and reply.accepted and reply.body is not None:
            try:
                reply.usage = await self._estimate(reply, hooks)
            except asyncio.CancelledError:
                # Stopped again while counting (a quit): store the reply all the same.
                log.warning("stopped while estimating a reply's usage: not recorded")
                stopped_again = True
        if reply.usage is not None and not stopped_again:
            try:
                # In a worker thread: another process writing the database can hold the lock.
                await asyncio.shield(
                    asyncio.get_running_loop().run_in_executor(
                        None, self._record, reply.billed_model, reply.usage
                    )
                )
            except asyncio.CancelledError:
                # Stopped again meanwhile: the row is still written, in its thread.
                stopped_again = True
        if saved is not None and recorder is not None:
            state, note = reply.ending()
            saved.finish_reply(
                recorder,
                ReplyEnding(
                    content=reply.text,
                    state=state,
                    note=note,
                    model=reply.answered_by or None,
                    finish_reason=reply.finish_reason,
                    choices=reply.texts(),
                    logprobs=reply.stored_logprobs(),
                    usage=reply.usage,
                    system_fingerprint=reply.fingerprint,
                    seed=reply.seed if reply.rerunnable else None,
                ),
            )
        if stopped_again:
            raise asyncio.CancelledError
        if hooks.on_settled is not None:
            await hooks.on_settled(reply)

    async def _estimate(self, reply: Reply, hooks: TurnHooks) -> Usage:
        """What the server would have billed for the prompt and the text that arrived."""
        assert reply.body is not None
        body = reply.body
        # Only this request's text: a continued reply's earlier part was billed before.
        texts = reply.texts()
        if reply.continuing is not None and reply.choices.get(0):
            texts = ["".join(reply.choices[0][1:])]
        if hooks.before_counting is not None:
            await hooks.before_counting(reply.asked_model)
        # Shielded: the count finishes in its thread even if the turn is cancelled meanwhile.
        return await asyncio.shield(
            asyncio.get_running_loop().run_in_executor(None, usage_estimate.from_body, body, texts)
        )

    def _record(self, model_id: str, usage: Usage) -> None:
        ledger = self.ledger()
        if ledger is None:
            return
        try:
            ledger.record(model_id, usage, self.source)
        except sqlite3.Error:
            log.warning("could not record usage in the ledger", exc_info=True)
