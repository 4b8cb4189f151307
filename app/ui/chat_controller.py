"""One conversation in one window: turns the composer's text into a streamed reply.

The controller owns the conversation (a list of `ChatMessage`) and the task streaming the
current reply. The widgets only render what it tells them and forward what the user does.

What happens to a turn that does not finish:
- Stopped after text arrived: the partial answer stays, in the view and in the conversation.
- Stopped before any text: the turn is withdrawn and the draft goes back into the composer.
- Failed after text arrived: the partial answer stays; Retry withdraws it and asks again.
- Failed before any text: the turn is withdrawn and the draft goes back into the composer.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from app.core import preflight
from app.core.catalog import lookup
from app.core.client import ChatClient
from app.core.events import (
    ChoiceFinished,
    ReplyMeta,
    ResponseStarted,
    RetryScheduled,
    StreamEvent,
    TextDelta,
    UsageReported,
)
from app.core.failures import ApiFailure
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.problems import UserFacingError
from app.core.request import build_request
from app.ui.chat_view import ChatView
from app.ui.composer import Composer
from app.ui.error_banner import ErrorBanner
from app.ui.status_bar import StatusBar

log = logging.getLogger(__name__)

STOPPED_NOTE = "Stopped."
_FINISH_NOTES = {
    "length": "The reply reached its token limit and was cut short.",
    "content_filter": "The reply was cut short by the content filter.",
}
_RETRY_MESSAGE_MS = 8000


class NotConnected(UserFacingError):
    """Sending was attempted before any connection was configured."""


@dataclass
class _Reply:
    """What has arrived of the reply being streamed (choice 0)."""

    parts: list[str] = field(default_factory=list)
    model: str = ""
    finish_reason: str = ""

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass(frozen=True)
class _FailedTurn:
    """A turn that failed with its partial answer kept, for Retry to withdraw and ask again."""

    prompt: str
    start: int


class ChatController(QObject):
    """Sends the conversation and streams replies into the view; one per window."""

    reply_started = Signal()
    reply_ended = Signal()

    def __init__(
        self,
        *,
        view: ChatView,
        composer: Composer,
        banner: ErrorBanner,
        status: StatusBar,
        model: str,
        client: ChatClient | None = None,
        system_prompt: str = "",
        params: ChatParams | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._view = view
        self._composer = composer
        self._banner = banner
        self._status = status
        self._model = model
        self._client = client
        self._no_client: UserFacingError = NotConnected(
            "Not connected yet", "Wait a moment for Chatdesk to finish starting, then send again."
        )
        self._system_prompt = system_prompt
        self.params = params or ChatParams()
        self._conversation: list[ChatMessage] = self._fresh_conversation()
        self._task: asyncio.Task[None] | None = None
        self._failed_turn: _FailedTurn | None = None
        # Bumped by a new chat so a cancelled turn does not write into the next conversation.
        self._generation = 0
        composer.submitted.connect(self.on_composer_submitted)
        banner.retry_clicked.connect(self.on_banner_retry_clicked)

    @property
    def conversation(self) -> tuple[ChatMessage, ...]:
        return tuple(self._conversation)

    @property
    def model(self) -> str:
        return self._model

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The task streaming the current reply, if any."""
        return self._task

    def set_model(self, model: str) -> None:
        self._model = model

    def set_client(
        self, client: ChatClient | None, *, missing: UserFacingError | None = None
    ) -> None:
        """Use `client` from now on; without one, sending shows `missing` in the banner."""
        self._client = client
        if missing is not None:
            self._no_client = missing

    def on_composer_submitted(self) -> None:
        if self.busy or not self._composer.text().strip():
            return
        self.send(self._composer.take_text())

    def on_banner_retry_clicked(self) -> None:
        if self.busy:
            return
        failed, self._failed_turn = self._failed_turn, None
        if failed is None:
            self.on_composer_submitted()
            return
        del self._conversation[failed.start :]
        self._view.rollback_turn()
        self.send(failed.prompt)

    def send(self, prompt: str) -> asyncio.Task[None]:
        """Start a turn for `prompt`; the task is kept until it ends."""
        task = asyncio.ensure_future(self.run_turn(prompt))
        self._task = task
        task.add_done_callback(self._on_task_done)
        return task

    def stop(self) -> None:
        """Stop the reply being streamed, keeping what arrived."""
        if self._task is not None:
            self._task.cancel()

    async def stop_and_wait(self) -> None:
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.wait({task})

    def new_chat(self) -> None:
        """Forget the conversation (stopping any reply) and start an empty one."""
        self._generation += 1
        self.stop()
        self._conversation = self._fresh_conversation()
        self._failed_turn = None
        self._view.clear_conversation()
        self._banner.clear_problem()
        self._status.clear_usage()
        self._composer.setFocus()

    async def run_turn(self, prompt: str) -> None:
        """Send the conversation plus `prompt` and stream the reply into the view."""
        generation = self._generation
        start = len(self._conversation)
        self._failed_turn = None
        self._banner.clear_problem()
        # A stopped reply reports no usage; the previous reply's must not pass for it.
        self._status.clear_usage()
        self._conversation.append(ChatMessage.user(prompt))
        self._view.add_user_message(prompt)
        self._view.begin_reply(self._model)
        self.reply_started.emit()
        reply = _Reply()
        try:
            await self._stream(reply)
        except asyncio.CancelledError:
            if generation == self._generation:
                self._end_stopped(start, prompt, reply)
            raise
        except UserFacingError as failure:
            self._end_failed(start, prompt, reply, failure)
        else:
            self._end_finished(reply)
        finally:
            self.reply_ended.emit()

    async def _stream(self, reply: _Reply) -> None:
        client = self._client
        if client is None:
            raise self._no_client
        body = build_request(self._model, self._conversation, self.params)
        # Counting tokens imports tiktoken in a worker thread; it must not overlap the SDK
        # import, which may still be running just after start-up (concurrent imports are
        # unsafe once PySide6 is loaded).
        await client.warm_up()
        loop = asyncio.get_running_loop()
        estimate = await loop.run_in_executor(
            None, preflight.estimate, self._model, list(self._conversation), self.params
        )
        preflight.ensure_fits(estimate)
        async for event in client.stream_chat(body, on_retry=self.on_client_retry_scheduled):
            self._apply(event, reply)

    def _apply(self, event: StreamEvent, reply: _Reply) -> None:
        match event:
            case ResponseStarted(rate_limits=limits):
                self._status.show_rate_limits(limits)
            case ReplyMeta(model=model):
                reply.model = model
            # Only the first choice is shown: nothing in the window asks for more yet.
            case TextDelta(choice=0, text=text):
                reply.parts.append(text)
                self._view.append_reply(text)
            case ChoiceFinished(choice=0, reason=reason):
                reply.finish_reason = reason
            case UsageReported(usage=usage):
                self._status.show_usage(usage, lookup(reply.model or self._model))

    def on_client_retry_scheduled(self, event: RetryScheduled) -> None:
        wait = f" in {event.wait_s:g} s" if event.wait_s else ""
        self._status.showMessage(
            f"The server answered {event.status}; retrying{wait} "
            f"({event.attempt}/{event.max_retries})…",
            _RETRY_MESSAGE_MS,
        )

    def _end_finished(self, reply: _Reply) -> None:
        self._conversation.append(ChatMessage.assistant(reply.text))
        self._view.end_reply(_FINISH_NOTES.get(reply.finish_reason, ""))

    def _end_stopped(self, start: int, prompt: str, reply: _Reply) -> None:
        if reply.parts:
            self._conversation.append(ChatMessage.assistant(reply.text))
            self._view.end_reply(STOPPED_NOTE)
        else:
            self._withdraw(start, prompt)

    def _end_failed(self, start: int, prompt: str, reply: _Reply, failure: UserFacingError) -> None:
        log.info("reply failed: %s", failure)
        if reply.parts:
            self._conversation.append(ChatMessage.assistant(reply.text))
            self._view.end_reply(f"Cut off: {failure.headline}.")
            self._failed_turn = _FailedTurn(prompt, start)
            can_retry = True
        else:
            self._withdraw(start, prompt)
            can_retry = isinstance(failure, ApiFailure) and failure.retryable
        self._banner.show_problem(failure.headline, failure.remedy, can_retry=can_retry)

    def _withdraw(self, start: int, prompt: str) -> None:
        del self._conversation[start:]
        self._view.rollback_turn()
        self._composer.restore_draft(prompt)

    def _fresh_conversation(self) -> list[ChatMessage]:
        return [ChatMessage.system(self._system_prompt)] if self._system_prompt else []

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if self._task is task:
            self._task = None
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            # A bug, not a failed request: those are handled inside the turn.
            sys.excepthook(type(exc), exc, exc.__traceback__)
