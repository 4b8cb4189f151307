"""The welcome page: what the main window shows instead of the conversation without an API key.

It explains how to add a key and offers the demo; the window decides when it is shown and
routes its two requests (`key_requested`, `demo_requested`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class WelcomePanel(QWidget):
    """Shown instead of the conversation when there is no API key: how to add one, or the demo."""

    demo_requested = Signal()
    key_requested = Signal()

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
        self.key_button = QPushButton("Enter API key…", self)
        self.key_button.setObjectName("enterKeyButton")
        self.key_button.setAccessibleName("Enter API key")
        self.key_button.setToolTip("Open Settings to store your key in the system keyring")
        self.key_button.clicked.connect(self.key_requested)
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
        choices = QHBoxLayout()
        choices.setSpacing(8)
        choices.addWidget(self.key_button)
        choices.addWidget(self.demo_button)
        choices.addStretch(1)
        column.addLayout(choices)
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
            "<p>Press <b>Enter API key</b> to store it in your system keyring. Or set the "
            "<code>OPENAI_API_KEY</code> environment variable before starting Chatdesk, or "
            "store the key with <code>chatdesk key set</code> in a terminal.</p>" + extra
        )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
