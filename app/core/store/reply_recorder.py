"""Writing a reply to the history while it streams, so a crash loses at most a moment of it.

Text arrives hundreds of times a second; writing each delta would cost a transaction (and a
re-index of the message for search) per delta. The recorder writes at most once per
`interval_s`, and when deltas stop arriving (a stall, or the end of a burst) a timer writes the
rest `interval_s` after the last write, so what is on disk is never more than about
`interval_s` behind what was shown.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence

from app.core.store.history import History

log = logging.getLogger(__name__)

# What the reply looks like now: the text continued with, and every choice's text when n > 1.
Snapshot = Callable[[], tuple[str, Sequence[str]]]

DEFAULT_INTERVAL_S = 0.5


class ReplyRecorder:
    """Saves snapshots of one streaming reply (`History.begin_reply`'s message) as it grows."""

    def __init__(
        self,
        history: History,
        message_id: int,
        snapshot: Snapshot,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._history = history
        self.message_id = message_id
        self._snapshot = snapshot
        self._interval_s = interval_s
        self._clock = clock
        self._last_write = clock()
        self._dirty = False
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.writes = 0

    def changed(self) -> None:
        """The reply grew: save it now if the last save is old enough, else soon."""
        if self._closed:
            return
        self._dirty = True
        waited = self._clock() - self._last_write
        if waited >= self._interval_s:
            self._save()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._interval_s - waited, self._on_timer)

    def close(self) -> None:
        """Stop saving (the caller writes the final state with `History.finish_reply`)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        if self._dirty and not self._closed:
            self._save()

    def _save(self) -> None:
        if self._timer is not None:
            # A timer still pending (it fires late when the loop is busy) would save again
            # right after this save, more often than once per interval.
            self._timer.cancel()
            self._timer = None
        self._dirty = False
        self._last_write = self._clock()
        content, choices = self._snapshot()
        try:
            self._history.save_partial(self.message_id, content, choices)
        except sqlite3.Error:
            # The reply goes on on screen; the final write will try again and report.
            log.exception("could not save the reply as it streamed")
            return
        self.writes += 1
