"""The conversation as the user reads it: their messages and the replies, rendered as Markdown.

Streaming is cheap whatever the length of the reply or of the conversation: deltas are
buffered and reach the document at most once per frame, and each update redraws only the
reply's open Markdown block (see `markdown.stream`); everything before it is final.

Model output is untrusted. Raw HTML is not interpreted, no image or other resource is ever
loaded, and only http(s) links do anything: they open in the system browser when clicked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QGuiApplication,
    QImage,
    QPainter,
    QPaintEvent,
    QPalette,
    QTextDocument,
    QTextOption,
)
from PySide6.QtWidgets import QPushButton, QTextBrowser, QWidget

from app.ui.chat.transcript import Act, Message, Speaker, Transcript
from app.ui.markdown.highlight import CodeHighlighter
from app.ui.markdown.links import InternalLinks, is_web_link
from app.ui.markdown.render import CodeRegistry, MarkdownRenderer
from app.ui.markdown.theme import Theme

# One frame at 60 Hz: the most often a streamed reply is repainted.
FRAME_MS = 16
# While a flood of text makes each update costly, updates are spaced so that drawing takes at
# most about 1/DRAW_SHARE of the time (a frame costs well under 1 ms at a normal pace), down
# to 20 updates a second.
MAX_FRAME_MS = 50
DRAW_SHARE = 12
# How close to the bottom (in pixels) still counts as "at the bottom" for auto-scroll.
_FOLLOW_SLACK_PX = 4
_THEME_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.FontChange, QEvent.Type.StyleChange)

UrlOpener = Callable[[QUrl], object]
TextCopier = Callable[[str], None]


def _copy_to_clipboard(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


@dataclass(frozen=True)
class ShownMessage:
    """A finished message to show as it was stored: its text per choice and any note."""

    speaker: Speaker
    title: str
    texts: Sequence[str]
    selected: int = 0
    note: str = ""
    # Inspector links in the header, and what they open (see `ChatView.set_tools`).
    tools: tuple[Act, ...] = ()
    details: object = None
    # What answered, on which build, with which seed; and the reproducibility link offered.
    info: str = ""
    reproduce: Act | None = None


EMPTY_HINT = "Your conversation appears here  ·  Esc stops a reply  ·  Ctrl+N starts a new chat"


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
        self._open_url: UrlOpener = open_url or QDesktopServices.openUrl
        self._copy_text: TextCopier = copy_text or _copy_to_clipboard
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
        self._live: Message | None = None
        self._pending: list[str] = []
        self._turn_start: int | None = None
        self._editing = False
        self._continuable = False
        self._acted: list[Message] = []
        # Painted while the view is empty; a view used elsewhere (a comparison) says its own.
        self.empty_hint = EMPTY_HINT
        self._follow = True
        self._updating = False
        self._last_value = 0
        # Seconds the last updates took to write and paint (smoothed), and paint time since.
        self._draw_cost = 0.0
        self._paint_time = 0.0
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FRAME_MS)
        self._flush_timer.timeout.connect(self.flush)
        self.anchorClicked.connect(self.on_anchor_clicked)
        # Over the top of the view, not in the document: the transcript only grows at the end.
        self.earlier_button = QPushButton(self.viewport())
        self.earlier_button.setObjectName("earlierMessagesButton")
        self.earlier_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.earlier_button.setAccessibleName("Show earlier messages")
        self.earlier_button.clicked.connect(self.earlier_requested)
        self.earlier_button.hide()
        self.later_button = QPushButton(self.viewport())
        self.later_button.setObjectName("laterMessagesButton")
        self.later_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.later_button.setAccessibleName("Show later messages")
        self.later_button.clicked.connect(self.later_requested)
        self.later_button.hide()
        # Stored messages after the last one shown: while there are any, the transcript does
        # not end where the conversation does, and redoing the "last" exchange is not offered.
        self._later = 0
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self.on_scrollbar_value_changed)
        bar.rangeChanged.connect(self.on_scrollbar_range_changed)

    # State

    @property
    def following(self) -> bool:
        """True while the view keeps the newest text in sight."""
        return self._follow

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
        self._flush_timer.stop()
        self._pending.clear()
        self._live = None
        self._turn_start = None
        self._editing = False
        self._continuable = False
        self._acted = []
        self._draw_cost = 0.0
        self._transcript.clear()
        self._follow = True
        self.set_earlier_count(0)
        self.set_later_count(0)

    def show_messages(self, messages: Sequence[ShownMessage]) -> None:
        """Add finished messages at the end (a conversation opened from the history)."""
        self.flush()
        with self._keeping_scroll():
            for shown in messages:
                count = max(1, len(shown.texts))
                message = self._transcript.add(
                    shown.speaker, shown.title, choices=count, tools=shown.tools
                )
                message.details = shown.details
                message.reproduce = shown.reproduce
                self._transcript.set_info(message, shown.info)
                for choice, text in enumerate(shown.texts):
                    self._transcript.write(message, text, choice)
                message.selected = min(max(shown.selected, 0), count - 1)
                self._transcript.draw(message, message.text())
                message.note = shown.note
                self._transcript.finish(message)
            self._turn_start = None
            self._refresh_acts()

    def set_earlier_count(self, count: int) -> None:
        """Offer to show `count` earlier messages (0 hides the offer)."""
        if count <= 0:
            self.earlier_button.hide()
            return
        noun = "message" if count == 1 else "messages"
        self.earlier_button.setText(f"Show {count:,} earlier {noun}")
        self.earlier_button.adjustSize()
        self._place_earlier_button()
        self.earlier_button.show()

    def set_later_count(self, count: int) -> None:
        """Offer to show `count` later messages (0 hides the offer)."""
        self._later = max(0, count)
        if count <= 0:
            self.later_button.hide()
        else:
            noun = "message" if count == 1 else "messages"
            self.later_button.setText(f"Show {count:,} later {noun}")
            self.later_button.adjustSize()
            self._place_earlier_button()
            self.later_button.show()
        self._refresh_acts()

    def _place_earlier_button(self) -> None:
        viewport = self.viewport()
        for button, top in (
            (self.earlier_button, 6),
            (self.later_button, viewport.height() - self.later_button.height() - 6),
        ):
            button.move(max(0, (viewport.width() - button.width()) // 2), max(0, top))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._place_earlier_button()

    def scroll_to_message(self, index: int) -> None:
        """Bring message `index` (of those shown) to the top of the view and stop following."""
        messages = self._transcript.messages
        if not 0 <= index < len(messages):
            return
        self.flush()
        self._follow = False
        top = (
            self.document()
            .documentLayout()
            .blockBoundingRect(self.document().findBlock(messages[index].start.position()))
        )
        bar = self.verticalScrollBar()
        bar.setValue(min(bar.maximum(), max(0, int(top.top()) - 8)))
        self._last_value = bar.value()

    def set_continuable(self, continuable: bool) -> None:
        """Offer Continue on the last reply (it was cut off and can be carried on)."""
        self._continuable = continuable
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
        self._continuable = False
        self._remove_from(len(self._transcript.messages) - 1)
        self.begin_reply(label)
        self.append_reply(prefix)
        self.flush()

    def add_user_message(self, text: str) -> None:
        """Start a new turn with the user's message."""
        self.flush()
        self._editing = False
        self._continuable = False
        with self._keeping_scroll():
            self._turn_start = len(self._transcript.messages)
            message = self._transcript.add(Speaker.USER, "You")
            self._transcript.write(message, text)
            self._transcript.draw(message, text)
            self._transcript.finish(message)
            self._refresh_acts()

    def begin_reply(self, label: str, choices: int = 1) -> None:
        """Open the assistant's reply under a header naming `label` (the model)."""
        self.flush()
        with self._keeping_scroll():
            self._live = self._transcript.add(Speaker.ASSISTANT, label, choices=max(1, choices))
            self._refresh_acts()

    def append_reply(self, text: str, choice: int = 0) -> None:
        """Queue streamed text of `choice`; it reaches the document on the next frame."""
        live = self._live
        if not text or live is None:
            return
        if self._transcript.write(live, text, choice):
            # Text is pending exactly while the timer runs, which spares asking Qt.
            if not self._pending:
                self._flush_timer.start(self.frame_interval_ms())
            self._pending.append(text)

    def frame_interval_ms(self) -> int:
        """How long streamed text waits before it is drawn: a frame, more when drawing is slow."""
        return int(min(MAX_FRAME_MS, max(FRAME_MS, self._draw_cost * 1000 * DRAW_SHARE)))

    def flush(self) -> None:
        """Write queued reply text now."""
        self._flush_timer.stop()
        if not self._pending or self._live is None:
            self._pending.clear()
            return
        started = time.perf_counter()
        text = "".join(self._pending)
        self._pending.clear()
        with self._keeping_scroll():
            self._transcript.draw(self._live, text)
        cost = time.perf_counter() - started + self._paint_time
        self._paint_time = 0.0
        self._draw_cost = (self._draw_cost + cost) / 2
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
        with self._keeping_scroll():
            self._transcript.finish(live)
            self._refresh_acts()

    def rollback_turn(self) -> None:
        """Remove the current turn (user message and any reply) from the transcript."""
        if self._turn_start is None:
            self._flush_timer.stop()
            self._pending.clear()
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
        self._editing = editing
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
        with self._keeping_scroll():
            self._transcript.select(reply, choice)
        self.choice_selected.emit(choice)

    # Links

    def on_anchor_clicked(self, url: QUrl) -> None:
        action = self._links.parse(url)
        if action is None:
            if is_web_link(url.toString()):
                self._open_url(url)
            return
        if action.name == "copy-code":
            text = self._codes.text(int(action.argument)) if action.argument.isdigit() else None
            if text is not None:
                self._copy_text(text)
            return
        serial, _, choice = action.argument.partition(".")
        message = next((m for m in self._transcript.messages if str(m.serial) == serial), None)
        if message is None:
            return
        if action.name == "copy":
            self._copy_text(message.text())
        elif action.name == "choice" and choice.isdigit():
            self.select_choice(int(choice))
        elif action.name in {t.name.lower().replace("_", "-") for t in message.tools}:
            self.inspect_requested.emit(message, action.name)
        elif self._live is not None:
            return
        elif action.name == "edit" and message is self._last(Speaker.USER):
            self.edit_requested.emit()
        elif action.name == "cancel-edit":
            self.edit_cancelled.emit()
        elif action.name == "regenerate" and message is self._last(Speaker.ASSISTANT):
            self.regenerate_requested.emit()
        elif action.name == "continue" and message is self._last(Speaker.ASSISTANT):
            self.continue_requested.emit()
        elif action.name == "rerun" and message is self._last(Speaker.ASSISTANT):
            self.rerun_requested.emit()
        elif action.name == "set-seed" and message is self._last(Speaker.ASSISTANT):
            self.seed_requested.emit()

    def loadResource(self, type: int, name: QUrl | str) -> Any:
        # Nothing in the transcript refers to a resource, and model text must never make the
        # view read one: answer every request with an empty placeholder (a null answer would
        # make Qt try the local file system itself).
        if type == QTextDocument.ResourceType.ImageResource.value:
            image = QImage(1, 1, QImage.Format.Format_ARGB32)
            image.fill(0)
            return image
        return " "

    # Scrolling

    def on_scrollbar_value_changed(self, value: int) -> None:
        previous, self._last_value = self._last_value, value
        maximum = self.verticalScrollBar().maximum()
        # A shorter document pulls the value down to the new maximum: not the user's doing.
        if self._updating or (value == maximum and previous > value):
            return
        self._follow = value >= maximum - _FOLLOW_SLACK_PX

    def on_scrollbar_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow and not self._updating:
            self.verticalScrollBar().setValue(maximum)

    @contextmanager
    def _keeping_scroll(self) -> Iterator[None]:
        """Edit the document without the edit moving the view or changing `following`."""
        bar = self.verticalScrollBar()
        value, follow = bar.value(), self._follow
        self._updating = True
        try:
            yield
        finally:
            self._updating = False
            self._follow = follow
            bar.setValue(bar.maximum() if follow else min(value, bar.maximum()))
            self._last_value = bar.value()

    # Appearance

    def paintEvent(self, event: QPaintEvent) -> None:
        started = time.perf_counter()
        super().paintEvent(event)
        if self.is_empty:
            self._paint_empty_hint()
        self._paint_time += time.perf_counter() - started

    def _paint_empty_hint(self) -> None:
        # Drawn here rather than with setPlaceholderText: Qt clips its placeholder to the first
        # block's height, which a cleared document leaves a few pixels tall.
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        margin = round(self.document().documentMargin())
        painter.drawText(
            self.viewport().rect().adjusted(margin, margin, -margin, -margin),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap),
            self.empty_hint,
        )
        painter.end()

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
        with self._keeping_scroll():
            self._transcript.rebuild()

    # Helpers

    def _remove_from(self, index: int) -> None:
        self._flush_timer.stop()
        self._pending.clear()
        removed = self._transcript.remove_from(index)
        if self._live is not None and self._live in removed:
            self._live = None
        self._acted = [m for m in self._acted if m not in removed]
        self._editing = False
        self._refresh_acts()

    def _last(self, speaker: Speaker) -> Message | None:
        for message in reversed(self._transcript.messages):
            if message.speaker is speaker:
                return message
        return None

    def _refresh_acts(self) -> None:
        """Only the last exchange offers Edit and Regenerate, and only between replies."""
        last_user = self._last(Speaker.USER)
        last_reply = self._last(Speaker.ASSISTANT)
        messages = self._transcript.messages
        if last_reply is not None and last_reply is not messages[-1]:
            last_reply = None
        idle = self._live is None and self._later == 0
        touched = [*self._acted, *(m for m in (last_user, last_reply) if m is not None)]
        for message in touched:
            acts: tuple[Act, ...] = (Act.COPY,)
            editing = False
            if message is last_user and idle:
                editing = self._editing
                acts = (Act.CANCEL_EDIT, Act.COPY) if editing else (Act.EDIT, Act.COPY)
            elif message is last_reply and idle:
                acts = (Act.COPY, Act.REGENERATE)
                if self._continuable:
                    acts = (Act.COPY, Act.CONTINUE, Act.REGENERATE)
                if message.reproduce is not None:
                    acts += (message.reproduce,)
            self._transcript.set_acts(message, acts, editing=editing)
            self._transcript.set_switchable(message, message is last_reply)
        self._acted = [m for m in (last_user, last_reply) if m is not None]
