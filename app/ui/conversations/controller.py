"""The sidebar and the search dialog, connected to the history and the chat controller.

Widgets only show rows and forward what the user asked for; this object does the asking:
it reads and changes the history (reads that can be large run off the GUI thread) and tells
the controller which conversation to show.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QObject

from app.core.interrupted import settle_interrupted
from app.core.store.database import DatabaseTooNew
from app.core.store.history import ConversationNotFound, History
from app.core.store.ledger import UsageLedger
from app.core.store.records import SearchHit
from app.ui.chat.controller import ChatController
from app.ui.conversations.search_dialog import SearchDialog
from app.ui.conversations.sidebar import Sidebar
from app.ui.widgets.error_banner import ErrorBanner

log = logging.getLogger(__name__)

Track = Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]


class ConversationBrowser(QObject):
    """Opens, renames, pins, deletes and finds conversations for one window."""

    def __init__(
        self,
        *,
        history: History,
        controller: ChatController,
        sidebar: Sidebar,
        search_dialog: SearchDialog | None = None,
        banner: ErrorBanner,
        track: Track,
        ledger: Callable[[], UsageLedger] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._history = history
        # Opens the usage ledger (blocking) to pay for replies cut off by the last exit.
        self._ledger = ledger
        self._controller = controller
        self._sidebar = sidebar
        self._banner = banner
        self._track = track
        self._opening: asyncio.Task[None] | None = None
        self.search_dialog = search_dialog or SearchDialog(self.search, parent=sidebar.window())
        sidebar.set_source(self._page, history.conversation_count)
        sidebar.conversation_selected.connect(self.on_sidebar_conversation_selected)
        sidebar.search_requested.connect(self.on_sidebar_search_requested)
        sidebar.rename_requested.connect(self.on_sidebar_rename_requested)
        sidebar.pin_requested.connect(self.on_sidebar_pin_requested)
        sidebar.delete_requested.connect(self.on_sidebar_delete_requested)
        sidebar.undo_delete_requested.connect(self.on_sidebar_undo_delete_requested)
        self.search_dialog.hit_activated.connect(self.on_search_dialog_hit_activated)
        controller.conversation_opened.connect(self.on_controller_conversation_opened)
        controller.conversation_saved.connect(self.on_conversation_saved)
        controller.background_changed.connect(sidebar.show_activity)
        # `chatdesk ask` and the quick-ask popup add conversations too: the list catches up
        # whenever the user comes back to the window.
        sidebar.window().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.WindowActivate:
            self._sidebar.refresh()
        return False

    def _page(self, offset: int, limit: int) -> Sequence[Any]:
        return self._history.list_conversations(limit=limit, offset=offset)

    # Opening

    def open(self, conversation_id: int, position: int | None = None) -> asyncio.Task[None]:
        """Open a conversation (a newer request replaces one still loading)."""
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
        self._opening = self._track(self.load_and_show(conversation_id, position))
        return self._opening

    async def load_and_show(self, conversation_id: int, position: int | None = None) -> None:
        if conversation_id == self._controller.conversation_id and position is None:
            return
        loop = asyncio.get_running_loop()
        try:
            stored = await loop.run_in_executor(None, self._history.load, conversation_id)
        except ConversationNotFound:
            self._banner.show_problem(
                "That conversation no longer exists", "It was deleted; pick another one."
            )
            self._sidebar.refresh()
            return
        except sqlite3.Error as exc:
            log.exception("could not open conversation %s", conversation_id)
            self._banner.show_problem(
                "The conversation could not be opened", f"The history database said: {exc}."
            )
            return
        self._controller.open_conversation(stored, at_position=position)

    def on_sidebar_conversation_selected(self, conversation_id: int) -> None:
        self.open(conversation_id)

    def on_search_dialog_hit_activated(self, conversation_id: int, position: int) -> None:
        self.open(conversation_id, position)

    def on_controller_conversation_opened(self, conversation_id: int | None) -> None:
        self._sidebar.select_conversation(conversation_id)

    def on_conversation_saved(self, _conversation_id: int) -> None:
        """A message or reply was written: the conversation moves up the sidebar (the one saved
        may be streaming behind the open one, which stays selected)."""
        self._sidebar.refresh()
        self._sidebar.select_conversation(self._controller.conversation_id)

    # Search

    def on_sidebar_search_requested(self) -> None:
        self.search_dialog.open_fresh()

    async def search(self, text: str) -> Sequence[SearchHit]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(self._history.search, text))

    # Editing the list

    def on_sidebar_rename_requested(self, conversation_id: int, title: str) -> None:
        self._change(functools.partial(self._history.rename, conversation_id, title))

    def on_sidebar_pin_requested(self, conversation_id: int, pinned: bool) -> None:
        self._change(functools.partial(self._history.set_pinned, conversation_id, pinned))

    def on_sidebar_delete_requested(self, conversation_id: int) -> None:
        if conversation_id == self._controller.conversation_id:
            # Deleting the open conversation leaves an empty chat, as a new one would.
            self._controller.new_chat()
        # A reply streaming into a conversation being deleted has nobody left to read it.
        self._controller.stop_streaming(conversation_id)
        self._change(functools.partial(self._history.delete, conversation_id))

    def on_sidebar_undo_delete_requested(self, conversation_id: int) -> None:
        self._change(functools.partial(self._history.restore, conversation_id))

    def _change(self, change: Callable[[], None]) -> None:
        try:
            change()
        except sqlite3.Error as exc:
            log.exception("could not change the history")
            self._banner.show_problem(
                "The history could not be changed", f"The history database said: {exc}."
            )
        self._sidebar.refresh()

    # Start-up

    async def _pay_for(self, interrupted: Sequence[tuple[int, int]]) -> None:
        """The provider billed what the cut-off replies generated: estimate and record it."""
        if self._ledger is None:
            return
        loop = asyncio.get_running_loop()
        try:
            ledger = await loop.run_in_executor(None, self._ledger)
        except (sqlite3.Error, DatabaseTooNew):
            log.warning("usage ledger unavailable: interrupted replies not recorded", exc_info=True)
            return
        try:
            await settle_interrupted(
                self._history,
                ledger,
                interrupted,
                before_counting=self._controller.background.counting,
            )
        finally:
            await loop.run_in_executor(None, ledger.close)

    async def tidy(self) -> None:
        """Mark replies cut off by a crash as interrupted (and pay for them), and purge
        long-deleted conversations.

        The most recent conversation with such a reply is opened, so the user sees at once
        what was cut off (with Continue and Regenerate), unless they already moved on.
        """
        loop = asyncio.get_running_loop()
        history = self._history
        try:
            cut_off = await loop.run_in_executor(None, history.streaming_conversations)
            interrupted = await loop.run_in_executor(None, history.recover_interrupted)
            await loop.run_in_executor(None, history.purge_deleted)
        except sqlite3.Error:
            log.exception("could not tidy the history")
            return
        if interrupted:
            # Counting waits for the connection's SDK import (imports must not overlap), which
            # a start without a key never makes: paying must not hold up the rest.
            self._track(self._pay_for(interrupted))
        self._sidebar.refresh()
        if not cut_off:
            return
        log.info("%d conversation(s) had a reply cut off by the last exit", len(cut_off))
        controller = self._controller
        if (
            controller.conversation_id is None
            and not controller.busy
            and not controller.conversation
        ):
            await self.load_and_show(cut_off[0])
            log.info("opened conversation %d with its interrupted reply", cut_off[0])
