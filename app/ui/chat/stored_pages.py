"""Which messages of a stored conversation the chat view shows: a window of them, slid on demand.

Drawing a message costs more the more the document already holds (Qt lays out and indexes the
whole QTextDocument): the last 60 of a 2,000-message conversation draw in about a tenth of a
second, all 2,000 take seconds. So the view holds at most `MOST_SHOWN` stored messages: it opens
on the last ones (or around a search hit), and "Show earlier" / "Show later" slide the window a
page at a time. Sending always happens at the end: the window jumps back there first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import PurePath

from app.core import endings
from app.core.messages import ChatMessage, Role
from app.core.reproduce import provenance_text
from app.core.store.records import MessageState, StoredMessage
from app.ui.chat.inspector.sources import stored_inspection
from app.ui.chat.transcript import Act, Speaker
from app.ui.chat.view import ChatView, ShownMessage

SHOWN_AT_OPEN = 60
PAGE = 100
MOST_SHOWN = 160
# A search hit is drawn this many messages below the top, with the question before it in view.
_ABOVE_HIT = 1

Reload = Callable[[], tuple[StoredMessage, ...] | None]


class StoredPages:
    """The window of stored messages drawn in `view`."""

    def __init__(self, view: ChatView, reload: Reload, continuable: Callable[[], bool]) -> None:
        self._view = view
        # The conversation as stored now (after turns sent since it was opened), if it can be read.
        self._reload = reload
        self._continuable = continuable
        self._messages: tuple[StoredMessage, ...] = ()
        self._first = 0
        self._end = 0
        # Turns were added since the messages were read: read them again before sliding.
        self._stale = False

    @property
    def first(self) -> int:
        return self._first

    @property
    def at_end(self) -> bool:
        return self._end >= len(self._messages)

    def clear(self) -> None:
        self._messages, self._first, self._end, self._stale = (), 0, 0, False

    def mark_changed(self) -> None:
        """The conversation changed (a turn at its end); slide from a fresh read."""
        self._stale = True

    def open(self, messages: tuple[StoredMessage, ...], at: int | None = None) -> None:
        """Draw the last messages, or those from just above `at` on, scrolled to `at`."""
        self._messages, self._stale = messages, False
        count = len(messages)
        if at is None or not 0 <= at < count:
            self._draw(max(0, count - SHOWN_AT_OPEN), count)
            return
        first = max(0, at - _ABOVE_HIT)
        self._draw(first, min(count, max(first + SHOWN_AT_OPEN, at + 1)))
        self._view.scroll_to_message(at - first)

    def earlier(self) -> None:
        """Draw a page of earlier messages, keeping the message at the top in view."""
        self._refresh()
        if self._first == 0:
            return
        first = max(0, self._first - PAGE)
        kept = self._first - first
        self._draw(first, min(self._end, first + MOST_SHOWN))
        self._view.scroll_to_message(kept)

    def later(self) -> None:
        """Draw a page of later messages, keeping the last one drawn in view."""
        self._refresh()
        count = len(self._messages)
        if self._end >= count:
            return
        end = min(count, self._end + PAGE)
        first = max(self._first, end - MOST_SHOWN)
        kept = self._end - 1 - first
        self._draw(first, end)
        self._view.scroll_to_message(kept)

    def to_end(self) -> None:
        """Draw the last messages (before a new turn is added at the end)."""
        if self.at_end:
            return
        self._refresh()
        count = len(self._messages)
        self._draw(max(0, count - SHOWN_AT_OPEN), count)

    def _refresh(self) -> None:
        if not self._stale:
            return
        fresh = self._reload()
        if fresh is None:
            return
        # A window that reached the end still does: it now includes the turns added since.
        if self.at_end:
            self._end = len(fresh)
        self._messages, self._stale = fresh, False

    def _draw(self, first: int, end: int) -> None:
        self._first, self._end = first, end
        view = self._view
        view.clear_conversation()
        view.show_messages([shown_stored(m) for m in self._messages[first:end]])
        view.set_earlier_count(first)
        view.set_later_count(len(self._messages) - end)
        view.set_continuable(self.at_end and self._continuable())


def shown_stored(message: StoredMessage) -> ShownMessage:
    """A stored message as the transcript shows it."""
    if message.role is Role.USER:
        return ShownMessage(Speaker.USER, "You", [shown_message(message.as_chat_message())])
    texts = list(message.choices) or [message.content]
    selected = texts.index(message.content) if message.content in texts else 0
    note = message.note or endings.finished(message.finish_reason)
    if not message.content and message.state is MessageState.INTERRUPTED:
        note = endings.INTERRUPTED_EMPTY
    tools, details = stored_inspection(message)
    title = message.model or "Assistant"
    # The title already names the model that answered.
    info = provenance_text("", message.system_fingerprint, message.seed)
    # Only a finished reply can be re-run; one without a seed offers to set one.
    reproduce = None
    if message.state is MessageState.COMPLETE:
        reproduce = Act.RERUN if message.seed is not None else Act.SET_SEED
    return ShownMessage(
        Speaker.ASSISTANT,
        title,
        texts,
        selected,
        note,
        tools,
        details,
        info=info,
        reproduce=reproduce,
    )


def shown_message(message: ChatMessage) -> str:
    """A message as the transcript shows it: its text, then the names of its images."""
    return with_image_names(
        message.text, [PurePath(i.source).name or "image" for i in message.images]
    )


def with_image_names(text: str, names: Sequence[str]) -> str:
    """`text` followed by a line naming its images, "(2 images: a.png, b.jpg)", if any."""
    if not names:
        return text
    note = f"({len(names)} image{'s' if len(names) > 1 else ''}: {', '.join(names)})"
    return f"{text}\n{note}" if text else note
