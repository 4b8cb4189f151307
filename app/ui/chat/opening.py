"""Opening conversations in the window: new chats, stored ones, and those still streaming.

Leaving a conversation whose reply streams does not stop it: its session goes on in the
background (`ChatController._background`), and opening it again shows the reply live. Mixed
into `ChatController`.
"""

from __future__ import annotations

import logging
import sqlite3

from app.core.store.records import StoredConversation, StoredMessage
from app.core.store.saved_conversation import SavedConversation
from app.ui.chat.parts import ControllerParts
from app.ui.chat.session import ChatSession

log = logging.getLogger(__name__)

_BEHIND_MESSAGE_MS = 8000


class Opening(ControllerParts):
    """Which conversation the window shows."""

    def _new_session(self, conversation_id: int | None = None) -> ChatSession:
        saved = None
        if self._history is not None:
            saved = SavedConversation(
                self._history,
                on_error=self.history_write_failed.emit,
                on_changed=self.conversation_saved.emit,
            )
            saved.open(conversation_id)
        return ChatSession(self._default_model, self._default_params, saved=saved)

    def _leave(self) -> None:
        """Let the open conversation's reply go on behind the next one (or stop it if it
        cannot: it is not in the history yet)."""
        session = self._session
        self._editing = None
        conversation_id = session.conversation_id
        if conversation_id is not None and session.draft.strip():
            # Unsent text stays with its conversation, for when the user comes back.
            self._drafts[conversation_id] = session.draft
        reply = session.reply
        if not session.busy:
            return
        if reply is None or not reply.running:
            # Counting a long draft before sending: it stops; the draft stays with its
            # conversation.
            self.stop()
            return
        if conversation_id is None:
            # Still being checked (counted, or the budget question is open): nothing is stored
            # yet for it to stream into, so it stops and the draft is kept.
            self.stop()
            return
        self._background[conversation_id] = session
        self._status.showMessage(
            "The reply goes on streaming behind: its conversation says “Answering…” in the "
            "sidebar.",
            _BEHIND_MESSAGE_MS,
        )
        self.reply_ended.emit()
        self.background_changed.emit(self.streaming, frozenset(self._unseen))

    def stop_streaming(self, conversation_id: int) -> None:
        """Stop the reply streaming behind the open conversation into `conversation_id`."""
        session = self._background.get(conversation_id)
        if session is not None and session.task is not None:
            session.task.cancel()

    def new_chat(self) -> None:
        """Start an empty conversation; a reply streaming in the open one goes on behind it."""
        unsaved_draft = self._session.draft if self._session.conversation_id is None else ""
        self._leave()
        self._session = self._new_session()
        self._session.system_prompt = self._default_system_prompt
        # Text typed into a chat not stored yet goes on into the next new chat.
        self._show_draft(unsaved_draft)
        self._pages.clear()
        self._view.clear_conversation()
        self._opened(None)
        self._composer.setFocus()

    def open_conversation(
        self, stored: StoredConversation, *, at_position: int | None = None
    ) -> None:
        """Show `stored` and continue it from now on (live, if its reply is still streaming).

        Only the last messages are drawn at first, or from `at_position` on (a search hit,
        scrolled to the top); earlier ones come on demand.
        """
        if stored.id == self._session.conversation_id and self.busy:
            return
        self._leave()
        streaming = self._background.pop(stored.id, None)
        self._unseen.discard(stored.id)
        draft = self._drafts.pop(stored.id, "")
        if streaming is not None:
            self._session = streaming
            self._show_draft(draft)
            self._show_streaming(stored)
            self._opened(stored.id)
            self.reply_started.emit()
            return
        session = self._session = self._new_session(stored.id)
        session.messages = [message.as_chat_message() for message in stored.messages]
        session.model, session.params = stored.model, stored.params
        session.system_prompt = stored.system_prompt
        last = stored.messages[-1] if stored.messages else None
        session.cut_off = self.cut_off_of(last)
        session.answered = self.stored_rerun(last)
        self._show_draft(draft)
        self._pages.open(stored.messages, at_position)
        self._opened(stored.id)

    def _show_draft(self, draft: str) -> None:
        """Show the opened conversation's own draft (its own undo history starts afresh, so
        Ctrl+Z never brings back text typed in another conversation)."""
        self._session.draft = draft
        if self._composer.text() != draft:
            self._composer.setPlainText(draft)

    def _show_streaming(self, stored: StoredConversation) -> None:
        """Draw a conversation whose reply streams: what is stored, then the reply so far."""
        session, reply = self._session, self._session.reply
        assert reply is not None
        self._pages.open(stored.messages[:-1])
        self._view.begin_reply(session.model, choices=max(len(reply.choices), 1))
        for choice, parts in sorted(reply.choices.items()):
            self._view.append_reply("".join(parts), choice)

    def _opened(self, conversation_id: int | None) -> None:
        self._banner.clear_problem()
        self._status.clear_usage()
        self.parameters_changed.emit()
        self._check_parameters()
        self.conversation_opened.emit(conversation_id)
        self.background_changed.emit(self.streaming, frozenset(self._unseen))

    def _read_stored(self) -> tuple[StoredMessage, ...] | None:
        """The open conversation's messages as stored now (None if they cannot be read)."""
        conversation_id = self._session.conversation_id
        if self._history is None or conversation_id is None:
            return None
        try:
            return self._history.load(conversation_id).messages
        except (LookupError, sqlite3.Error):
            log.exception("could not read the conversation again")
            return None
