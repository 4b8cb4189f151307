"""The conversation as the user reads it: their messages and the replies, rendered as Markdown.

Streaming is cheap whatever the length of the reply or of the conversation: deltas are
buffered and reach the document at most once per frame, and each update redraws only the
reply's open Markdown block (see `markdown.stream`); everything before it is final.

Model output is untrusted. Raw HTML is not interpreted, no image or other resource is ever
loaded, and only http(s) links do anything: they open in the system browser when clicked.

The view owns its parts: `pacing` (when streamed text is drawn), `scroll_follow` (keeping the
newest text in sight), `acts` (the links each message offers), `view_links` (what a click on
one does) and `paging` (the offers to show earlier or later messages).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPaintEvent, QTextOption
from PySide6.QtWidgets import QTextBrowser, QWidget

from app.ui.chat.acts import ActOffers, last_message
from app.ui.chat.empty_hint import EMPTY_HINT, paint_empty_hint
from app.ui.chat.pacing import FramePacer
from app.ui.chat.paging import PagingButtons
from app.ui.chat.scroll_follow import ScrollFollow
from app.ui.chat.shown import ShownMessage, add_shown
from app.ui.chat.transcript import Act, Message, Speaker, Transcript
from app.ui.chat.view_links import (
    LinkClicks,
    TextCopier,
    UrlOpener,
    copy_to_clipboard,
    placeholder_resource,
)
from app.ui.markdown.highlight import CodeHighlighter
from app.ui.markdown.links import InternalLinks
from app.ui.markdown.render import CodeRegistry, MarkdownRenderer
from app.ui.markdown.theme import Theme

__all__ = ["EMPTY_HINT", "ChatView", "ShownMessage"]

_THEME_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.FontChange, QEvent.Type.StyleChange)


class ChatView(QTextBrowser):
    """Read-only transcript. One turn is a user message followed by one streamed reply.

    `reply_text_flushed` is emitted each time buffered reply text reaches the document. The
    other signals forward what the user asked for with a message's links: regenerate the last
    reply, edit the last message (or stop editing it), show another choice of the last reply.
    Web links are passed to `open_url` (the system browser unless given).
    """

    reply_text_flushed = Signal()
    regenerate_requested = Signal()
    edit_requested = Signal()
    edit_cancelled = Signal()
    choice_selected = Signal(int)
    continue_requested = Signal()
    # The user asked to see the messages before the first one shown, or after the last.
    earlier_requested = Signal()
    later_requested = Signal()
    # A message's inspector link was clicked: the message and the link's action name.
    inspect_requested = Signal(object, str)
    # The last reply's "Re-run with same seed" or "Set a seed" link was clicked.
    rerun_requested = Signal()
    seed_requested = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        open_url: UrlOpener | None = None,
        copy_text: TextCopier | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.setAccessibleName("Conversation")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setUndoRedoEnabled(False)
        self.setFrameShape(QTextBrowser.Shape.NoFrame)
        document = self.document()
        document.setDocumentMargin(12)
        option = document.defaultTextOption()
        # Long unbroken runs (URLs, hashes) wrap instead of widening the view.
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        document.setDefaultTextOption(option)
        self._links = InternalLinks()
        self._codes = CodeRegistry()
        theme = Theme.from_palette(self.palette(), self.font())
        self._renderer = MarkdownRenderer(theme, self._links, self._codes)
        self._highlighter = CodeHighlighter(document, theme.syntax)
        self._transcript = Transcript(document, self._renderer)
        self._scroll = ScrollFollow(self.verticalScrollBar())
        self._pacer = FramePacer(self, self.flush)
        self._live: Message | None = None
        self._turn_start: int | None = None
        self._acts = ActOffers(self._transcript)
        # Painted while the view is empty; a view used elsewhere (a comparison) says its own.
        self.empty_hint = EMPTY_HINT
        self._clicks = LinkClicks(
            self,
            self._links,
            self._codes,
            open_url or QDesktopServices.openUrl,
            copy_text or copy_to_clipboard,
        )
        self.anchorClicked.connect(self.on_anchor_clicked)
        self._paging = PagingButtons(self.viewport(), self.earlier_requested, self.later_requested)
        self.earlier_button = self._paging.earlier
        self.later_button = self._paging.later
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self.on_scrollbar_value_changed)
        bar.rangeChanged.connect(self.on_scrollbar_range_changed)

    # State

    @property
    def following(self) -> bool:
        """True while the view keeps the newest text in sight."""
        return self._scroll.following

    @property
    def is_empty(self) -> bool:
        return not self._transcript.messages

    @property
    def streaming(self) -> bool:
        return self._live is not None

    @property
    def theme(self) -> Theme:
        return self._renderer.theme

    @property
    def messages(self) -> tuple[Message, ...]:
        return tuple(self._transcript.messages)

    def reply_text(self) -> str:
        """The transcript as text: each message's title, its Markdown source and any note."""
        lines = []
        for message in self._transcript.messages:
            lines.append(message.title)
            lines.append(message.text())
            if message.shown_note:
                lines.append(message.shown_note)
        return "\n".join(lines)

    def last_reply_text(self) -> str:
        """The Markdown source of the last reply, as shown (the selected choice)."""
        reply = self._last(Speaker.ASSISTANT)
        return reply.text() if reply is not None else ""

    def rendered_text(self) -> str:
        """The plain text of the rendered document, as a selection would copy it."""
        return self.document().toPlainText()

    def code_text(self, code_id: int) -> str | None:
        """The exact text of a rendered code block (what its Copy link copies)."""
        return self._codes.text(code_id)

    # Building the conversation

    def clear_conversation(self) -> None:
        self._pacer.drop()
        self._live = None
        self._turn_start = None
        self._acts.reset()
        self._pacer.reset_cost()
        self._transcript.clear()
        self._scroll.following = True
        self.set_earlier_count(0)
        self.set_later_count(0)

    def show_messages(self, messages: Sequence[ShownMessage]) -> None:
        """Add finished messages at the end (a conversation opened from the history)."""
        self.flush()
        with self._scroll.keeping():
            for shown in messages:
                add_shown(self._transcript, shown)
            self._turn_start = None
            self._refresh_acts()

    def set_earlier_count(self, count: int) -> None:
        """Offer to show `count` earlier messages (0 hides the offer)."""
        self._paging.show_earlier(count)

    def set_later_count(self, count: int) -> None:
        """Offer to show `count` later messages (0 hides the offer)."""
        self._acts.later = max(0, count)
        self._paging.show_later(count)
        self._refresh_acts()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._paging.place()

    def scroll_to_message(self, index: int) -> None:
        """Bring message `index` (of those shown) to the top of the view and stop following."""
        messages = self._transcript.messages
        if not 0 <= index < len(messages):
            return
        self.flush()
        top = (
            self.document()
            .documentLayout()
            .blockBoundingRect(self.document().findBlock(messages[index].start.position()))
        )
        self._scroll.scroll_to(int(top.top()) - 8)

    def set_continuable(self, continuable: bool) -> None:
        """Offer Continue on the last reply (it was cut off and can be carried on)."""
        self._acts.continuable = continuable
        self._refresh_acts()

    def set_reply_info(self, info: str | None, reproduce: Act | None = None) -> None:
        """Show `info` after the last reply's title (None keeps it); offer `reproduce` while
        the reply is the last."""
        reply = self._live or self._last(Speaker.ASSISTANT)
        if reply is None:
            return
        reply.reproduce = reproduce
        if info is not None:
            self._transcript.set_info(reply, info)
        self._refresh_acts()

    def set_tools(self, message: Message, tools: tuple[Act, ...], details: object = None) -> None:
        """Offer `tools` (inspector links) in `message`'s header; `details` is what they open."""
        message.details = details
        if message in self._transcript.messages:
            self._transcript.set_tools(message, tools)

    def reopen_last_reply(self, label: str, prefix: str) -> None:
        """Stream more text into the last reply: it is shown again from `prefix` and grows."""
        reply = self._last(Speaker.ASSISTANT)
        if reply is None or reply is not self._transcript.messages[-1]:
            return
        self._acts.continuable = False
        self._remove_from(len(self._transcript.messages) - 1)
        self.begin_reply(label)
        self.append_reply(prefix)
        self.flush()

    def add_user_message(self, text: str) -> None:
        """Start a new turn with the user's message."""
        self.flush()
        self._acts.editing = False
        self._acts.continuable = False
        with self._scroll.keeping():
            self._turn_start = len(self._transcript.messages)
            message = self._transcript.add(Speaker.USER, "You")
            self._transcript.write(message, text)
            self._transcript.draw(message, text)
            self._transcript.finish(message)
            self._refresh_acts()

    def begin_reply(self, label: str, choices: int = 1) -> None:
        """Open the assistant's reply under a header naming `label` (the model)."""
        self.flush()
        with self._scroll.keeping():
            self._live = self._transcript.add(Speaker.ASSISTANT, label, choices=max(1, choices))
            self._refresh_acts()

    def append_reply(self, text: str, choice: int = 0) -> None:
        """Queue streamed text of `choice`; it reaches the document on the next frame."""
        live = self._live
        if not text or live is None:
            return
        if self._transcript.write(live, text, choice):
            self._pacer.queue(text)

    def frame_interval_ms(self) -> int:
        """How long streamed text waits before it is drawn: a frame, more when drawing is slow."""
        return self._pacer.interval_ms()

    def flush(self) -> None:
        """Write queued reply text now."""
        if not self._pacer.pending or self._live is None:
            self._pacer.drop()
            return
        started = time.perf_counter()
        text = self._pacer.take()
        with self._scroll.keeping():
            self._transcript.draw(self._live, text)
        self._pacer.drew(time.perf_counter() - started)
        self.reply_text_flushed.emit()

    def end_reply(self, note: str = "", choice_notes: Mapping[int, str] | None = None) -> None:
        """Close the reply; `note` (why it ended early) is shown under it, not part of it.

        `choice_notes` are per choice (one was cut by the token limit) and shown with it.
        """
        self.flush()
        live, self._live = self._live, None
        if live is None:
            return
        live.note = note
        live.choice_notes = dict(choice_notes or {})
        with self._scroll.keeping():
            self._transcript.finish(live)
            self._refresh_acts()

    def rollback_turn(self) -> None:
        """Remove the current turn (user message and any reply) from the transcript."""
        if self._turn_start is None:
            self._pacer.drop()
            return
        start, self._turn_start = self._turn_start, None
        self._remove_from(start)

    def remove_last_exchange(self) -> None:
        """Remove the last user message and everything after it."""
        messages = self._transcript.messages
        users = [i for i, m in enumerate(messages) if m.speaker is Speaker.USER]
        if users:
            self._turn_start = None
            self._remove_from(users[-1])

    def set_editing(self, editing: bool) -> None:
        """Mark the last user message as being edited (sending will replace its exchange)."""
        self._acts.editing = editing
        self._refresh_acts()

    def select_choice(self, choice: int) -> None:
        """Show choice `choice` of the last reply; the conversation continues with it."""
        reply = self._last(Speaker.ASSISTANT)
        if reply is None or reply is not self._transcript.messages[-1]:
            return
        if not 0 <= choice < reply.choices or choice == reply.selected:
            return
        if reply is self._live:
            self.flush()
        with self._scroll.keeping():
            self._transcript.select(reply, choice)
        self.choice_selected.emit(choice)

    # Links

    def on_anchor_clicked(self, url: QUrl) -> None:
        self._clicks.click(url)

    def loadResource(self, type: int, name: QUrl | str) -> Any:
        return placeholder_resource(type)

    # Scrolling

    def on_scrollbar_value_changed(self, value: int) -> None:
        self._scroll.on_value_changed(value)

    def on_scrollbar_range_changed(self, _minimum: int, maximum: int) -> None:
        self._scroll.on_range_changed(_minimum, maximum)

    # Appearance

    def paintEvent(self, event: QPaintEvent) -> None:
        started = time.perf_counter()
        super().paintEvent(event)
        if self.is_empty:
            paint_empty_hint(self, self.empty_hint)
        self._pacer.painted(time.perf_counter() - started)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in _THEME_EVENTS and hasattr(self, "_transcript"):
            self._apply_theme()

    def _apply_theme(self) -> None:
        theme = Theme.from_palette(self.palette(), self.font())
        if theme == self._renderer.theme:
            return
        self._renderer.theme = theme
        self._highlighter.set_colors(theme.syntax, rehighlight=False)
        self.flush()
        with self._scroll.keeping():
            self._transcript.rebuild()

    # Helpers

    def _remove_from(self, index: int) -> None:
        self._pacer.drop()
        removed = self._transcript.remove_from(index)
        if self._live is not None and self._live in removed:
            self._live = None
        self._acts.forget(removed)
        self._acts.editing = False
        self._refresh_acts()

    def _last(self, speaker: Speaker) -> Message | None:
        return last_message(self._transcript.messages, speaker)

    def _refresh_acts(self) -> None:
        self._acts.refresh(self._live)
