"""Ties the inspector to a chat window: which replies offer it, and what the dock shows.

A reply streamed with logprobs (or in JSON mode) gets header links as it starts; a stored one
gets them when it is drawn (see `stored_pages`). Clicking a link shows that reply in the dock.
While the dock shows a reply still streaming, it catches up once per frame; and while the dock
is open, each new reply takes it over as it starts, so it can be watched as it streams.
"""

from __future__ import annotations

import time
from typing import cast

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QMainWindow

from app.core.catalog import lookup
from app.ui.chat.controller import ChatController
from app.ui.chat.inspector.dock import InspectorDock
from app.ui.chat.inspector.sources import (
    INVALID_JSON,
    JSON,
    PROBABILITIES,
    LiveReply,
    ReplySource,
    source_tools,
)
from app.ui.chat.pacing import DRAW_SHARE, FRAME_MS, MAX_FRAME_MS
from app.ui.chat.transcript import Message
from app.ui.chat.view import ChatView

# The dock's width the first time it opens: room for a paragraph of tokens or two tree columns.
DOCK_WIDTH = 420


class ReplyInspector(QObject):
    """Offers the inspector on replies that have something to inspect, and feeds the dock."""

    def __init__(
        self,
        controller: ChatController,
        view: ChatView,
        dock: InspectorDock,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._view = view
        self._dock = dock
        self._live: tuple[Message, LiveReply] | None = None
        self._sized = False
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self.on_timer_timeout)
        # Seconds a catch-up took (smoothed): in a flood, catch-ups are spaced like the chat
        # view's frames, so drawing tokens never takes more than a small share of the time.
        self._cost = 0.0
        controller.reply_started.connect(self.on_controller_reply_started)
        controller.reply_ended.connect(self.on_controller_reply_ended)
        controller.conversation_opened.connect(self.on_controller_conversation_opened)
        view.inspect_requested.connect(self.on_view_inspect_requested)
        dock.visibilityChanged.connect(self.on_dock_visibility_changed)

    @property
    def following(self) -> bool:
        """True while the dock catches up with a streaming reply every frame."""
        return self._timer.isActive()

    def on_controller_reply_started(self) -> None:
        controller = self._controller
        reply, messages = controller.reply, self._view.messages
        if reply is None or not messages:
            return
        message = messages[-1]
        params = controller.params.without_unsupported(lookup(controller.model))
        source = LiveReply(
            reply,
            model=controller.model,
            choices=message.choices,
            json_mode=params.json_mode,
            logprobs=params.logprobs,
        )
        self._live = (message, source)
        self._view.set_tools(message, source_tools(source, message.selected), source)
        if self._dock.isVisible() and (source.has_logprobs or source.json_mode):
            self._dock.show_reply(source, self._dock.kind or PROBABILITIES, message.selected)
        self._sync_timer()

    def on_controller_reply_ended(self) -> None:
        live, self._live = self._live, None
        if live is None:
            return
        message, source = live
        source.finish()
        if message in self._view.messages:
            self._view.set_tools(message, source_tools(source, message.selected), source)
            if self._dock.source is source:
                self._dock.refresh()
        elif self._dock.source is source:
            # The turn was withdrawn (nothing arrived): there is nothing left to inspect.
            self._dock.clear()
        self._sync_timer()

    def on_controller_conversation_opened(self, _conversation: object) -> None:
        self._dock.clear()
        self._sync_timer()

    def on_view_inspect_requested(self, message: Message, action: str) -> None:
        if message.details is None:
            return
        # Only the inspector sets a message's details, always to a source.
        source = cast(ReplySource, message.details)
        kind = JSON if action in (JSON, INVALID_JSON) else PROBABILITIES
        self._open_dock()
        self._dock.show_reply(source, kind, message.selected)
        self._sync_timer()

    def on_dock_visibility_changed(self, visible: bool) -> None:
        if visible:
            self._dock.refresh()
        self._sync_timer()

    def on_timer_timeout(self) -> None:
        started = time.perf_counter()
        self._dock.refresh()
        self._cost = (self._cost + time.perf_counter() - started) / 2
        spaced = min(MAX_FRAME_MS, max(FRAME_MS, self._cost * 1000 * DRAW_SHARE))
        self._timer.setInterval(int(spaced))
        self._sync_timer()

    def _sync_timer(self) -> None:
        source = self._dock.source
        follow = source is not None and source.streaming and self._dock.isVisible()
        if follow and not self._timer.isActive():
            self._timer.start()
        elif not follow:
            self._timer.stop()

    def _open_dock(self) -> None:
        dock = self._dock
        if not dock.isVisible():
            dock.show()
            window = dock.parentWidget()
            if isinstance(window, QMainWindow) and not self._sized:
                self._sized = True
                window.resizeDocks([dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)
        dock.raise_()
