"""View as code: the conversation's last request as a curl command and as Python, to copy.

Non-modal, so the user can copy the code while the conversation stays usable. Image data is
shortened on screen (megabytes of base64 on one line are unreadable and slow to lay out); the
Copy buttons copy the full request.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.as_code import KEY_VARIABLE, SentRequest, as_curl, as_python, shorten_data_urls

NOTHING_SENT = (
    "No request has been sent in this conversation yet. Send a message, then open "
    "View as code again to see it as a curl command or as Python."
)
KEY_NOTE = (
    f"The last request of this conversation, exactly as sent. The API key is not in the code: "
    f"it is read from the {KEY_VARIABLE} environment variable."
)
SHORTENED_NOTE = "Image data is shortened on screen; Copy copies it in full."


class CodeTab(QWidget):
    """One language: the code, read-only in a monospace font, and a button copying it."""

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._what = what
        self._full_code: Callable[[], str] = lambda: ""
        self.view = QPlainTextEdit(self)
        self.view.setReadOnly(True)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setAccessibleName(what)
        self.copy_button = QPushButton(f"Copy {what}", self)
        self.copy_button.setAccessibleName(f"Copy {what}")
        self.copy_button.clicked.connect(self.on_copy_button_clicked)
        self.copied_label = QLabel(self)
        self.copied_label.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.copy_button)
        row.addWidget(self.copied_label, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 6, 0, 0)
        column.addWidget(self.view, 1)
        column.addLayout(row)

    def show_code(self, shown: str, full_code: Callable[[], str]) -> None:
        """Show `shown`; Copy puts `full_code()` on the clipboard (built only when asked)."""
        self.view.setPlainText(shown)
        self._full_code = full_code
        self.copied_label.clear()

    def on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self._full_code())
        self.copied_label.setText(f"{self._what[0].upper()}{self._what[1:]} copied.")


class CodeDialog(QDialog):
    """The last request of a conversation as code; `show_request` updates it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("View as code")
        self.setObjectName("codeDialog")
        self.resize(760, 560)
        self.note_label = QLabel(self)
        self.note_label.setWordWrap(True)
        self.tabs = QTabWidget(self)
        self.curl_tab = CodeTab("curl command", self)
        self.python_tab = CodeTab("Python code", self)
        self.tabs.addTab(self.curl_tab, "curl")
        self.tabs.addTab(self.python_tab, "Python")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        column = QVBoxLayout(self)
        column.addWidget(self.note_label)
        column.addWidget(self.tabs, 1)
        column.addWidget(buttons)
        self.show_request(None)

    def show_request(self, sent: SentRequest | None) -> None:
        """Show `sent` as code, or say that nothing has been sent yet."""
        if sent is None:
            self.note_label.setText(NOTHING_SENT)
            self.tabs.hide()
            for tab in (self.curl_tab, self.python_tab):
                tab.show_code("", lambda: "")
            return
        body, endpoint = sent.body, sent.endpoint
        shown = shorten_data_urls(body)
        shortened = shown != body
        self.note_label.setText(f"{KEY_NOTE} {SHORTENED_NOTE}" if shortened else KEY_NOTE)
        self.curl_tab.show_code(as_curl(shown, endpoint), lambda: as_curl(body, endpoint))
        self.python_tab.show_code(as_python(shown, endpoint), lambda: as_python(body, endpoint))
        self.tabs.show()
