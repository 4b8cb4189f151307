"""Quick ask's conversation: sends the popup's question through the turn engine and streams the
answer into it.

Each exchange is a turn (`app/core/turn.py`) tagged `Source.QUICK_ASK`: it is saved to the
history as it streams (a conversation per popup session) and its usage, the server's or
estimated, is recorded in the ledger. What happens to a question that does not get a full answer:
- Esc (or hiding the popup) stops the answer; what arrived stays, saved as stopped, with its
  estimated cost.
- A failure before any text: the headline and remedy are shown, the question goes back into the
  input, and nothing of it stays in the history.
- A failure after some text: the partial answer stays (saved as failed), with the problem.
- Declining the budget question: nothing is sent or saved, and the question goes back.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QClipboard, QGuiApplication

from app.core.catalog import lookup
from app.core.client import ChatClient
from app.core.events import StreamEvent, TextDelta, UsageReported
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.reply import Reply, RunState
from app.core.store.database import DatabaseTooNew
from app.core.store.history import History
from app.core.store.ledger import Source
from app.core.store.saved_conversation import ConversationSettings, SavedConversation
from app.core.turn import NotConnected, Turn, TurnHooks, TurnPlan
from app.ui.attachments.area import Attachment
from app.ui.background import BackgroundImports
from app.ui.quick_ask.popup import ClipboardOffer, OfferKind, QuickAskPopup
from app.ui.tasks import cancel_and_wait, report_bug
from app.ui.usage.budget_guard import BudgetGuard
from app.ui.usage.spend_tracker import SpendTracker
from app.ui.widgets.status_bar import usage_text

log = logging.getLogger(__name__)

# Copied text longer than this is not offered: it is rarely meant for a quick question.
MAX_OFFERED_TEXT = 20_000

ClientSource = Callable[[], ChatClient | None]
HistorySource = Callable[[], History]


def not_connected() -> NotConnected:
    """Quick ask was used before Chatdesk had a connection."""
    return NotConnected(
        "Chatdesk is not connected",
        "Open Chatdesk: add an API key in Settings (or try the demo), or wait a moment for it "
        "to finish starting. Your question is kept.",
    )


@dataclass(frozen=True)
class _Question:
    """One question as the user wrote it, to put back when it gets no answer."""

    prompt: str
    images: tuple[Attachment, ...]
    attached_text: str
    message: ChatMessage
    # Where the question is (or would be) in the stored conversation.
    position: int


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
        self._opening: asyncio.Future[History] | None = None
        self._history: History | None = None
        self._spend = spend
        self._budget = budget
        self._clipboard = clipboard or QGuiApplication.clipboard()
        # The exchanges of this popup session as sent (and stored), for follow-ups.
        self._conversation: list[ChatMessage] = []
        self._saved: SavedConversation | None = None
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
        return self._saved.conversation_id if self._saved is not None else None

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
        if not self.busy and (self._conversation or self.conversation_id is not None):
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
        conversation_id = self.conversation_id
        if conversation_id is None:
            return
        self.stop()
        self.popup.hide()
        self.open_conversation_requested.emit(conversation_id)

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
        opening, self._opening = self._opening, None
        if history is None and opening is not None:
            # Still opening for an answer stopped meanwhile: it is closed once open.
            try:
                history = await opening
            except (sqlite3.Error, DatabaseTooNew, OSError):
                history = None
        if history is not None and self._open_history is not None:
            await asyncio.get_running_loop().run_in_executor(None, history.close)

    async def run_exchange(
        self, prompt: str, images: tuple[Attachment, ...] = (), attached_text: str = ""
    ) -> None:
        """One question and its streamed answer, as one turn: saved and paid for."""
        generation = self._generation
        text = f"{prompt}\n\n{attached_text}" if attached_text else prompt
        message = ChatMessage.user(text, tuple(image.part for image in images))
        question = _Question(prompt, images, attached_text, message, len(self._conversation))
        model = self._model
        reply = Reply(asked_model=model)
        saved: SavedConversation | None = None
        sent = False

        def on_checked() -> None:
            # The turn passed its checks: from now on the exchange is in the history.
            nonlocal sent
            sent = True

        self.popup.begin_answer(prompt)
        self.answer_started.emit()
        try:
            saved = await self._saved_conversation()
            await self._turn().run(
                TurnPlan(
                    model,
                    messages=[*self._conversation, message],
                    params=ChatParams(),
                    prompt=message,
                    settings=ConversationSettings(model, "", ChatParams()),
                ),
                reply,
                saved=saved,
                hooks=TurnHooks(
                    before_counting=self._background.counting,
                    on_checked=on_checked,
                    on_event=partial(self._on_turn_event, reply),
                    on_settled=self._on_turn_settled,
                ),
            )
        except asyncio.CancelledError:
            self._ended(reply, question, saved if sent else None, generation)
            raise
        else:
            self._ended(reply, question, saved if sent else None, generation)
        finally:
            self.answer_ended.emit()

    def _turn(self) -> Turn:
        spend = self._spend
        budget = self._budget
        return Turn(
            client=self._client,
            source=Source.QUICK_ASK,
            ledger=lambda: spend.ledger if spend is not None else None,
            # The budget question opens over the popup, where the user is looking.
            budget=budget.policy(parent=self.popup) if budget is not None else None,
            not_connected=not_connected(),
        )

    def _on_turn_event(self, reply: Reply, event: StreamEvent) -> None:
        match event:
            case TextDelta(choice=0, text=text):
                self.popup.append_answer(text)
            case UsageReported(usage=usage):
                self.popup.show_cost(usage_text(usage, lookup(reply.billed_model)))

    async def _on_turn_settled(self, reply: Reply) -> None:
        # A stopped or cut-off answer has its usage only now, estimated: it is shown as well.
        if reply.usage is not None:
            self.popup.show_cost(usage_text(reply.usage, lookup(reply.billed_model)))
        if self._spend is not None:
            await self._spend.on_turn_settled(reply)

    def _ended(
        self,
        reply: Reply,
        question: _Question,
        stored: SavedConversation | None,
        generation: int,
    ) -> None:
        """Show how the answer ended; an exchange without any answer is withdrawn."""
        kept = reply.arrived or reply.state is RunState.DONE
        if not kept and stored is not None:
            # Nothing arrived: the question goes back to the input, not into the history.
            stored.remove_from(question.position)
        if generation != self._generation:
            return  # a new conversation started meanwhile: the popup shows it
        if kept:
            self._conversation += [question.message, ChatMessage.assistant(reply.text)]
            self.popup.end_answer(reply.ending()[1])
        else:
            self.popup.end_answer()
            self._put_back(question)
        if reply.state is RunState.FAILED and reply.problem is not None:
            self.popup.show_problem(reply.problem.headline, reply.problem.remedy)
        self.popup.open_button.setEnabled(self.conversation_id is not None)

    def _put_back(self, question: _Question) -> None:
        self.popup.input.restore_draft(question.prompt)
        self.popup.image_area.restore(question.images)
        self.popup.on_image_area_changed()
        if question.attached_text:
            self._attached_text = question.attached_text
            self.popup.show_attached_text(question.attached_text)

    def _start_over(self) -> None:
        self._generation += 1
        self._conversation = []
        self._saved = None
        self.popup.clear_answer()

    # The history, opened in a worker thread on the first question

    async def _saved_conversation(self) -> SavedConversation | None:
        """This popup session's conversation in the history (None: quick ask is not saved)."""
        history = await self._history_ready()
        if history is None:
            return None
        if self._saved is None:
            self._saved = SavedConversation(history)
        return self._saved

    async def _history_ready(self) -> History | None:
        if self._history is None and self._open_history is not None:
            if self._opening is None:
                self._opening = asyncio.get_running_loop().run_in_executor(None, self._open_history)
            try:
                # Shielded: an answer stopped meanwhile leaves the history opening for the next.
                self._history = await asyncio.shield(self._opening)
            except (sqlite3.Error, DatabaseTooNew, OSError) as exc:
                log.warning("history unavailable, quick ask is not saved: %s", exc)
                self._open_history = None
            self._opening = None
        return self._history

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if self._task is task:
            self._task = None
        report_bug(task)
