"""A non-modal strip above the conversation: what went wrong, what to do, and Retry."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

# Fixed colours with their own text colour, so the banner reads the same on light and dark themes.
_STYLE = """
QFrame#errorBanner {
    background: #fdecea;
    border: 1px solid #f5c2bd;
    border-radius: 6px;
}
QFrame#errorBanner QLabel { color: #5f2120; background: transparent; }
QFrame#errorBanner QLabel#errorHeadline { font-weight: bold; }
QFrame#errorBanner QToolButton { color: #5f2120; border: none; padding: 2px 6px; }
QFrame#errorBanner QToolButton:hover { background: #f5c2bd; border-radius: 4px; }
"""


class ErrorBanner(QFrame):
    """Headline and remedy of the last problem. Hidden until `show_problem` is called."""

    retry_clicked = Signal()
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setAccessibleName("Problem")
        self.setStyleSheet(_STYLE)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

        self.headline_label = QLabel(self)
        self.headline_label.setObjectName("errorHeadline")
        self.headline_label.setWordWrap(True)
        self.headline_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.remedy_label = QLabel(self)
        self.remedy_label.setObjectName("errorRemedy")
        self.remedy_label.setWordWrap(True)
        self.remedy_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setObjectName("retryButton")
        self.retry_button.setAccessibleName("Retry")
        self.retry_button.clicked.connect(self.on_retry_button_clicked)
        self.dismiss_button = QToolButton(self)
        self.dismiss_button.setObjectName("dismissButton")
        self.dismiss_button.setText("✕")
        self.dismiss_button.setAccessibleName("Dismiss")
        self.dismiss_button.setToolTip("Dismiss")
        self.dismiss_button.clicked.connect(self.on_dismiss_button_clicked)

        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.headline_label)
        text.addWidget(self.remedy_label)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        row.setSpacing(12)
        row.addLayout(text, 1)
        row.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    @property
    def headline(self) -> str:
        return self.headline_label.text()

    @property
    def remedy(self) -> str:
        return self.remedy_label.text()

    def show_problem(self, headline: str, remedy: str = "", *, can_retry: bool = False) -> None:
        self.headline_label.setText(headline)
        self.remedy_label.setText(remedy)
        self.remedy_label.setVisible(bool(remedy))
        self.retry_button.setVisible(can_retry)
        self.setAccessibleDescription(f"{headline}. {remedy}" if remedy else headline)
        self.show()

    def clear_problem(self) -> None:
        self.hide()
        self.headline_label.clear()
        self.remedy_label.clear()

    def on_retry_button_clicked(self) -> None:
        self.clear_problem()
        self.retry_clicked.emit()

    def on_dismiss_button_clicked(self) -> None:
        self.clear_problem()
        self.dismissed.emit()
