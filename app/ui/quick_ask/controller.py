"""Quick ask's conversation: sends the popup's question and streams the answer into it.

Each exchange is saved to the history as it streams (a conversation per popup session), and
what it cost is recorded in the usage ledger as `Source.QUICK_ASK`. What happens to a question
that does not get a full answer:
- Esc (or hiding the popup) stops the answer; what arrived stays, saved as stopped.
- A failure before any text: the headline and remedy are shown, the question goes back into the
  input, and nothing of it stays in the history.
- A failure after some text: the partial answer stays (saved as failed), with the problem.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QClipboard, QGuiApplication

from app.core import preflight
from app.core.budget import SendDeclined
from app.core.catalog import lookup
from app.core.client import ChatClient
from app.core.events import ReplyMeta, StreamEvent, TextDelta, UsageReported
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.problems import UserFacingError
from app.core.request import build_request
from app.core.store.database import DatabaseTooNew
from app.core.store.history import History
from app.core.store.ledger import Source
from app.core.store.records import MessageState
from app.core.store.reply_recorder import ReplyRecorder
from app.core.usage import Usage
from app.ui.attachments.area import Attachment
from app.ui.background import BackgroundImports
from app.ui.quick_ask.popup import ClipboardOffer, OfferKind, QuickAskPopup
from app.ui.tasks import cancel_and_wait, report_bug
from app.ui.usage.budget_guard import BudgetGuard
from app.ui.usage.spend_tracker import SpendTracker
from app.ui.widgets.status_bar import usage_text

log = logging.getLogger(__name__)

STOPPED_NOTE = "Stopped."
# Copied text longer than this is not offered: it is rarely meant for a quick question.
MAX_OFFERED_TEXT = 20_000

ClientSource = Callable[[], ChatClient | None]
HistorySource = Callable[[], History]


class NotConnected(UserFacingError):
    """Quick ask was used before Chatdesk had a connection."""


@dataclass
class _Answer:
    parts: list[str] = field(default_factory=list)
    model: str = ""
    usage: Usage | None = None
    finish_reason: str = ""

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class _Saved:
    """Where the exchange being streamed is in the history."""

    conversation_id: int
    created: bool  # the conversation was started by this exchange
    user_position: int
    reply_id: int


class QuickAskController(QObject):
    """Drives one `QuickAskPopup`; `open_conversation_requested(id)` for 'Open in Chatdesk'."""

    open_conversation_requested = Signal(int)
    answer_started = Signal()
    answer_ended = Signal()

    def __init__(
        self,
        popup: QuickAskPopup,
        *,
        model: str,
        client: ClientSource,
        background: BackgroundImports,
        history: HistorySource | None = None,
        spend: SpendTracker | None = None,
        budget: BudgetGuard | None = None,
        clipboard: QClipboard | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.popup = popup
        self._model = model
        self._client = client
        self._background = background
        self._open_history = history
        self._history: History | None = None
        self._spend = spend
        self._budget = budget
        self._clipboard = clipboard or QGuiApplication.clipboard()
        self._conversation: list[ChatMessage] = []
        self._conversation_id: int | None = None
        self._attached_text = ""
        self._task: asyncio.Task[None] | None = None
        self._generation = 0
        popup.set_model(model)
        popup.image_area.use_background(background)
        popup.submitted.connect(self.on_popup_submitted)
        popup.dismissed.connect(self.stop)
        popup.open_in_chatdesk_clicked.connect(self.on_popup_open_in_chatdesk_clicked)
        popup.offer_accepted.connect(self.on_popup_offer_accepted)

    @property
    def model(self) -> str:
        return self._model

    @property
    def conversation_id(self) -> int | None:
        """The history's conversation for this popup session, once something was saved."""
        return self._conversation_id

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def set_model(self, model: str) -> None:
        """Use `model` from the next question on (the quick-ask model setting changed)."""
        self._model = model
        self.popup.set_model(model)

    def open(self) -> None:
        """Show the popup; after a finished exchange it starts a new conversation."""
        if not self.busy and (self._conversation or self._conversation_id is not None):
            self._start_over()
        self.popup.offer(None if self._attached_text else self.clipboard_offer())
        self.popup.present()

    def clipboard_offer(self) -> ClipboardOffer | None:
        """What the clipboard holds that is worth attaching, if anything."""
        mime = self._clipboard.mimeData()
        if mime is None:
            return None
        if mime.hasImage() or self.popup.image_area.can_take(mime):
            return ClipboardOffer(OfferKind.IMAGE)
        text = mime.text() if mime.hasText() else ""
        if text.strip() and len(text) <= MAX_OFFERED_TEXT:
            return ClipboardOffer(OfferKind.TEXT, text)
        return None

    def on_popup_offer_accepted(self, offer: ClipboardOffer) -> None:
        if offer.kind is OfferKind.TEXT:
            self._attached_text = offer.text
            self.popup.show_attached_text(offer.text)
            return
        mime = self._clipboard.mimeData()
        if mime is not None:
            self.popup.image_area.add_mime(mime)
        self.popup.on_image_area_changed()

    def on_popup_open_in_chatdesk_clicked(self) -> None:
        if self._conversation_id is None:
            return
        self.stop()
        self.popup.hide()
        self.open_conversation_requested.emit(self._conversation_id)

    def on_popup_submitted(self) -> None:
        popup = self.popup
        images = popup.image_area
        if self.busy or not (popup.input.text().strip() or not images.is_empty):
            return
        problem = images.blocking_problem(lookup(self._model))
        if problem is not None:
            images.show_problem(problem)
            popup.on_image_area_changed()
            return
        taken = images.take()
        popup.on_image_area_changed()
        prompt = popup.input.take_text()
        attached, self._attached_text = self._attached_text, ""
        popup.show_attached_text("")
        self.ask(prompt, taken, attached_text=attached)

    def ask(
        self, prompt: str, images: tuple[Attachment, ...] = (), *, attached_text: str = ""
    ) -> asyncio.Task[None]:
        """Send `prompt` (with `images` and copied text) and stream the answer; the task."""
        task = asyncio.ensure_future(self.run_exchange(prompt, images, attached_text))
        self._task = task
        task.add_done_callback(self._on_task_done)
        return task

    def stop(self) -> None:
        """Stop the answer being streamed, keeping what arrived."""
        if self._task is not None:
            self._task.cancel()

    async def stop_and_wait(self) -> None:
        await cancel_and_wait(self._task)

    async def close(self) -> None:
        """Stop any answer and close the history (when this controller opened it)."""
        await self.stop_and_wait()
        history, self._history = self._history, None
        if history is not None and self._open_history is not None:
            await asyncio.get_running_loop().run_in_executor(None, history.close)

    async def run_exchange(
        self, prompt: str, images: tuple[Attachment, ...] = (), attached_text: str = ""
    ) -> None:
        """One question and its streamed answer, saved and paid for."""
        generation = self._generation
        text = f"{prompt}\n\n{attached_text}" if attached_text else prompt
        message = ChatMessage.user(text, tuple(image.part for image in images))
        model = self._model
        self.popup.begin_answer(prompt)
        self.answer_started.emit()
        answer = _Answer()
        saved: _Saved | None = None
        recorder: ReplyRecorder | None = None
        try:
            client = self._client()
            if client is None:
                raise self._not_connected()
            body = await self._prepare([*self._conversation, message], model)
            saved = await self._save_question(message, model)
            if saved is not None and self._history is not None:
                recorder = ReplyRecorder(self._history, saved.reply_id, lambda: (answer.text, ()))
            async for event in client.stream_chat(body):
                self._apply(event, answer, recorder)
        except asyncio.CancelledError:
            if generation == self._generation:
                await self._end(answer, saved, recorder, STOPPED_NOTE, MessageState.STOPPED)
                if not answer.parts:
                    self._put_back(prompt, images, attached_text)
            raise
        except SendDeclined:
            # The user chose not to go over the budget: the question waits, unsent.
            self._put_back(prompt, images, attached_text)
        except UserFacingError as failure:
            log.info("quick ask failed: %s", failure)
            await self._end(
                answer, saved, recorder, f"Cut off: {failure.headline}.", MessageState.FAILED
            )
            if not answer.parts:
                self._put_back(prompt, images, attached_text)
            self.popup.show_problem(failure.headline, failure.remedy)
        else:
            self._conversation += [message, ChatMessage.assistant(answer.text)]
            await self._end(answer, saved, recorder, "", MessageState.COMPLETE)
        finally:
            self.answer_ended.emit()
        if answer.usage is not None:
            await self._record_spend(answer.model or model, answer.usage)

    async def _prepare(self, messages: list[ChatMessage], model: str) -> dict[str, object]:
        params = ChatParams()
        body = build_request(model, messages, params)
        budget = self._budget if self._budget and self._budget.asks_before_sending() else None
        if budget is not None or not preflight.surely_fits(model, messages, params):
            # Counting loads tiktoken, which must not overlap another heavy import.
            await self._background.counting(model)
            estimate = await asyncio.get_running_loop().run_in_executor(
                None, preflight.estimate, model, messages, params
            )
            preflight.ensure_fits(estimate)
            if budget is not None and not await budget.confirm_spend(
                estimate, params, parent=self.popup
            ):
                raise SendDeclined("Not sent")
        return body

    def _apply(self, event: StreamEvent, answer: _Answer, recorder: ReplyRecorder | None) -> None:
        match event:
            case ReplyMeta(model=model):
                answer.model = model
            case TextDelta(choice=0, text=text):
                answer.parts.append(text)
                self.popup.append_answer(text)
                if recorder is not None:
                    recorder.changed()
            case UsageReported(usage=usage):
                answer.usage = usage
                self.popup.show_cost(usage_text(usage, lookup(answer.model or self._model)))

    def _put_back(self, prompt: str, images: tuple[Attachment, ...], attached: str) -> None:
        self.popup.input.restore_draft(prompt)
        self.popup.image_area.restore(images)
        self.popup.on_image_area_changed()
        if attached:
            self._attached_text = attached
            self.popup.show_attached_text(attached)

    def _not_connected(self) -> UserFacingError:
        return NotConnected(
            "Chatdesk is not connected",
            "Open Chatdesk: add an API key in Settings (or try the demo), or wait a moment for "
            "it to finish starting. Your question is kept.",
        )

    def _start_over(self) -> None:
        self._generation += 1
        self._conversation = []
        self._conversation_id = None
        self.popup.clear_answer()

    # The history and the ledger, each call in a worker thread

    async def _history_ready(self) -> History | None:
        if self._history is None and self._open_history is not None:
            try:
                self._history = await asyncio.get_running_loop().run_in_executor(
                    None, self._open_history
                )
            except (sqlite3.Error, DatabaseTooNew, OSError) as exc:
                log.warning("history unavailable, quick ask is not saved: %s", exc)
                self._open_history = None
        return self._history

    async def _save_question(self, message: ChatMessage, model: str) -> _Saved | None:
        history = await self._history_ready()
        if history is None:
            return None
        conversation_id = self._conversation_id
        position = len(self._conversation)

        def save() -> _Saved:
            created = conversation_id is None
            target = (
                history.create_conversation(model=model)
                if conversation_id is None
                else conversation_id
            )
            history.add_message(target, message)
            reply_id = history.begin_reply(target, model=model)
            return _Saved(target, created, position, reply_id)

        try:
            saved = await asyncio.get_running_loop().run_in_executor(None, save)
        except sqlite3.Error as exc:
            log.warning("could not save the quick-ask question: %s", exc)
            return None
        self._conversation_id = saved.conversation_id
        return saved

    async def _end(
        self,
        answer: _Answer,
        saved: _Saved | None,
        recorder: ReplyRecorder | None,
        note: str,
        state: MessageState,
    ) -> None:
        if recorder is not None:
            recorder.close()
        self.popup.end_answer(note if answer.parts else "")
        history = self._history
        if saved is None or history is None:
            self.popup.open_button.setEnabled(self._conversation_id is not None)
            return

        def finish() -> None:
            if answer.parts or state is MessageState.COMPLETE:
                history.finish_reply(
                    saved.reply_id,
                    answer.text,
                    state=state,
                    note="" if state is MessageState.COMPLETE else note,
                    model=answer.model or None,
                    usage=answer.usage,
                )
            else:
                # Nothing arrived: the question goes back to the input, not into the history.
                history.remove_messages_from(saved.conversation_id, saved.user_position)
                if saved.created:
                    history.delete(saved.conversation_id)

        try:
            await asyncio.get_running_loop().run_in_executor(None, finish)
        except sqlite3.Error as exc:
            log.warning("could not save the quick-ask answer: %s", exc)
        if not answer.parts and state is not MessageState.COMPLETE and saved.created:
            self._conversation_id = None
        self.popup.open_button.setEnabled(self._conversation_id is not None)

    async def _record_spend(self, model: str, usage: Usage) -> None:
        spend = self._spend
        ledger = spend.ledger if spend is not None else None
        if spend is None or ledger is None:
            return  # the demo: nothing is billed
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, ledger.record, model, usage, Source.QUICK_ASK
            )
        except sqlite3.Error:
            log.warning("could not record quick-ask usage in the ledger", exc_info=True)
            return
        await spend.refresh()

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if self._task is task:
            self._task = None
        report_bug(task)
