"""Running the open conversation's turns through the turn engine, and showing how each ended.

Each turn streams into its session's `Reply`; the view follows only while that session is the
one on screen (a session left streaming in the background keeps its history row current, not
the view). Mixed into `ChatController`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from functools import partial
from typing import Any

from app.core.as_code import Endpoint, SentRequest
from app.core.catalog import lookup
from app.core.events import ResponseStarted, RetryScheduled, StreamEvent, TextDelta, UsageReported
from app.core.failures import ApiFailure
from app.core.messages import ChatMessage
from app.core.reply import Reply, RunState
from app.core.store.ledger import Source
from app.core.store.records import MessageState
from app.core.turn import Turn, TurnHooks, TurnPlan
from app.ui.attachments.area import Attachment
from app.ui.chat.parts import ControllerParts
from app.ui.chat.provenance import reply_info, reproduce_offer
from app.ui.chat.session import MAX_STREAMING, ChatSession, FailedTurn
from app.ui.chat.stored_pages import shown_message, with_image_names
from app.ui.tasks import cancel_and_wait, report_bug

_RETRY_MESSAGE_MS = 8000


class Turns(ControllerParts):
    """The window's turns."""

    # Turns

    def send(
        self,
        prompt: str,
        images: tuple[Attachment, ...] = (),
        *,
        message: ChatMessage | None = None,
    ) -> asyncio.Task[None]:
        """Start a turn for `prompt` and `images` (or `message` as it stands): the exchange is
        shown and kept at once, in the open conversation; the task streams its reply."""
        return self._start(self._turn_for(prompt, images, message=message))

    def _start(self, turn: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(turn)
        session = self._session
        session.task = task
        task.add_done_callback(partial(self._on_task_done, session))
        return task

    def too_many_streaming(self) -> bool:
        """Say so when `MAX_STREAMING` replies stream already; True when nothing may be sent."""
        if len(self._background) < MAX_STREAMING:
            return False
        self._banner.show_problem(
            f"{MAX_STREAMING} replies are still streaming",
            "Wait for one of them to finish (or open it and stop it), then send again. "
            "Your message is kept.",
        )
        return True

    def _turn_for(
        self,
        prompt: str,
        images: tuple[Attachment, ...] = (),
        *,
        message: ChatMessage | None = None,
    ) -> Coroutine[Any, Any, None]:
        """Show the exchange and return the turn that streams its reply.

        Done before the task starts: by the time it runs, the user may have opened another
        conversation, and the turn belongs to the one it was sent in.
        """
        session = self._session
        session.sending = images
        # A new turn goes at the end: the view shows the end again if it was scrolled back.
        self._pages.to_end()
        self._pages.mark_changed()
        start = len(session.messages)
        self._begin(session)
        if message is None:
            message = ChatMessage.user(prompt, tuple(i.part for i in images))
            shown = with_image_names(prompt, [image.name for image in images])
        else:
            shown = shown_message(message)
        session.messages.append(message)
        self._check_parameters()
        self._view.add_user_message(shown)
        self._view.begin_reply(session.model, choices=session.params.n or 1)
        reply = session.reply = Reply(asked_model=session.model)
        self.reply_started.emit()
        plan = TurnPlan(
            session.model,
            messages=session.with_system_prompt(),
            params=session.params,
            prompt=message,
            settings=session.settings(),
        )
        return self._run(session, plan, reply, start, prompt)

    def _begin(self, session: ChatSession) -> None:
        session.failed_turn = None
        session.cut_off = None
        session.answered = None
        self._banner.clear_problem()
        # A stopped reply's usage is not the previous reply's: clear until it is known.
        self._status.clear_usage()

    async def _run(
        self, session: ChatSession, plan: TurnPlan, reply: Reply, start: int, prompt: str
    ) -> None:
        """Run the turn of `plan` into `reply` and end it on screen however it ends."""
        hooks = TurnHooks(
            before_counting=self.background.counting,
            on_checked=partial(self._on_turn_checked, session, reply),
            on_event=partial(self._on_turn_event, session),
            on_retry=partial(self._on_client_retry_scheduled, session),
            on_settled=self._on_turn_settled,
        )
        try:
            await self._turn(Source.WINDOW, with_budget=True).run(
                plan, reply, saved=session.saved, hooks=hooks
            )
        finally:
            self._end(session, reply, start, prompt)

    def _turn(self, source: Source, *, with_budget: bool) -> Turn:
        spend = self._spend
        return Turn(
            client=lambda: self._client,
            source=source,
            ledger=lambda: spend.ledger if spend is not None else None,
            budget=self._budget() if with_budget else None,
            not_connected=self._no_client,
        )

    def _on_turn_checked(self, session: ChatSession, reply: Reply) -> None:
        if self._client is not None and reply.body is not None:
            session.last_request = SentRequest(reply.body, Endpoint.of(self._client.config))

    def _on_turn_event(self, session: ChatSession, event: StreamEvent) -> None:
        if session is not self._session:
            return  # streaming in the background: the history row follows it
        match event:
            case TextDelta(choice=choice, text=text):
                self._view.append_reply(text, choice)
            case ResponseStarted(rate_limits=limits):
                self._status.show_rate_limits(limits)
            case UsageReported(usage=usage) if session.reply is not None:
                self._status.show_usage(usage, lookup(session.reply.billed_model))

    async def _on_turn_settled(self, reply: Reply) -> None:
        if self._spend is not None:
            await self._spend.on_turn_settled(reply)

    def _on_client_retry_scheduled(self, session: ChatSession, event: RetryScheduled) -> None:
        if session is not self._session:
            return
        wait = f" in {event.wait_s:g} s" if event.wait_s else ""
        why = (
            f"The server answered {event.status}"
            if event.status is not None
            else "No answer from the server"
        )
        self._retry_note = f"{why}; retrying{wait} ({event.attempt}/{event.max_retries})…"
        self._status.showMessage(self._retry_note, _RETRY_MESSAGE_MS)

    def _end(self, session: ChatSession, reply: Reply, start: int, prompt: str) -> None:
        """Show how the turn ended; a session in the background only keeps its messages."""
        shown = session is self._session
        if reply.arrived:
            message = ChatMessage.assistant(reply.text)
            if reply.continuing is not None:
                session.messages[-1] = message
            else:
                session.messages.append(message)
        if shown:
            self._show_ending(session, reply, start, prompt)
            # "Retrying…" must not outlive the request: the banner or the answer says the rest.
            if self._retry_note and self._status.currentMessage() == self._retry_note:
                self._status.clearMessage()
            self._retry_note = ""
        # A pasted picture can be tens of MB; a failed turn keeps its own reference.
        session.sending = ()
        if shown:
            self.reply_ended.emit()
        else:
            self._ended_behind(session)

    def _ended_behind(self, session: ChatSession) -> None:
        """A reply that streamed behind the open conversation ended (it is stored): opening
        its conversation now reads it from the history; the sidebar shows it unseen."""
        conversation_id = session.conversation_id
        if conversation_id is None or self._background.get(conversation_id) is not session:
            return
        del self._background[conversation_id]
        self._unseen.add(conversation_id)
        self.background_changed.emit(self.streaming, frozenset(self._unseen))

    def _show_ending(self, session: ChatSession, reply: Reply, start: int, prompt: str) -> None:
        state, note = reply.ending()
        if reply.state is RunState.DONE:
            self._view.end_reply(choice_notes=reply.notes())
            if reply.finish_reason == "length":
                session.cut_off = (MessageState.COMPLETE, note)
                self._view.set_continuable(True)
            self._show_provenance(session, reply, finished=True)
            return
        if reply.arrived:
            self._view.end_reply(note)
            session.cut_off = (state, note)
            self._view.set_continuable(True)
            self._show_provenance(session, reply, finished=False)
            if reply.state is RunState.FAILED and reply.continuing is None:
                # Retry asks for the whole turn again; a continued reply is carried on instead.
                session.failed_turn = FailedTurn(prompt, start, session.sending)
        elif reply.continuing is not None:
            # Nothing more arrived for a continued reply: it stays as it was, still continuable.
            self._view.end_reply(reply.continuing[1])
            session.cut_off = reply.continuing
            self._view.set_continuable(True)
        else:
            self._withdraw(session, start, prompt)
        problem = reply.problem
        if reply.state is RunState.FAILED and problem is not None:
            retryable = isinstance(problem, ApiFailure) and problem.retryable
            can_retry = session.failed_turn is not None or (
                not reply.arrived and reply.continuing is None and retryable
            )
            retry_after = problem.retry_after if isinstance(problem, ApiFailure) else None
            self._banner.show_problem(
                problem.headline, problem.remedy, can_retry=can_retry, retry_after=retry_after
            )

    def _withdraw(self, session: ChatSession, start: int, prompt: str) -> None:
        session.forget_from(start)
        self._view.rollback_turn()
        self._composer.restore_draft(prompt)
        if self._images is not None:
            self._images.restore(session.sending)

    def _show_provenance(self, session: ChatSession, reply: Reply, *, finished: bool) -> None:
        """Name the reply's model, build and seed; a finished one may be re-run with its seed."""
        offer = None
        if finished and reply.rerunnable and reply.body is not None:
            if reply.seed is not None:
                session.answered = self.rerun_of(reply)
            offer = reproduce_offer(reply.seed, session.params.seed)
        self._view.set_reply_info(reply_info(reply, session.model), offer)

    def stop(self) -> None:
        """Stop the open conversation's reply, keeping what arrived."""
        if self._session.task is not None:
            self._session.task.cancel()

    async def stop_and_wait(self) -> None:
        """Stop every reply, on screen and behind it, and wait until each is stored."""
        tasks = [s.task for s in (self._session, *self._background.values())]
        await asyncio.gather(*(cancel_and_wait(task) for task in tasks))

    def _on_task_done(self, session: ChatSession, task: asyncio.Task[None]) -> None:
        if session.task is task:
            session.task = None
        # A failed request is handled inside the turn; what escapes it is a bug.
        report_bug(task)
