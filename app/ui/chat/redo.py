"""Redoing the last exchange: Regenerate, Edit, Continue, the choice of n > 1, a seed, and
an exchange adopted from Compare.

Regenerate asks again for the last reply (the exchange is replaced by a new one for the same
message); Edit puts the last message back into the composer and sending it replaces that
exchange; Continue streams more text into a cut-off last reply (stopped, failed, interrupted,
or at its token limit). Mixed into `ChatController`.
"""

from __future__ import annotations

import secrets
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from app.core.as_code import Endpoint, SentRequest
from app.core.catalog import lookup
from app.core.messages import ChatMessage, Role
from app.core.params import ChatParams
from app.core.reply import Reply, RunState
from app.core.reproduce import RerunSubject
from app.core.store.records import MessageState, StoredMessage
from app.core.store.saved_conversation import ReplyEnding
from app.core.turn import TurnPlan
from app.ui.attachments.area import Attachment
from app.ui.chat.parts import ControllerParts
from app.ui.chat.provenance import reply_info, stored_subject
from app.ui.chat.session import ChatSession
from app.ui.chat.stored_pages import shown_message
from app.ui.chat.view import ChatView

_SEED_MESSAGE_MS = 10_000
# Sent (and not kept) after a cut-off reply to have the model carry on where it stopped.
CONTINUE_PROMPT = (
    "Continue your previous reply from exactly where it stopped, without repeating any of it "
    "and without commenting on the interruption."
)
_CONTINUABLE_STATES = frozenset(
    {MessageState.INTERRUPTED, MessageState.STOPPED, MessageState.FAILED}
)


class Redo(ControllerParts):
    """The last exchange's actions."""

    def connect_redo(self, view: ChatView) -> None:
        view.regenerate_requested.connect(self.on_view_regenerate_requested)
        view.edit_requested.connect(self.on_view_edit_requested)
        view.edit_cancelled.connect(self.on_view_edit_cancelled)
        view.choice_selected.connect(self.on_view_choice_selected)
        view.continue_requested.connect(self.on_view_continue_requested)
        view.seed_requested.connect(self.on_view_seed_requested)

    def on_view_regenerate_requested(self) -> None:
        """Ask again for the last reply: its exchange is replaced by a new one."""
        session = self._session
        last = session.last_exchange()
        if session.busy or last is None or session.messages[-1].role is not Role.ASSISTANT:
            return
        start, message = last
        self._stop_editing()
        session.forget_from(start)
        self._view.remove_last_exchange()
        self.send(message.text, message=message)

    def on_view_edit_requested(self) -> None:
        """Put the last message back into the composer; sending it replaces its exchange."""
        last = self._session.last_exchange()
        if self._session.busy or last is None:
            return
        self._editing = last[1]
        self._composer.restore_draft(last[1].text)
        self._view.set_editing(True)
        self._composer.setFocus()

    def on_view_edit_cancelled(self) -> None:
        self._stop_editing()

    def _stop_editing(self) -> None:
        self._editing = None
        self._view.set_editing(False)

    def replace_edited(self, prompt: str, images: tuple[Attachment, ...]) -> ChatMessage | None:
        """When editing: withdraw the last exchange; the message to send in its place."""
        edited = self._editing
        last = self._session.last_exchange()
        self._stop_editing()
        if edited is None or last is None:
            return None
        self._session.forget_from(last[0])
        self._view.remove_last_exchange()
        return ChatMessage.user(prompt, edited.images + tuple(i.part for i in images))

    def on_view_choice_selected(self, choice: int) -> None:
        """The conversation continues with the choice the user now sees."""
        session = self._session
        reply = session.reply
        if session.busy and reply is not None:
            reply.selected = choice
            return
        if not session.messages or session.messages[-1].role is not Role.ASSISTANT:
            return
        # The reply object knows every choice; a reopened conversation's view does.
        if reply is not None and choice < len(reply.texts()):
            reply.selected = choice
            text = reply.text
        else:
            text = self._view.last_reply_text()
        session.messages[-1] = ChatMessage.assistant(text)
        if session.answered is not None:
            session.answered = replace(session.answered, text=text, choice=choice)
        if session.saved is not None:
            session.saved.set_content(len(session.messages) - 1, text)

    def on_view_continue_requested(self) -> None:
        """Carry on a cut-off last reply: more text streams into the same message."""
        session = self._session
        if session.busy or not session.messages or session.messages[-1].role is not Role.ASSISTANT:
            return
        if not session.messages[-1].text:
            self.on_view_regenerate_requested()
            return
        self._stop_editing()
        self._start(self._continuation())

    def _continuation(self) -> Coroutine[Any, Any, None]:
        """Reopen the last reply and return the turn that streams more into it."""
        session = self._session
        self._pages.mark_changed()
        position = len(session.messages) - 1
        partial = session.messages[position].text
        continuing = session.cut_off or (MessageState.STOPPED, "")
        self._begin(session)
        self._view.reopen_last_reply(session.model, partial)
        reply = session.reply = Reply(asked_model=session.model, continuing=continuing)
        reply.choices[0] = [partial]
        self.reply_started.emit()
        plan = TurnPlan(
            session.model,
            # One continuation of the reply shown, not several alternatives.
            messages=[*session.with_system_prompt(), ChatMessage.user(CONTINUE_PROMPT)],
            params=replace(session.params, n=None),
            resume_position=position,
        )
        return self._run(session, plan, reply, position, "")

    def on_view_seed_requested(self) -> None:
        """Give the conversation a seed, so that its next replies can be re-run with it."""
        seed = self._session.params.seed
        if seed is None:
            # Small enough to read and type back; any 64-bit value would do for the API.
            seed = secrets.randbelow(1_000_000) + 1
            self.set_params(replace(self._session.params, seed=seed))
            self.parameters_changed.emit()
        self._view.set_reply_info(None, None)
        self._status.showMessage(
            f"Seed {seed} is set for this conversation: its next replies can be re-run with it "
            "(Parameters to change it).",
            _SEED_MESSAGE_MS,
        )

    def rerun_subject(self) -> RerunSubject | None:
        """The last reply's request, to send again unchanged (None: none with a seed)."""
        return None if self._session.busy else self._session.answered

    @staticmethod
    def rerun_of(reply: Reply) -> RerunSubject:
        assert reply.body is not None
        return RerunSubject(reply.body, reply.text, reply.fingerprint, reply.selected)

    def stored_rerun(self, last: StoredMessage | None) -> RerunSubject | None:
        session = self._session
        return stored_subject(
            last, session.model, session.with_system_prompt()[:-1], session.params
        )

    @staticmethod
    def cut_off_of(last: StoredMessage | None) -> tuple[MessageState, str] | None:
        """How a reopened conversation's last reply was cut off, when it can be continued."""
        if last is None or last.role is not Role.ASSISTANT:
            return None
        if last.state in _CONTINUABLE_STATES or last.finish_reason == "length":
            return last.state, last.note
        return None

    def adopt_exchange(self, message: ChatMessage, answer: Reply, params: ChatParams) -> bool:
        """Continue the conversation with `message` and an answer obtained elsewhere.

        A comparison's pick: the exchange is added as a sent turn would be, on screen and in
        the history, and its model and `params` become the conversation's. Its cost was
        counted where it was sent. False (nothing changes) while a reply is streaming or when
        the answer did not finish.
        """
        session = self._session
        if session.busy or answer.state is not RunState.DONE:
            return False
        self._stop_editing()
        self._pages.to_end()
        self._pages.mark_changed()
        session.failed_turn = None
        self._banner.clear_problem()
        session.model, session.params = answer.asked_model, params
        if session.draft.strip() == message.text.strip():
            self._composer.take_text()
        if self._images is not None and message.images and self._images.parts() == message.images:
            self._images.take()
        session.messages += [message, ChatMessage.assistant(answer.text)]
        session.cut_off = None
        self._view.add_user_message(shown_message(message))
        self._view.begin_reply(session.model)
        self._view.append_reply(answer.text)
        session.reply = answer
        if self._client is not None and answer.body is not None:
            session.last_request = SentRequest(answer.body, Endpoint.of(self._client.config))
        self._keep_adopted(session, message, answer)
        self._view.end_reply(choice_notes=answer.notes())
        session.answered = self.rerun_of(answer) if answer.seed is not None else None
        self._view.set_reply_info(reply_info(answer, session.model), None)
        if answer.usage is not None:
            self._status.show_usage(answer.usage, lookup(answer.billed_model))
        self.parameters_changed.emit()
        self._check_parameters()
        return True

    def _keep_adopted(self, session: ChatSession, message: ChatMessage, answer: Reply) -> None:
        saved = session.saved
        if saved is None:
            return
        saved.add_user(message, session.settings())
        recorder = saved.begin_reply(session.model, lambda: (answer.text, answer.texts()))
        if recorder is None:
            return
        saved.finish_reply(
            recorder,
            ReplyEnding(
                content=answer.text,
                state=MessageState.COMPLETE,
                note=answer.notes().get(answer.selected, ""),
                model=answer.answered_by or None,
                finish_reason=answer.finish_reason,
                choices=answer.texts(),
                usage=answer.usage,
                system_fingerprint=answer.fingerprint,
                seed=answer.seed,
            ),
        )
