"""The open conversation's place in the history, kept in step with what the user does to it.

A new chat is not stored until its first message is sent; from then on every message, every
reply as it streams, and every change of model or parameters is written. A failure to write
(a full disk, a read-only directory) must not cost the user the conversation on screen: it is
reported once through `on_error` and the chat goes on in memory.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.store.history import History
from app.core.store.records import MessageState
from app.core.store.reply_recorder import ReplyRecorder, Snapshot
from app.core.usage import Usage

log = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass(frozen=True)
class ConversationSettings:
    model: str
    system_prompt: str
    params: ChatParams


@dataclass(frozen=True)
class ReplyEnding:
    """How a streamed reply ended, as it is stored."""

    content: str
    state: MessageState
    note: str = ""
    model: str | None = None
    finish_reason: str = ""
    choices: Sequence[str] = ()
    logprobs: object = None
    usage: Usage | None = None
    system_fingerprint: str | None = None
    seed: int | None = None


class SavedConversation:
    """Writes one conversation's changes to `history`; `conversation_id` once it is stored."""

    def __init__(
        self,
        history: History,
        *,
        on_error: Callable[[Exception], None] | None = None,
        on_changed: Callable[[int], None] | None = None,
    ) -> None:
        self._history = history
        self._on_error = on_error
        # Told the conversation's id whenever the sidebar's view of it changed.
        self._on_changed = on_changed
        self.conversation_id: int | None = None
        self._reported = False

    @property
    def history(self) -> History:
        return self._history

    def open(self, conversation_id: int | None) -> None:
        """Continue `conversation_id` from now on (None: a new chat, stored on first message)."""
        self.conversation_id = conversation_id

    def add_user(self, message: ChatMessage, settings: ConversationSettings) -> None:
        def write() -> int:
            if self.conversation_id is None:
                self.conversation_id = self._history.create_conversation(
                    model=settings.model,
                    system_prompt=settings.system_prompt,
                    params=settings.params,
                )
            else:
                self._write_settings(self.conversation_id, settings)
            return self._history.add_message(self.conversation_id, message)

        if self._guard(write) is not None:
            self._changed()

    def begin_reply(self, model: str, snapshot: Snapshot) -> ReplyRecorder | None:
        """Store an empty reply marked streaming; the recorder saves it as it grows."""
        conversation_id = self.conversation_id
        if conversation_id is None:
            return None
        message_id = self._guard(lambda: self._history.begin_reply(conversation_id, model=model))
        if message_id is None:
            return None
        return ReplyRecorder(self._history, message_id, snapshot)

    def resume_reply(self, position: int, snapshot: Snapshot) -> ReplyRecorder | None:
        """Mark the reply at `position` streaming again (Continue); it grows from there."""
        conversation_id = self.conversation_id
        if conversation_id is None:
            return None
        message_id = self._guard(lambda: self._history.resume_reply(conversation_id, position))
        if message_id is None:
            return None
        return ReplyRecorder(self._history, message_id, snapshot)

    def finish_reply(self, recorder: ReplyRecorder | None, ending: ReplyEnding) -> None:
        if recorder is None:
            return
        recorder.close()
        self._guard(
            lambda: self._history.finish_reply(
                recorder.message_id,
                ending.content,
                state=ending.state,
                note=ending.note,
                model=ending.model,
                finish_reason=ending.finish_reason,
                choices=ending.choices,
                logprobs=ending.logprobs,
                usage=ending.usage,
                system_fingerprint=ending.system_fingerprint,
                seed=ending.seed,
            )
        )
        self._changed()

    def remove_from(self, position: int, recorder: ReplyRecorder | None = None) -> None:
        """Forget messages `position`… (a withdrawn turn, a regenerated or edited exchange).

        Withdrawing the first exchange forgets the conversation too: a failed first send or a
        declined budget question leaves no empty conversation behind.
        """
        if recorder is not None:
            recorder.close()
        conversation_id = self.conversation_id
        if conversation_id is None:
            return
        if position == 0:
            self._guard(lambda: self._history.delete(conversation_id))
            self.conversation_id = None
            return
        self._guard(lambda: self._history.remove_messages_from(conversation_id, position))

    def set_content(self, position: int, content: str) -> None:
        """The conversation now continues with another choice of the reply at `position`."""
        conversation_id = self.conversation_id
        if conversation_id is not None:
            self._guard(
                lambda: self._history.set_message_content(conversation_id, position, content)
            )

    def update_settings(self, settings: ConversationSettings) -> None:
        conversation_id = self.conversation_id
        if conversation_id is not None:
            self._guard(lambda: self._write_settings(conversation_id, settings))

    def _write_settings(self, conversation_id: int, settings: ConversationSettings) -> None:
        self._history.update_settings(
            conversation_id,
            model=settings.model,
            system_prompt=settings.system_prompt,
            params=settings.params,
        )

    def _changed(self) -> None:
        if self._on_changed is not None and self.conversation_id is not None:
            self._on_changed(self.conversation_id)

    def _guard(self, write: Callable[[], _T]) -> _T | None:
        try:
            return write()
        except (sqlite3.Error, OSError) as exc:
            log.exception("could not save the conversation")
            if self._on_error is not None and not self._reported:
                self._reported = True
                self._on_error(exc)
            return None
