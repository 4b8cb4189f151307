"""The main window: model picker, conversation, composer, Send/Stop and the status bar.

It lays the widgets out and routes the user's intent (buttons, shortcuts, model choice) to the
`ChatController`; it holds no conversation state of its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.settings import SendShortcut
from app.ui.chat_controller import ChatController
from app.ui.chat_view import ChatView
from app.ui.composer import Composer
from app.ui.error_banner import ErrorBanner
from app.ui.status_bar import StatusBar

APP_TITLE = "Chatdesk"


class WelcomePanel(QWidget):
    """Shown instead of the conversation when there is no API key: how to add one, or the demo."""

    demo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePanel")
        self.title_label = QLabel("Welcome to Chatdesk", self)
        self.title_label.setObjectName("welcomeTitle")
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.title_label.setFont(font)
        self.headline_label = QLabel(self)
        self.headline_label.setObjectName("welcomeHeadline")
        self.headline_label.setWordWrap(True)
        self.body_label = QLabel(self)
        self.body_label.setObjectName("welcomeBody")
        self.body_label.setWordWrap(True)
        self.body_label.setTextFormat(Qt.TextFormat.RichText)
        self.body_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.demo_button = QPushButton("Try the demo", self)
        self.demo_button.setObjectName("demoButton")
        self.demo_button.setAccessibleName("Try the demo")
        self.demo_button.setToolTip("Chat with the built-in simulator: no key, no cost")
        self.demo_button.clicked.connect(self.demo_requested)
        demo_note = QLabel(
            "The demo talks to a simulator built into Chatdesk: answers are canned, nothing "
            "leaves this computer and nothing is billed.",
            self,
        )
        demo_note.setWordWrap(True)
        demo_note.setEnabled(False)

        column = QVBoxLayout()
        column.setSpacing(12)
        column.addWidget(self.title_label)
        column.addWidget(self.headline_label)
        column.addWidget(self.body_label)
        column.addSpacing(8)
        column.addWidget(self.demo_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(demo_note)
        holder = QWidget(self)
        holder.setLayout(column)
        holder.setMaximumWidth(560)
        # Word-wrapped labels hint a narrow width; the stretch factors let the text use up to
        # the maximum width rather than a thin column.
        outer = QHBoxLayout(self)
        outer.setContentsMargins(32, 32, 32, 32)
        outer.addStretch(1)
        outer.addWidget(holder, 6, Qt.AlignmentFlag.AlignVCenter)
        outer.addStretch(1)

    def show_missing_key(self, headline: str, note: str = "") -> None:
        """Explain how to add a key; `note` says why none was found, when that helps."""
        self.headline_label.setText(f"{headline}: to talk to OpenAI, Chatdesk needs an API key.")
        extra = f"<p style='color: gray'>{_escape(note)}</p>" if note else ""
        self.body_label.setText(
            "<p>Set the <code>OPENAI_API_KEY</code> environment variable before starting "
            "Chatdesk, or store the key in your system keyring with "
            "<code>chatdesk key set</code>; then start Chatdesk again.</p>" + extra
        )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class MainWindow(QMainWindow):
    """Chatdesk's main window. `closed` is emitted when the user closes it."""

    closed = Signal()
    demo_requested = Signal()

    def __init__(
        self,
        models: Iterable[str],
        current_model: str,
        *,
        send_shortcut: SendShortcut = SendShortcut.ENTER,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_TITLE)
        self.setObjectName("mainWindow")
        self.resize(880, 720)
        self.setMinimumSize(480, 400)
        self._controller: ChatController | None = None

        self.model_combo = QComboBox(self)
        self.model_combo.setObjectName("modelCombo")
        self.model_combo.setAccessibleName("Model")
        self.model_combo.setToolTip("The model that answers the next message")
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        names = list(models)
        if current_model not in names:
            names.insert(0, current_model)
        self.model_combo.addItems(names)
        self.model_combo.setCurrentText(current_model)
        model_label = QLabel("&Model", self)
        model_label.setBuddy(self.model_combo)
        self.new_chat_button = QPushButton("New chat", self)
        self.new_chat_button.setObjectName("newChatButton")
        self.new_chat_button.setAccessibleName("New chat")
        self.new_chat_button.setToolTip("Start an empty conversation (Ctrl+N)")

        self.banner = ErrorBanner(self)
        self.chat_view = ChatView(self)
        self.welcome = WelcomePanel(self)
        self.welcome.demo_requested.connect(self.demo_requested)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.chat_view)
        self.pages.addWidget(self.welcome)

        self.composer = Composer(send_shortcut, self)
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setAccessibleName("Send")
        self.send_button.setDefault(False)
        self.send_button.setAutoDefault(False)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setAccessibleName("Stop")
        self.stop_button.setToolTip("Stop the reply, keeping what arrived (Esc)")
        self.stop_button.setEnabled(False)
        for button in (self.send_button, self.stop_button):
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            button.setMinimumWidth(84)

        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self._lay_out(model_label)

        self.stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.focus_shortcut = QShortcut(QKeySequence("Ctrl+L"), self)
        self.focus_shortcut.activated.connect(self.on_focus_shortcut_activated)
        self.new_chat_shortcut = QShortcut(QKeySequence.StandardKey.New, self)
        self.composer.setFocus()

    def _lay_out(self, model_label: QLabel) -> None:
        top = QHBoxLayout()
        top.setContentsMargins(12, 10, 12, 6)
        top.setSpacing(8)
        top.addWidget(model_label)
        top.addWidget(self.model_combo)
        top.addStretch(1)
        top.addWidget(self.new_chat_button)

        buttons = QVBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(12, 6, 12, 10)
        bottom.setSpacing(8)
        bottom.addWidget(self.composer, 1)
        bottom.addLayout(buttons)

        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(12, 0, 12, 6)
        banner_row.addWidget(self.banner)

        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addLayout(top)
        column.addLayout(banner_row)
        column.addWidget(self.pages, 1)
        column.addLayout(bottom)
        central = QWidget(self)
        central.setLayout(column)
        self.setCentralWidget(central)

    @property
    def controller(self) -> ChatController | None:
        return self._controller

    def bind(self, controller: ChatController) -> None:
        """Route buttons, shortcuts and the model picker to `controller`."""
        self._controller = controller
        self.send_button.clicked.connect(controller.on_composer_submitted)
        self.stop_button.clicked.connect(controller.stop)
        self.stop_shortcut.activated.connect(controller.stop)
        self.new_chat_button.clicked.connect(controller.new_chat)
        self.new_chat_shortcut.activated.connect(controller.new_chat)
        self.model_combo.currentTextChanged.connect(controller.set_model)
        controller.reply_started.connect(self.on_controller_reply_started)
        controller.reply_ended.connect(self.on_controller_reply_ended)
        controller.set_model(self.model_combo.currentText())

    def set_subtitle(self, subtitle: str) -> None:
        self.setWindowTitle(f"{APP_TITLE} — {subtitle}" if subtitle else APP_TITLE)

    def show_welcome(self, headline: str, note: str = "") -> None:
        """Replace the conversation with how to add a key; sending is off until then."""
        self.welcome.show_missing_key(headline, note)
        self.pages.setCurrentWidget(self.welcome)
        self._set_composing_enabled(False)
        self.composer.setPlaceholderText("Add an API key, or try the demo, to start chatting")
        self.welcome.demo_button.setFocus()

    def show_chat(self) -> None:
        self.pages.setCurrentWidget(self.chat_view)
        self._set_composing_enabled(True)
        self.composer.set_send_shortcut(self.composer.send_shortcut)
        self.composer.setFocus()

    def on_controller_reply_started(self) -> None:
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)

    def on_controller_reply_ended(self) -> None:
        self.send_button.setEnabled(self.composer.isEnabled())
        self.stop_button.setEnabled(False)

    def on_focus_shortcut_activated(self) -> None:
        self.composer.setFocus()

    def _set_composing_enabled(self, enabled: bool) -> None:
        self.composer.setEnabled(enabled)
        self.send_button.setEnabled(enabled)
        self.model_combo.setEnabled(enabled)
        self.new_chat_button.setEnabled(enabled)

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()
