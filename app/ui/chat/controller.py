"""One conversation in one window: turns the composer's text into a streamed reply.

The controller owns the conversation (a list of `ChatMessage`) and the task streaming the
current reply. The widgets only render what it tells them and forward what the user does.

What happens to a turn that does not finish:
- Stopped after text arrived: the partial answer stays, in the view and in the conversation.
- Stopped before any text: the turn is withdrawn and the draft goes back into the composer.
- Failed after text arrived: the partial answer stays; Retry withdraws it and asks again.
- Failed before any text: the turn is withdrawn and the draft goes back into the composer.
Attached images go and come back with the draft's text.

The last exchange can be redone from the transcript: Regenerate asks again for the last reply
(the exchange is replaced by a new one for the same message), Edit puts the last message back
into the composer and sending it replaces that exchange. With several choices (n > 1) all of
them stream; the conversation continues with the one shown.

With a history (`SavedConversation`), every change is written as it happens: the prompt when it
is sent, the reply while it streams, how it ended. A reply cut off (stopped, failed, or left
by a crash) can be continued: Continue streams more text into the same message.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, Signal

from app.core import preflight
from app.core.as_code import Endpoint, SentRequest
from app.core.budget import SendDeclined
from app.core.catalog import lookup
from app.core.client import ChatClient
from app.core.events import (
    ChoiceFinished,
    LogprobsDelta,
    ReplyMeta,
    ResponseStarted,
    RetryScheduled,
    StreamEvent,
    TextDelta,
    UsageReported,
)
from app.core.failures import ApiFailure
from app.core.messages import ChatMessage, Role
from app.core.params import ChatParams
from app.core.problems import UserFacingError
from app.core.reply import STOPPED_NOTE, Reply, snapshot, stopped_note
from app.core.reproduce import RerunSubject
from app.core.request import build_request, validate
from app.core.store.records import MessageState, StoredConversation, StoredMessage
from app.core.store.reply_recorder import ReplyRecorder
from app.core.store.saved_conversation import (
    ConversationSettings,
    ReplyEnding,
    SavedConversation,
)
from app.core.timed_stream import RunState, TimedReply
from app.ui.attachments.area import Attachment, ImageArea
from app.ui.background import BackgroundImports
from app.ui.chat.composer import Composer
from app.ui.chat.provenance import reply_from, reply_info, reproduce_offer, stored_subject
from app.ui.chat.request_gauge import DraftRequest, RequestEstimator
from app.ui.chat.seed_rerun import SeedRerun
from app.ui.chat.stored_pages import StoredPages, shown_message, with_image_names
from app.ui.chat.view import ChatView
from app.ui.tasks import cancel_and_wait, report_bug
from app.ui.usage.spend_tracker import SpendTracker
from app.ui.widgets.error_banner import ErrorBanner
from app.ui.widgets.status_bar import StatusBar

log = logging.getLogger(__name__)

_RETRY_MESSAGE_MS = 8000
_SEED_MESSAGE_MS = 10_000
# Sent (and not kept) after a cut-off reply to have the model carry on where it stopped.
CONTINUE_PROMPT = (
    "Continue your previous reply from exactly where it stopped, without repeating any of it "
    "and without commenting on the interruption."
)
_CONTINUABLE_STATES = frozenset(
    {MessageState.INTERRUPTED, MessageState.STOPPED, MessageState.FAILED}
)


class NotConnected(UserFacingError):
    """Sending was attempted before any connection was configured."""


# Asked after the pre-send estimate, before anything is sent: whether to go ahead.
ConfirmSpend = Callable[[preflight.RequestEstimate, ChatParams], Awaitable[bool]]


@dataclass(frozen=True)
class _FailedTurn:
    """A turn that failed with its partial answer kept, for Retry to withdraw and ask again."""

    prompt: str
    start: int
    images: tuple[Attachment, ...] = ()


class ChatController(QObject):
    """Sends the conversation and streams replies into the view; one per window."""

    reply_started = Signal()
    reply_ended = Signal()
    # Another conversation was opened or a new chat started (None: not stored yet).
    conversation_opened = Signal(object)
    # The model, parameters or system prompt changed other than by the panel (a new chat).
    parameters_changed = Signal()
    # What the server would reject about the parameters, as sentences (empty when fine).
    parameter_problems_changed = Signal(list)

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
        spend: SpendTracker | None = None,
        saved: SavedConversation | None = None,
        confirm_spend: ConfirmSpend | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._confirm_spend = confirm_spend
        self._view = view
        self._composer = composer
        self._banner = banner
        self._status = status
        self._spend = spend
        self._saved = saved
        # Which stored messages of an opened conversation the view shows.
        self._pages = StoredPages(view, self._read_stored, lambda: self._cut_off is not None)
        # How the last reply was stored, when it was cut off and can be continued.
        self._cut_off: tuple[MessageState, str] | None = None
        self._model = model
        self._client = client
        self._no_client: UserFacingError = NotConnected(
            "Not connected yet", "Wait a moment for Chatdesk to finish starting, then send again."
        )
        self._system_prompt = system_prompt
        self.params = params or ChatParams()
        # What a new chat starts from.
        self._default_model = model
        self._default_system_prompt = system_prompt
        self._default_params = self.params
        self._parameter_problems: list[str] = []
        self._conversation: list[ChatMessage] = self._fresh_conversation()
        self._task: asyncio.Task[None] | None = None
        self._failed_turn: _FailedTurn | None = None
        self._reply: Reply | None = None
        # The status bar's note of the SDK retrying the current request (stale once it ends).
        self._retry_note = ""
        # What View as code shows: the body of this conversation's last request, as sent.
        self._last_request: SentRequest | None = None
        # The request behind the last reply, when it sent a seed: "Re-run with same seed".
        self._answered: RerunSubject | None = None
        # The last user message while the user edits it in the composer.
        self._editing: ChatMessage | None = None
        # Bumped by a new chat so a cancelled turn does not write into the next conversation.
        self._generation = 0
        # Images for the next message (see `attach_images`) and those of the turn being sent.
        self._images: ImageArea | None = None
        self._sending: tuple[Attachment, ...] = ()
        self._connected = asyncio.Event()
        if client is not None:
            self._connected.set()
        self.background = BackgroundImports(self.client_ready)
        self.estimator = RequestEstimator(self.draft_request, self.background, parent=self)
        for changed in (self.parameters_changed, self.reply_started, self.reply_ended):
            changed.connect(self.on_request_changed)
        composer.textChanged.connect(self.estimator.schedule)
        composer.submitted.connect(self.on_composer_submitted)
        composer.textChanged.connect(self.on_composer_text_changed)
        banner.retry_clicked.connect(self.on_banner_retry_clicked)
        view.regenerate_requested.connect(self.on_view_regenerate_requested)
        view.edit_requested.connect(self.on_view_edit_requested)
        view.edit_cancelled.connect(self.on_view_edit_cancelled)
        view.choice_selected.connect(self.on_view_choice_selected)
        view.continue_requested.connect(self.on_view_continue_requested)
        view.earlier_requested.connect(self._pages.earlier)
        view.later_requested.connect(self._pages.later)
        view.seed_requested.connect(self.on_view_seed_requested)
        self.reruns = SeedRerun(
            view,
            subject=self.rerun_subject,
            client=lambda: self._client,
            status=status,
            spend=spend,
            parent=self,
        )

    @property
    def conversation(self) -> tuple[ChatMessage, ...]:
        """The messages sent with the next request: the system prompt (if any), then the turns."""
        return tuple(self._with_system_prompt())

    @property
    def system_prompt(self) -> str:
        return self._system_prompt

    @property
    def parameter_problems(self) -> list[str]:
        return list(self._parameter_problems)

    @property
    def model(self) -> str:
        return self._model

    @property
    def conversation_id(self) -> int | None:
        """The open conversation's id in the history (None until its first message is sent)."""
        return self._saved.conversation_id if self._saved is not None else None

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The task streaming the current reply, if any."""
        return self._task

    @property
    def reply(self) -> Reply | None:
        """The reply being streamed (set before `reply_started`), or the last one streamed."""
        return self._reply

    @property
    def last_request(self) -> SentRequest | None:
        """The last request sent in this conversation and where it went (None before any)."""
        return self._last_request

    @property
    def client(self) -> ChatClient | None:
        return self._client

    def rerun_subject(self) -> RerunSubject | None:
        """The last reply's request, to send again unchanged (None: none with a seed)."""
        return None if self.busy else self._answered

    def on_view_seed_requested(self) -> None:
        """Give the conversation a seed, so that its next replies can be re-run with it."""
        seed = self.params.seed
        if seed is None:
            # Small enough to read and type back; any 64-bit value would do for the API.
            seed = secrets.randbelow(1_000_000) + 1
            self.set_params(replace(self.params, seed=seed))
            self.parameters_changed.emit()
        self._view.set_reply_info(None, None)
        self._status.showMessage(
            f"Seed {seed} is set for this conversation: its next replies can be re-run with it "
            "(Parameters to change it).",
            _SEED_MESSAGE_MS,
        )

    def adopt_exchange(self, message: ChatMessage, answer: TimedReply, params: ChatParams) -> bool:
        """Continue the conversation with `message` and an answer obtained elsewhere.

        A comparison's pick: the exchange is added as a sent turn would be, on screen and in
        the history, and its model and `params` become the conversation's. Its cost was
        counted where it was sent. False (nothing changes) while a reply is streaming or when
        the answer did not finish.
        """
        if self.busy or answer.state is not RunState.DONE:
            return False
        self._stop_editing()
        self._pages.to_end()
        self._pages.mark_changed()
        self._failed_turn = None
        self._banner.clear_problem()
        self._model, self.params = answer.model, params
        if self._composer.text().strip() == message.text.strip():
            self._composer.take_text()
        if self._images is not None and message.images and self._images.parts() == message.images:
            self._images.take()
        self._conversation.append(message)
        self._cut_off = None
        self._answered = None
        self._view.add_user_message(shown_message(message))
        self._view.begin_reply(self._model)
        self._view.append_reply(answer.text)
        reply = self._reply = reply_from(answer)
        recorder = None
        if self._saved is not None:
            self._saved.add_user(message, self._settings())
            recorder = self._saved.begin_reply(self._model, snapshot(reply))
        if self._client is not None:
            self._last_request = SentRequest(answer.body, Endpoint.of(self._client.config))
        self._end_finished(reply, recorder)
        if answer.usage is not None:
            self._status.show_usage(answer.usage, lookup(answer.answered_by or answer.model))
        self.parameters_changed.emit()
        self._check_parameters()
        return True

    def set_model(self, model: str) -> None:
        if model == self._model:
            return
        self._model = model
        self.parameters_changed.emit()
        self._check_parameters()
        self._save_settings()

    def set_params(self, params: ChatParams) -> None:
        """Use `params` for this conversation from its next request on."""
        self.params = params
        self._check_parameters()
        self.estimator.schedule()
        self._save_settings()

    def set_system_prompt(self, system_prompt: str) -> None:
        """Use `system_prompt` for this conversation from its next request on."""
        self._system_prompt = system_prompt
        self._check_parameters()
        self.estimator.schedule()
        self._save_settings()

    def _settings(self) -> ConversationSettings:
        return ConversationSettings(self._model, self._system_prompt, self.params)

    def _save_settings(self) -> None:
        if self._saved is not None:
            self._saved.update_settings(self._settings())

    def set_defaults(self, *, model: str, system_prompt: str) -> None:
        """What the next new chat starts from (the settings' default model and system prompt)."""
        self._default_model = model
        self._default_system_prompt = system_prompt

    def on_composer_text_changed(self) -> None:
        # Only JSON mode depends on the draft (a message must mention JSON).
        if self.params.json_mode:
            self._check_parameters()

    def set_client(
        self, client: ChatClient | None, *, missing: UserFacingError | None = None
    ) -> None:
        """Use `client` from now on; without one, sending shows `missing` in the banner."""
        self._client = client
        if client is None:
            self._connected.clear()
        else:
            self._connected.set()
        if missing is not None:
            self._no_client = missing

    async def client_ready(self) -> None:
        """Wait for a client and its SDK import, which other heavy imports must not overlap."""
        while self._client is None:
            await self._connected.wait()
        await self._client.warm_up()

    def attach_images(self, images: ImageArea) -> None:
        """Send `images`' attachments with the next message, and count them in the estimate."""
        self._images = images
        images.use_background(self.background)
        images.set_model(self._model)
        images.changed.connect(self.estimator.schedule)

    def draft_request(self) -> DraftRequest:
        """The request sending the draft now would make: model, messages and parameters."""
        images = self._images.parts() if self._images is not None else ()
        draft = self._composer.text()
        messages = self._with_system_prompt()
        if draft.strip() or images:
            messages.append(ChatMessage.user(draft, images))
        return self._model, messages, self.params.without_unsupported(lookup(self._model))

    def on_request_changed(self) -> None:
        if self._images is not None:
            self._images.set_model(self._model)
        self.estimator.schedule()

    def on_composer_submitted(self) -> None:
        images = self._images
        with_images = images is not None and not images.is_empty
        if self.busy or not (self._composer.text().strip() or with_images):
            return
        if self._refused_before_sending():
            return
        if self._may_not_fit():
            # Counted before anything is shown: drawing a huge draft in the transcript only to
            # withdraw it (over the context window) froze the window for seconds.
            task = asyncio.ensure_future(self._submit_once_counted())
            self._task = task
            task.add_done_callback(self._on_task_done)
            return
        self._submit_draft()

    def _submit_draft(self) -> None:
        images = self._images
        taken = images.take() if images is not None else ()
        prompt = self._composer.take_text()
        self.send(prompt, taken, message=self._replace_edited(prompt, taken))

    def _may_not_fit(self) -> bool:
        """The request is not counted yet and is long enough that it may not fit the window."""
        if self.estimator.current() is not None:
            return False
        model, messages, params = self.draft_request()
        return not preflight.surely_fits(model, messages, params)

    async def _submit_once_counted(self) -> None:
        """Count a long draft, then send it if it fits; the draft stays in place until then."""
        draft = self._composer.text()
        model, messages, params = self.draft_request()
        counting = "Counting tokens before sending…"
        self._status.showMessage(counting)
        try:
            await self.background.counting(model)
            estimate = await asyncio.get_running_loop().run_in_executor(
                None, preflight.estimate, model, list(messages), params
            )
            preflight.ensure_fits(estimate)
        except UserFacingError as problem:
            self._banner.show_problem(problem.headline, problem.remedy)
            return
        finally:
            if self._status.currentMessage() == counting:
                self._status.clearMessage()
        # Edited while it was counted: the user is still writing, so nothing is sent.
        if self._composer.text() == draft:
            self._submit_draft()

    def on_view_regenerate_requested(self) -> None:
        """Ask again for the last reply: its exchange is replaced by a new one."""
        last = self._last_exchange()
        if self.busy or last is None or self._conversation[-1].role is not Role.ASSISTANT:
            return
        start, message = last
        self._stop_editing()
        self._forget_from(start)
        self._view.remove_last_exchange()
        self.send(message.text, message=message)

    def on_view_edit_requested(self) -> None:
        """Put the last message back into the composer; sending it replaces its exchange."""
        last = self._last_exchange()
        if self.busy or last is None:
            return
        self._editing = last[1]
        self._composer.restore_draft(last[1].text)
        self._view.set_editing(True)
        self._composer.setFocus()

    def on_view_edit_cancelled(self) -> None:
        self._stop_editing()

    def on_view_choice_selected(self, choice: int) -> None:
        """The conversation continues with the choice the user now sees."""
        if self.busy and self._reply is not None:
            self._reply.selected = choice
        elif self._conversation and self._conversation[-1].role is Role.ASSISTANT:
            text = self._view.last_reply_text()
            self._conversation[-1] = ChatMessage.assistant(text)
            if self._answered is not None:
                self._answered = replace(self._answered, text=text, choice=choice)
            if self._saved is not None:
                self._saved.set_content(len(self._conversation) - 1, text)

    def _last_exchange(self) -> tuple[int, ChatMessage] | None:
        """Where the last user message is in the conversation, and that message."""
        for index in range(len(self._conversation) - 1, -1, -1):
            if self._conversation[index].role is Role.USER:
                return index, self._conversation[index]
        return None

    def _stop_editing(self) -> None:
        self._editing = None
        self._view.set_editing(False)

    def _replace_edited(self, prompt: str, images: tuple[Attachment, ...]) -> ChatMessage | None:
        """When editing: withdraw the last exchange; the message to send in its place."""
        edited = self._editing
        last = self._last_exchange()
        self._stop_editing()
        if edited is None or last is None:
            return None
        self._forget_from(last[0])
        self._view.remove_last_exchange()
        return ChatMessage.user(prompt, edited.images + tuple(i.part for i in images))

    def _refused_before_sending(self) -> bool:
        """Explain what stops the draft from being sent as it is; the draft stays in place."""
        images = self._images
        problem = images.blocking_problem(lookup(self._model)) if images is not None else None
        if images is not None and problem is not None:
            images.show_problem(problem)
            return True
        # Only an estimate of the draft as it stands; while counting, `_stream` checks again.
        estimate = self.estimator.current()
        if estimate is not None and not estimate.fits:
            try:
                preflight.ensure_fits(estimate)
            except preflight.OverContextWindow as too_long:
                self._banner.show_problem(too_long.headline, too_long.remedy)
                return True
        return False

    def on_banner_retry_clicked(self) -> None:
        if self.busy:
            return
        failed, self._failed_turn = self._failed_turn, None
        if failed is None:
            self.on_composer_submitted()
            return
        self._forget_from(failed.start)
        self._view.rollback_turn()
        self.send(failed.prompt, failed.images)

    def send(
        self,
        prompt: str,
        images: tuple[Attachment, ...] = (),
        *,
        message: ChatMessage | None = None,
    ) -> asyncio.Task[None]:
        """Start a turn for `prompt` and `images` (or `message` as it stands); the task is kept."""
        task = asyncio.ensure_future(self.run_turn(prompt, images, message=message))
        self._task = task
        task.add_done_callback(self._on_task_done)
        return task

    def stop(self) -> None:
        """Stop the reply being streamed, keeping what arrived."""
        if self._task is not None:
            self._task.cancel()

    async def stop_and_wait(self) -> None:
        await cancel_and_wait(self._task)

    def new_chat(self) -> None:
        """Forget the conversation (stopping any reply) and start an empty one."""
        self._generation += 1
        self.stop()
        self._conversation = self._fresh_conversation()
        self._model = self._default_model
        self.params = self._default_params
        self._system_prompt = self._default_system_prompt
        self._failed_turn = None
        self._reply = None
        self._last_request = None
        self._answered = None
        self._editing = None
        self._pages.clear()
        self._cut_off = None
        if self._saved is not None:
            self._saved.open(None)
        self._view.clear_conversation()
        self._banner.clear_problem()
        self._status.clear_usage()
        self.parameters_changed.emit()
        self._check_parameters()
        self._composer.setFocus()
        self.conversation_opened.emit(None)

    def open_conversation(
        self, stored: StoredConversation, *, at_position: int | None = None
    ) -> None:
        """Show `stored` (stopping any reply) and continue it from now on.

        Only the last messages are drawn at first, or from `at_position` on (a search hit,
        scrolled to the top); earlier ones come on demand.
        """
        self._generation += 1
        self.stop()
        self._conversation = [message.as_chat_message() for message in stored.messages]
        self._model = stored.model
        self.params = stored.params
        self._system_prompt = stored.system_prompt
        self._failed_turn = None
        self._reply = None
        self._last_request = None
        self._editing = None
        if self._saved is not None:
            self._saved.open(stored.id)
        last = stored.messages[-1] if stored.messages else None
        cut_off = (
            last is not None
            and last.role is Role.ASSISTANT
            and (last.state in _CONTINUABLE_STATES or last.finish_reason == "length")
        )
        self._cut_off = (last.state, last.note) if cut_off and last is not None else None
        self._answered = stored_subject(
            last, self._model, self._with_system_prompt()[:-1], self.params
        )
        self._banner.clear_problem()
        self._status.clear_usage()
        self._pages.open(stored.messages, at_position)
        self.parameters_changed.emit()
        self._check_parameters()
        self.conversation_opened.emit(stored.id)

    def _read_stored(self) -> tuple[StoredMessage, ...] | None:
        """The open conversation's messages as stored now (None if they cannot be read)."""
        saved = self._saved
        if saved is None or saved.conversation_id is None:
            return None
        try:
            return saved.history.load(saved.conversation_id).messages
        except (LookupError, sqlite3.Error):
            log.exception("could not read the conversation again")
            return None

    async def run_turn(
        self,
        prompt: str,
        images: tuple[Attachment, ...] = (),
        *,
        message: ChatMessage | None = None,
    ) -> None:
        """Send the conversation plus `prompt` and stream the reply into the view."""
        generation = self._generation
        self._sending = images
        # A new turn goes at the end: the view shows the end again if it was scrolled back.
        self._pages.to_end()
        self._pages.mark_changed()
        start = len(self._conversation)
        self._failed_turn = None
        self._banner.clear_problem()
        # A stopped reply reports no usage; the previous reply's must not pass for it.
        self._status.clear_usage()
        if message is None:
            message = ChatMessage.user(prompt, tuple(i.part for i in images))
            shown = _shown_prompt(prompt, images)
        else:
            shown = shown_message(message)
        self._conversation.append(message)
        self._cut_off = None
        self._answered = None
        self._check_parameters()
        self._view.add_user_message(shown)
        self._view.begin_reply(self._model, choices=self.params.n or 1)
        reply = self._reply = Reply()
        self.reply_started.emit()
        recorder = None
        if self._saved is not None:
            self._saved.add_user(message, self._settings())
            recorder = self._saved.begin_reply(self._model, snapshot(reply))
        await self._run(reply, recorder, generation, start, prompt)

    def on_view_continue_requested(self) -> None:
        """Carry on a cut-off last reply: more text streams into the same message."""
        if self.busy or not self._conversation or self._conversation[-1].role is not Role.ASSISTANT:
            return
        if not self._conversation[-1].text:
            self.on_view_regenerate_requested()
            return
        self._stop_editing()
        task = asyncio.ensure_future(self.run_continuation())
        self._task = task
        task.add_done_callback(self._on_task_done)

    async def run_continuation(self) -> None:
        generation = self._generation
        self._pages.mark_changed()
        position = len(self._conversation) - 1
        partial = self._conversation[position].text
        self._failed_turn = None
        self._banner.clear_problem()
        self._status.clear_usage()
        self._view.reopen_last_reply(self._model, partial)
        reply = self._reply = Reply(continuing=self._cut_off or (MessageState.STOPPED, ""))
        reply.choices[0] = [partial]
        self._cut_off = None
        self._answered = None
        self.reply_started.emit()
        recorder = None
        if self._saved is not None:
            recorder = self._saved.resume_reply(position, snapshot(reply))
        await self._run(reply, recorder, generation, position, "")

    async def _run(
        self,
        reply: Reply,
        recorder: ReplyRecorder | None,
        generation: int,
        start: int,
        prompt: str,
    ) -> None:
        """Stream `reply` and end the turn however the stream ends."""
        try:
            await self._stream(reply, recorder)
        except asyncio.CancelledError:
            if generation == self._generation:
                self._end_stopped(start, prompt, reply, recorder)
            else:
                # The user moved to another conversation: this one keeps what arrived.
                self._store_ending(recorder, reply, MessageState.STOPPED, stopped_note(reply))
            raise
        except SendDeclined:
            # The user's own choice: nothing to report, the draft goes back as it was.
            if reply.continuing is not None:
                self._put_back(reply, recorder)
            else:
                self._withdraw(start, prompt, recorder)
        except UserFacingError as failure:
            self._end_failed(start, prompt, reply, recorder, failure)
        else:
            self._end_finished(reply, recorder)
        finally:
            # A pasted picture can be tens of MB; a failed turn keeps its own reference.
            self._sending = ()
            # "Retrying…" must not outlive the request: the banner or the answer says the rest.
            if self._retry_note and self._status.currentMessage() == self._retry_note:
                self._status.clearMessage()
            self._retry_note = ""
            self.reply_ended.emit()
        # Usage arrives only once the server has billed the reply, so it is counted even when
        # the stream failed afterwards.
        if reply.usage is not None and self._spend is not None:
            await self._spend.add(reply.model or self._model, reply.usage)

    async def _stream(self, reply: Reply, recorder: ReplyRecorder | None = None) -> None:
        client = self._client
        if client is None:
            raise self._no_client
        # Values the model does not take stay in the conversation's parameters (for a switch
        # back) but are not sent.
        params = self.params.without_unsupported(lookup(self._model))
        messages = self._with_system_prompt()
        if reply.continuing is not None:
            # One continuation of the reply shown, not several alternatives.
            params = replace(params, n=None)
            messages.append(ChatMessage.user(CONTINUE_PROMPT))
        body = build_request(self._model, messages, params)
        reply.seed = params.seed
        # A continuation's request is not the reply's: only a whole reply can be re-run.
        reply.body = body if reply.continuing is None else None
        # Counting tokens imports tiktoken in a worker thread; it must not overlap the SDK
        # import, which may still be running just after start-up, nor Pillow's (concurrent
        # imports are unsafe once PySide6 is loaded): `background` runs them one at a time.
        await self.background.counting(self._model)
        loop = asyncio.get_running_loop()
        estimate = await loop.run_in_executor(
            None, preflight.estimate, self._model, messages, params
        )
        preflight.ensure_fits(estimate)
        if self._confirm_spend is not None and not await self._confirm_spend(estimate, params):
            raise SendDeclined("Not sent")
        self._last_request = SentRequest(body, Endpoint.of(client.config))
        async for event in client.stream_chat(body, on_retry=self.on_client_retry_scheduled):
            self._apply(event, reply)
            if recorder is not None and reply.arrived:
                recorder.changed()

    def _apply(self, event: StreamEvent, reply: Reply) -> None:
        match event:
            case ResponseStarted(rate_limits=limits):
                self._status.show_rate_limits(limits)
            case ReplyMeta(model=model, system_fingerprint=fingerprint):
                reply.model = model
                reply.fingerprint = fingerprint
            case TextDelta(choice=choice, text=text):
                reply.choices.setdefault(choice, []).append(text)
                reply.arrived = True
                self._view.append_reply(text, choice)
            case LogprobsDelta(choice=choice, tokens=tokens):
                # Tuples, not lists: the garbage collector stops tracking tuples of plain
                # values, and a long reply holds hundreds of thousands of them (stored as
                # JSON, they are lists again).
                reply.logprobs.setdefault(choice, []).extend(
                    {"token": t.token, "logprob": t.logprob, "top": t.top} for t in tokens
                )
            case ChoiceFinished(choice=choice, reason=reason):
                reply.finish_reasons[choice] = reason
            case UsageReported(usage=usage):
                reply.usage = usage
                self._status.show_usage(usage, lookup(reply.model or self._model))

    def on_client_retry_scheduled(self, event: RetryScheduled) -> None:
        wait = f" in {event.wait_s:g} s" if event.wait_s else ""
        why = (
            f"The server answered {event.status}"
            if event.status is not None
            else "No answer from the server"
        )
        self._retry_note = f"{why}; retrying{wait} ({event.attempt}/{event.max_retries})…"
        self._status.showMessage(self._retry_note, _RETRY_MESSAGE_MS)

    def _end_finished(self, reply: Reply, recorder: ReplyRecorder | None) -> None:
        self._keep_reply(reply)
        notes = reply.notes()
        self._view.end_reply(choice_notes=notes)
        if reply.finish_reason == "length":
            self._cut_off = (MessageState.COMPLETE, notes.get(reply.selected, ""))
            self._view.set_continuable(True)
        self._store_ending(recorder, reply, MessageState.COMPLETE, notes.get(reply.selected, ""))
        self._show_provenance(reply, finished=True)

    def _end_stopped(
        self, start: int, prompt: str, reply: Reply, recorder: ReplyRecorder | None
    ) -> None:
        if reply.arrived:
            self._keep_reply(reply)
            self._view.end_reply(STOPPED_NOTE)
            self._cut_off = (MessageState.STOPPED, STOPPED_NOTE)
            self._view.set_continuable(True)
            self._store_ending(recorder, reply, MessageState.STOPPED, STOPPED_NOTE)
            self._show_provenance(reply, finished=False)
        elif reply.continuing is not None:
            self._put_back(reply, recorder)
        else:
            self._withdraw(start, prompt, recorder)

    def _end_failed(
        self,
        start: int,
        prompt: str,
        reply: Reply,
        recorder: ReplyRecorder | None,
        failure: UserFacingError,
    ) -> None:
        log.info("reply failed: %s", failure)
        if reply.arrived:
            note = f"Cut off: {failure.headline}."
            self._keep_reply(reply)
            self._view.end_reply(note)
            self._cut_off = (MessageState.FAILED, note)
            self._view.set_continuable(True)
            self._store_ending(recorder, reply, MessageState.FAILED, note)
            self._show_provenance(reply, finished=False)
            # Retry asks for the whole turn again; a continued reply is carried on instead.
            can_retry = reply.continuing is None
            if can_retry:
                self._failed_turn = _FailedTurn(prompt, start, self._sending)
        elif reply.continuing is not None:
            self._put_back(reply, recorder)
            can_retry = False
        else:
            self._withdraw(start, prompt, recorder)
            can_retry = isinstance(failure, ApiFailure) and failure.retryable
        retry_after = failure.retry_after if isinstance(failure, ApiFailure) else None
        self._banner.show_problem(
            failure.headline, failure.remedy, can_retry=can_retry, retry_after=retry_after
        )

    def _keep_reply(self, reply: Reply) -> None:
        message = ChatMessage.assistant(reply.text)
        if reply.continuing is not None:
            self._conversation[-1] = message
        else:
            self._conversation.append(message)

    def _put_back(self, reply: Reply, recorder: ReplyRecorder | None) -> None:
        """Nothing more arrived for a continued reply: it stays as it was, still continuable."""
        assert reply.continuing is not None
        state, note = reply.continuing
        self._view.end_reply(note)
        self._cut_off = reply.continuing
        self._view.set_continuable(True)
        self._store_ending(recorder, reply, state, note)

    def _store_ending(
        self, recorder: ReplyRecorder | None, reply: Reply, state: MessageState, note: str
    ) -> None:
        if self._saved is None or recorder is None:
            return
        ending = ReplyEnding(
            content=reply.text,
            state=state,
            note=note,
            model=reply.model or None,
            finish_reason=reply.finish_reason,
            choices=reply.texts(),
            logprobs=reply.stored_logprobs(),
            usage=reply.usage,
            system_fingerprint=reply.fingerprint,
            # A continued reply came from two requests: no one seed reproduces it.
            seed=reply.seed if reply.body is not None else None,
        )
        self._saved.finish_reply(recorder, ending)

    def _forget_from(self, start: int, recorder: ReplyRecorder | None = None) -> None:
        """Drop messages `start`… from the conversation and from the history."""
        del self._conversation[start:]
        self._cut_off = None
        self._answered = None
        if self._saved is not None:
            self._saved.remove_from(start, recorder)

    def _withdraw(self, start: int, prompt: str, recorder: ReplyRecorder | None = None) -> None:
        self._forget_from(start, recorder)
        self._view.rollback_turn()
        self._composer.restore_draft(prompt)
        if self._images is not None:
            self._images.restore(self._sending)

    def _fresh_conversation(self) -> list[ChatMessage]:
        # The system prompt is kept apart (see `_with_system_prompt`) so it can change mid-chat.
        return []

    def _with_system_prompt(self) -> list[ChatMessage]:
        head = [ChatMessage.system(self._system_prompt)] if self._system_prompt else []
        return head + self._conversation

    def _check_parameters(self) -> None:
        """Tell the panel what the server would reject about the parameters, if that changed."""
        model = lookup(self._model)
        # The draft stands for the next message; problems that are not the parameters' doing
        # (no prompt, images for a text-only model) are for the banner on send, not the panel.
        messages = [*self._with_system_prompt(), ChatMessage.user(self._composer.text())]
        sent = self.params.without_unsupported(model)
        baseline = set(validate(model, messages, ChatParams()))
        problems = [p for p in validate(model, messages, sent) if p not in baseline]
        if problems != self._parameter_problems:
            self._parameter_problems = problems
            self.parameter_problems_changed.emit(problems)

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if self._task is task:
            self._task = None
        # A failed request is handled inside the turn; what escapes it is a bug.
        report_bug(task)

    def _show_provenance(self, reply: Reply, *, finished: bool) -> None:
        """Name the reply's model, build and seed; a finished one may be re-run with its seed."""
        offer = None
        if finished and reply.body is not None:
            if reply.seed is not None:
                self._answered = RerunSubject(
                    reply.body, reply.text, reply.fingerprint, reply.selected
                )
            offer = reproduce_offer(reply.seed, self.params.seed)
        self._view.set_reply_info(reply_info(reply, self._model), offer)


def _shown_prompt(prompt: str, images: tuple[Attachment, ...]) -> str:
    """The prompt as the transcript shows it: with the names of its images."""
    return with_image_names(prompt, [image.name for image in images])
