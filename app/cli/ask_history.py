"""Keeping a `chatdesk ask` exchange in the history, written to disk while the answer streams.

Each invocation is a conversation of its own: the prompt (with its images) as the user
message, and the reply recorded by a `ReplyRecorder`, so a kill loses at most a moment of it
and the next start of Chatdesk shows it as interrupted.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from app.core.events import ChoiceFinished, LogprobsDelta, ReplyMeta, TextDelta, UsageReported
from app.core.messages import ChatMessage, Role
from app.core.params import ChatParams
from app.core.store.history import History
from app.core.store.records import MessageState
from app.core.store.reply_recorder import ReplyRecorder
from app.core.usage import Usage

STOPPED_NOTE = "Stopped before the reply finished."


class SavedExchange:
    """One question and its streaming answer, as a new conversation in `history`."""

    def __init__(self, history: History, conversation_id: int, message_id: int) -> None:
        self._history = history
        self.conversation_id = conversation_id
        self.message_id = message_id
        self._texts: dict[int, list[str]] = {}
        self._logprobs: list[dict[str, Any]] = []
        self._model: str | None = None
        self._finish_reason = ""
        self._usage: Usage | None = None
        self._finished = False
        self._recorder = ReplyRecorder(history, message_id, self.snapshot)

    @classmethod
    def start(
        cls,
        open_history: Callable[[], History],
        *,
        model: str,
        system_prompt: str,
        params: ChatParams,
        messages: Sequence[ChatMessage],
    ) -> SavedExchange:
        """Open the history and write the question and an empty, streaming reply (blocking)."""
        history = open_history()
        conversation_id: int | None = None
        try:
            conversation_id = history.create_conversation(
                model=model, system_prompt=system_prompt, params=params
            )
            for message in messages:
                # The system prompt is a setting of the conversation, not one of its messages.
                if message.role is not Role.SYSTEM:
                    history.add_message(conversation_id, message)
            message_id = history.begin_reply(conversation_id, model=model)
        except BaseException:
            # No half-saved question in the sidebar: deleted conversations are purged later.
            if conversation_id is not None:
                with contextlib.suppress(sqlite3.Error):
                    history.delete(conversation_id)
            history.close()
            raise
        return cls(history, conversation_id, message_id)

    def snapshot(self) -> tuple[str, Sequence[str]]:
        """The reply so far: choice 0's text, and every choice's when there are several."""
        choices = ["".join(self._texts.get(i, ())) for i in range(max(self._texts, default=0) + 1)]
        return choices[0], choices if len(choices) > 1 else ()

    def handle(self, event: object) -> None:
        """Take one stream event; call after it was shown, so the saved text never runs ahead."""
        match event:
            case TextDelta(choice=index, text=text):
                self._texts.setdefault(index, []).append(text)
                self._recorder.changed()
            case ReplyMeta(model=model):
                self._model = model or None
            case ChoiceFinished(choice=0, reason=reason):
                self._finish_reason = reason
            case LogprobsDelta(choice=0, tokens=tokens):
                self._logprobs.extend(
                    {
                        "token": token.token,
                        "logprob": token.logprob,
                        "top_logprobs": [{"token": t, "logprob": p} for t, p in token.top],
                    }
                    for token in tokens
                )
            case UsageReported(usage=usage):
                self._usage = usage

    def finish(self, state: MessageState, note: str = "") -> None:
        """Write how the reply ended (with whatever part of it arrived) and close the history."""
        if self._finished:
            return
        self._finished = True
        self._recorder.close()
        content, choices = self.snapshot()
        try:
            self._history.finish_reply(
                self.message_id,
                content,
                state=state,
                note=note,
                model=self._model,
                finish_reason=self._finish_reason,
                choices=choices,
                logprobs={"content": self._logprobs} if self._logprobs else None,
                usage=self._usage,
            )
        finally:
            self._history.close()
