"""Keeping a `chatdesk ask` exchange in the history, written by the turn while it streams.

Each invocation is a conversation of its own: the prompt (with its images) as the user
message and the reply, saved as it grows, so a kill loses at most a moment of it and the next
start of Chatdesk shows it as interrupted. The history is a convenience here: whatever goes
wrong with it (a full disk, a database from a newer Chatdesk) is a warning on stderr, and the
answer is printed all the same.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from typing import TextIO

from app.core.store.database import DatabaseTooNew
from app.core.store.history import History
from app.core.store.reply_recorder import ReplyRecorder, Snapshot
from app.core.store.saved_conversation import SavedConversation

log = logging.getLogger(__name__)

# What can go wrong opening or writing the history file.
HISTORY_ERRORS = (sqlite3.Error, DatabaseTooNew, OSError)


class AskConversation(SavedConversation):
    """The exchange of one `chatdesk ask`, in a history it opened (and closes with `close`).

    Write failures are reported on `err` once; one that happens before the reply is stored
    takes the half-saved question out again, so the sidebar never shows a question without
    its answer.
    """

    def __init__(self, history: History, err: TextIO) -> None:
        super().__init__(history, on_error=self._warn)
        self._err = err
        self._reply_begun = False

    @classmethod
    async def start(
        cls, open_history: Callable[[], History], err: TextIO
    ) -> AskConversation | None:
        """Open the history off the event loop (it may wait for another process's lock)."""
        try:
            history = await asyncio.get_running_loop().run_in_executor(None, open_history)
        except HISTORY_ERRORS as exc:
            err.write(f"Warning: this answer is not saved in the history ({exc}).\n")
            return None
        return cls(history, err)

    def begin_reply(self, model: str, snapshot: Snapshot) -> ReplyRecorder | None:
        recorder = super().begin_reply(model, snapshot)
        self._reply_begun = recorder is not None
        return recorder

    def close(self) -> None:
        try:
            self.history.close()
        except sqlite3.Error:
            log.warning("could not close the history", exc_info=True)

    def _warn(self, exc: Exception) -> None:
        if self._reply_begun:
            self._err.write(
                f"Warning: the end of this answer was not saved in the history ({exc}).\n"
            )
            return
        self._err.write(f"Warning: this answer is not saved in the history ({exc}).\n")
        # Deleted conversations are purged later, with whatever images they kept.
        self.remove_from(0)
