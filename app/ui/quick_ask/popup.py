"""The quick-ask popup: a small always-on-top window for one question asked from anywhere.

Built once at start-up and only shown and hidden afterwards, so the hotkey shows it at once.
Widgets only: the controller (`quick_ask/controller.py`) sends the question and streams the answer
in; the popup renders what it is told and forwards what the user does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QMimeData, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QCursor,
    QDesktopServices,
    QGuiApplication,
    QHideEvent,
    QKeySequence,
    QShortcut,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.messages import Detail
from app.core.settings import SendShortcut
from app.ui.attachments.area import ImageArea
from app.ui.chat.composer import Composer
from app.ui.markdown.links import is_web_link
from app.ui.widgets.theme import Tone, set_tone

POPUP_TITLE = "Quick ask — Chatdesk"
POPUP_WIDTH = 640
INPUT_MAX_LINES = 6
ANSWER_MAX_HEIGHT = 420
# One frame at 60 Hz: streamed text is drawn at most this often.
FRAME_MS = 16
_MARKDOWN = (
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub
    | QTextDocument.MarkdownFeature.MarkdownNoHTML
)


class OfferKind(StrEnum):
    IMAGE = "image"
    TEXT = "text"


@dataclass(frozen=True)
class ClipboardOffer:
    """What the clipboard held when the popup opened, offered as an attachment."""

    kind: OfferKind
    text: str = ""  # the copied text (TEXT only)

    @property
    def description(self) -> str:
        if self.kind is OfferKind.IMAGE:
            return "The clipboard holds an image."
        first = " ".join(self.text.split())
        preview = first if len(first) <= 48 else first[:47] + "…"
        return f"The clipboard holds text ({len(self.text):,} characters): “{preview}”"


class QuestionInput(Composer):
    """A one-line input that grows with its text, up to a few lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(SendShortcut.ENTER, parent)
        self.setObjectName("quickAskInput")
        self.setAccessibleName("Question")
        self.setPlaceholderText("Ask anything…  (Shift+Enter adds a line)")
        # Too short for a scroll bar at first; the text scrolls with the cursor beyond the limit.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumHeight(self._height_for_lines(1))

    def sizeHint(self) -> QSize:
        lines = int(self.document().size().height())
        height = self._height_for_lines(max(1, min(lines, INPUT_MAX_LINES)))
        return QSize(super().sizeHint().width(), height)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self._height_for_lines(1))


class AnswerView(QTextBrowser):
    """The answer as Markdown, redrawn at most once a frame while it streams.

    Model output is untrusted: raw HTML is not interpreted, nothing is loaded, and only http(s)
    links open (in the browser) when clicked.
    """

    # The answer was redrawn: the popup grows with it.
    redrawn = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quickAskAnswer")
        self.setAccessibleName("Answer")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.document().setDocumentMargin(6)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self._text = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self.flush)
        self.anchorClicked.connect(self.on_anchor_clicked)
        self.document().documentLayout().documentSizeChanged.connect(self.updateGeometry)

    @property
    def markdown(self) -> str:
        """The answer's Markdown source so far (drawn or not)."""
        return self._text

    def set_answer(self, text: str) -> None:
        self._text = text
        self.flush()

    def append(self, text: str) -> None:
        self._text += text
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        self._timer.stop()
        # Quick answers are short: re-rendering the whole answer once a frame stays cheap.
        self.document().setMarkdown(self._text, _MARKDOWN)
        self.updateGeometry()
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())
        self.redrawn.emit()

    def sizeHint(self) -> QSize:
        height = int(self.document().size().height()) + 2 * self.frameWidth() + 4
        return QSize(super().sizeHint().width(), min(max(height, 24), ANSWER_MAX_HEIGHT))

    def loadResource(self, type: int, name: QUrl | str) -> None:
        return None

    def on_anchor_clicked(self, url: QUrl) -> None:
        if is_web_link(url.toString()):
            QDesktopServices.openUrl(url)


class QuickAskPopup(QWidget):
    """The popup. `submitted` when Enter is pressed, `dismissed` when it is hidden."""

    submitted = Signal()
    dismissed = Signal()
    open_in_chatdesk_clicked = Signal()
    offer_accepted = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # A tool window stays out of the task bar; on top, so it is never opened behind the
        # window the user is working in.
        self.setWindowFlags(
            Qt.WindowType.Tool
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.FramelessWindowHint
        )
        self.setObjectName("quickAskPopup")
        self.setWindowTitle(POPUP_TITLE)
        self.setAccessibleName("Quick ask")
        self.setFixedWidth(POPUP_WIDTH)
        self._offer: ClipboardOffer | None = None

        frame = QFrame(self)
        frame.setObjectName("quickAskFrame")
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        self.title_label = QLabel("Quick ask", frame)
        self.title_label.setObjectName("quickAskTitle")
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.model_label = QLabel(frame)
        self.model_label.setObjectName("quickAskModel")
        set_tone(self.model_label, Tone.MUTED)
        self.open_button = QPushButton("Open in Chatdesk", frame)
        self.open_button.setObjectName("openInChatdeskButton")
        self.open_button.setAccessibleName("Open in Chatdesk")
        self.open_button.setToolTip("Continue this conversation in the main window")
        self.open_button.setAutoDefault(False)
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_in_chatdesk_clicked)

        self.input = QuestionInput(frame)

        self.offer_label = QLabel(frame)
        self.offer_label.setObjectName("clipboardOfferLabel")
        self.offer_label.setWordWrap(True)
        self.offer_button = QPushButton("Attach", frame)
        self.offer_button.setObjectName("attachClipboardButton")
        self.offer_button.setAutoDefault(False)
        self.offer_button.clicked.connect(self.on_offer_button_clicked)
        self.offer_dismiss_button = QPushButton("No thanks", frame)
        self.offer_dismiss_button.setObjectName("dismissClipboardButton")
        self.offer_dismiss_button.setAutoDefault(False)
        self.offer_dismiss_button.clicked.connect(self.clear_offer)
        self.offer_row = QWidget(frame)
        offer_layout = QHBoxLayout(self.offer_row)
        offer_layout.setContentsMargins(0, 0, 0, 0)
        offer_layout.addWidget(self.offer_label, 1)
        offer_layout.addWidget(self.offer_button)
        offer_layout.addWidget(self.offer_dismiss_button)
        self.offer_row.hide()

        self.attached_text_label = QLabel(frame)
        self.attached_text_label.setObjectName("attachedTextLabel")
        self.attached_text_label.setWordWrap(True)
        set_tone(self.attached_text_label, Tone.MUTED)
        self.attached_text_label.hide()

        self.image_area = ImageArea(default_detail=Detail.AUTO, max_images=4, parent=frame)
        self.image_area.accept_drops_on(self)
        self.image_area.accept_drops_on(self.input)
        self.input.set_attachment_handler(_Attachments(self))
        self.image_area.changed.connect(self.on_image_area_changed)
        self.image_area.hide()

        self.question_label = QLabel(frame)
        self.question_label.setObjectName("quickAskQuestion")
        set_tone(self.question_label, Tone.MUTED)
        self.question_label.hide()
        self.answer_view = AnswerView(frame)
        self.answer_view.redrawn.connect(self.adjustSize)
        self.answer_view.hide()
        self.problem_label = QLabel(frame)
        self.problem_label.setObjectName("quickAskProblem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_tone(self.problem_label, Tone.ERROR)
        self.problem_label.hide()
        self.cost_label = QLabel(frame)
        self.cost_label.setObjectName("quickAskCost")
        set_tone(self.cost_label, Tone.MUTED)
        hint = QLabel("Enter sends · Esc hides", frame)
        set_tone(hint, Tone.MUTED)

        header = QHBoxLayout()
        header.addWidget(self.title_label)
        header.addWidget(self.model_label)
        header.addStretch(1)
        header.addWidget(self.open_button)
        footer = QHBoxLayout()
        footer.addWidget(self.cost_label, 1)
        footer.addWidget(hint)
        column = QVBoxLayout(frame)
        column.setContentsMargins(14, 10, 14, 10)
        column.setSpacing(8)
        column.addLayout(header)
        column.addWidget(self.input)
        column.addWidget(self.offer_row)
        column.addWidget(self.attached_text_label)
        column.addWidget(self.image_area)
        column.addWidget(self.question_label)
        column.addWidget(self.answer_view)
        column.addWidget(self.problem_label)
        column.addLayout(footer)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        # The popup's height follows its content through adjustSize(); a layout that also set
        # the window's minimum size would resend size hints to the window system on each change.
        outer.setSizeConstraint(QVBoxLayout.SizeConstraint.SetNoConstraint)

        self.escape_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.escape_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.escape_shortcut.activated.connect(self.dismiss)
        self.input.submitted.connect(self.submitted)

    # Showing

    def present(self) -> None:
        """Show the popup on the active screen, in front, ready for typing."""
        self._place()
        if self.isVisible():
            # Already open, perhaps behind another always-on-top window.
            self.raise_()
        self.show()
        self.activateWindow()
        self.input.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def dismiss(self) -> None:
        self.hide()

    def _place(self) -> None:
        screen = QGuiApplication.screenAt(QCursor.pos()) or QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        self.adjustSize()
        # Centred across; a third of the way down, so the answer has room to grow below.
        x = area.x() + (area.width() - self.width()) // 2
        y = area.y() + max(0, (area.height() - ANSWER_MAX_HEIGHT - self.height()) // 3)
        self.move(x, y)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if not event.spontaneous():
            self.dismissed.emit()

    # What the controller shows

    def set_model(self, model: str) -> None:
        self.model_label.setText(model)
        self.image_area.set_model(model)

    def offer(self, offer: ClipboardOffer | None) -> None:
        """Offer to attach what the clipboard holds (None: nothing to offer)."""
        self._offer = offer
        self.offer_row.setVisible(offer is not None)
        if offer is not None:
            self.offer_label.setText(offer.description)
            self.offer_button.setText("Attach image" if offer.kind is OfferKind.IMAGE else "Attach")

    def clear_offer(self) -> None:
        self.offer(None)
        self.input.setFocus()

    def show_attached_text(self, text: str) -> None:
        """Say that copied text goes with the question ("" when none does)."""
        self.attached_text_label.setVisible(bool(text))
        if text:
            self.attached_text_label.setText(
                f"Copied text attached ({len(text):,} characters); it is sent after your question."
            )

    def begin_answer(self, question: str = "") -> None:
        """Clear the last answer for a new one to `question` (shown above it, on one line)."""
        line = " ".join(question.split())
        metrics = self.question_label.fontMetrics()
        shown = metrics.elidedText(f"You: {line}", Qt.TextElideMode.ElideRight, POPUP_WIDTH - 40)
        self.question_label.setText(shown)
        self.question_label.setVisible(bool(line))
        self.problem_label.hide()
        self.cost_label.clear()
        self.answer_view.set_answer("")
        self.answer_view.show()
        self.adjustSize()

    def append_answer(self, text: str) -> None:
        self.answer_view.append(text)

    def end_answer(self, note: str = "") -> None:
        self.answer_view.flush()
        if note:
            self.cost_label.setText(f"{note} {self.cost_label.text()}".strip())
        self.adjustSize()

    def show_cost(self, text: str) -> None:
        self.cost_label.setText(text)

    def show_problem(self, headline: str, remedy: str) -> None:
        self.problem_label.setText(f"<b>{_escape(headline)}</b><br>{_escape(remedy)}")
        self.problem_label.setAccessibleDescription(f"{headline}. {remedy}")
        self.problem_label.show()
        self.adjustSize()

    def clear_answer(self) -> None:
        """Back to an empty question (a draft being written stays)."""
        self.answer_view.set_answer("")
        self.answer_view.hide()
        self.question_label.hide()
        self.problem_label.hide()
        self.cost_label.clear()
        self.open_button.setEnabled(False)
        self.show_attached_text("")
        self.adjustSize()

    # Slots

    def on_offer_button_clicked(self) -> None:
        offer, self._offer = self._offer, None
        self.offer_row.hide()
        if offer is not None:
            self.offer_accepted.emit(offer)
        self.input.setFocus()

    def on_image_area_changed(self) -> None:
        # Shown while it holds images, or explains why something could not be attached.
        self.image_area.setVisible(not self.image_area.is_empty or bool(self.image_area.messages))
        self.adjustSize()


class _Attachments:
    """Images pasted into the question go to the image area, which then shows."""

    def __init__(self, popup: QuickAskPopup) -> None:
        self._popup = popup

    def can_take(self, mime: QMimeData) -> bool:
        return self._popup.image_area.can_take(mime)

    def take_mime(self, mime: QMimeData) -> bool:
        taken = self._popup.image_area.take_mime(mime)
        self._popup.on_image_area_changed()
        return taken


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
