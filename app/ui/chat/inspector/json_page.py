"""The JSON view of an answer: whether it is valid, its tree, and the chosen node's JSON.

A valid answer shows its tree; one cut off shows the part that arrived, closed off, under a
line saying where and why it stops; one broken mid-way shows its text with the fault marked.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextEdit,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core import json_answer
from app.core.json_answer import JsonAnswer
from app.ui.chat.inspector.json_tree import JsonItem, JsonTree, TextCopier, copy_to_clipboard
from app.ui.widgets.theme import Tone, set_tone

# More than this is cut from the node view (the tree and Copy still have all of it).
_DETAIL_CHARS = 200_000


class JsonPage(QWidget):
    """Whether the answer is valid JSON, its tree, and below it the selected node as JSON."""

    def __init__(self, parent: QWidget | None = None, *, copy_text: TextCopier | None = None):
        super().__init__(parent)
        self._copy_text: TextCopier = copy_text or copy_to_clipboard
        self.status_label = QLabel(self)
        self.status_label.setObjectName("jsonStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tree = JsonTree(self, copy_text=self._copy_text)
        self.tree.currentItemChanged.connect(self.on_tree_current_item_changed)
        self.path_label = QLabel(self)
        self.path_label.setObjectName("jsonPath")
        self.path_label.setTextFormat(Qt.TextFormat.PlainText)
        set_tone(self.path_label, Tone.MUTED)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setObjectName("copyJsonButton")
        self.copy_button.setAccessibleName("Copy this JSON")
        self.copy_button.setToolTip("Copy the selected node as JSON (Ctrl+C in the tree)")
        self.copy_button.clicked.connect(self.on_copy_button_clicked)
        self.detail = QPlainTextEdit(self)
        self.detail.setObjectName("jsonDetail")
        self.detail.setAccessibleName("Selected JSON")
        self.detail.setReadOnly(True)
        self.detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.detail.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)

        lower = QWidget(self)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.path_label, 1)
        row.addWidget(self.copy_button)
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 4, 0, 0)
        lower_layout.setSpacing(4)
        lower_layout.addLayout(row)
        lower_layout.addWidget(self.detail, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.tree)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.status_label)
        layout.addWidget(self.splitter, 1)
        self._answer: JsonAnswer | None = None
        self._text = ""

    @property
    def answer(self) -> JsonAnswer | None:
        return self._answer

    def show_waiting(self) -> None:
        self._answer, self._text = None, ""
        self.status_label.setText("The JSON is checked when the answer is complete…")
        set_tone(self.status_label, Tone.MUTED)
        self.tree.clear()
        self._show_detail("", "")

    def show_answer(self, answer: JsonAnswer, text: str) -> None:
        """Show `answer`, the check of `text`."""
        self._answer, self._text = answer, text
        problem = answer.problem
        if answer.valid:
            value = answer.value
            size = ""
            if isinstance(value, dict | list):
                size = f" with {json_answer.count_label(value)}"
            self.status_label.setText(f"✓ Valid JSON: {json_answer.kind(value)}{size}")
            set_tone(self.status_label, Tone.SUCCESS)
        elif problem is not None:
            shown = " Below is the part that arrived." if answer.has_value else ""
            self.status_label.setText(f"✗ Not valid JSON. {problem.headline}.{shown}")
            set_tone(self.status_label, Tone.ERROR)
        if answer.has_value:
            self.tree.show_value(answer.value)
            self.tree.setVisible(True)
            self._show_detail(self._whole_label(), json_answer.dumps(answer.value))
        else:
            self.tree.clear()
            self.tree.setVisible(False)
            self._show_detail("The answer as it arrived, the fault marked", text)
            if problem is not None:
                self._mark(problem.position)

    def on_tree_current_item_changed(
        self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None
    ) -> None:
        if isinstance(current, JsonItem):
            self._show_detail(current.path, json_answer.dumps(current.value))
        elif self._answer is not None and self._answer.has_value:
            self._show_detail(self._whole_label(), json_answer.dumps(self._answer.value))

    def _whole_label(self) -> str:
        valid = self._answer is not None and self._answer.valid
        return "The whole document" if valid else "What arrived, closed off where it stops"

    def on_copy_button_clicked(self) -> None:
        item = self.tree.currentItem()
        if isinstance(item, JsonItem):
            self._copy_text(json_answer.dumps(item.value))
        elif self._answer is not None and self._answer.has_value:
            self._copy_text(json_answer.dumps(self._answer.value))
        else:
            self._copy_text(self._text)

    def _show_detail(self, label: str, text: str) -> None:
        self.path_label.setText(label)
        if len(text) > _DETAIL_CHARS:
            text = text[:_DETAIL_CHARS] + "\n… (cut here; Copy takes all of it)"
        self.detail.setPlainText(text)
        self.detail.setExtraSelections([])
        self.copy_button.setEnabled(bool(text))

    def _mark(self, position: int) -> None:
        """Underline where the answer stops being JSON, and scroll there."""
        document = self.detail.document()
        cursor = QTextCursor(document)
        cursor.setPosition(min(position, max(0, document.characterCount() - 1)))
        cursor.movePosition(QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.KeepAnchor)
        mark = QTextEdit.ExtraSelection()
        mark.cursor = cursor
        fault = QTextCharFormat()
        fault.setBackground(self.palette().color(QPalette.ColorRole.Highlight))
        fault.setForeground(self.palette().color(QPalette.ColorRole.HighlightedText))
        mark.format = fault
        self.detail.setExtraSelections([mark])
        self.detail.setTextCursor(cursor)
        self.detail.ensureCursorVisible()
