"""One column of the Compare window: a model and parameter overrides, the answer streaming as
Markdown, then its tokens, cost and latency, and "Continue with this".

The column only renders what its `Reply` says and forwards what the user asks for; the
window runs the requests.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import lookup
from app.core.compare import OVERRIDABLE, OVERRIDE_LABELS, Contender, parse_overrides
from app.core.params import ChatParams
from app.core.reply import Reply, RunState
from app.core.reproduce import provenance_text
from app.ui.chat.view import ChatView
from app.ui.parameters.model_picker import ModelPicker
from app.ui.widgets.status_bar import usage_text
from app.ui.widgets.theme import Tone, set_tone

EMPTY_HINT = "This column's answer appears here"


def latency_text(reply: Reply) -> str:
    """e.g. `First token 0.21 s · total 1.84 s`; what is not known yet is left out."""
    first, total = reply.first_token_s, reply.total_s
    parts = []
    if first is not None:
        parts.append(f"First token {first:.2f} s")
    elif reply.running:
        parts.append("Waiting for the first token…")
    if total is not None:
        parts.append(f"total {total:.2f} s" if parts else f"Total {total:.2f} s")
    elif reply.running and first is not None:
        parts.append("streaming…")
    return " · ".join(parts)


def _inherited(value: object) -> str:
    return "default" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


class CompareColumn(QFrame):
    """A contender: `continue_clicked` picks its answer, `remove_clicked` drops the column,
    `resend_requested` asks for its answer again (its Regenerate link)."""

    continue_clicked = Signal()
    remove_clicked = Signal()
    resend_requested = Signal()

    def __init__(
        self,
        catalog_models: Iterable[str],
        server_models: Iterable[str],
        model: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("compareColumn")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.model_picker = ModelPicker(catalog_models, model, self)
        self.model_picker.set_server_models(server_models)
        self.model_picker.setAccessibleName("Model of this column")
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setObjectName("removeColumnButton")
        self.remove_button.setAccessibleName("Remove this column")
        self.remove_button.setToolTip("Compare one column fewer")
        self.remove_button.clicked.connect(self.remove_clicked)
        self.override_edits: dict[str, QLineEdit] = {}
        for name in OVERRIDABLE:
            edit = QLineEdit(self)
            edit.setObjectName(f"{name}Override")
            edit.setAccessibleName(f"{OVERRIDE_LABELS[name]} for this column")
            edit.setValidator(_validator(name, edit))
            edit.setClearButtonEnabled(True)
            self.override_edits[name] = edit
        self.view = ChatView(self)
        self.view.setObjectName("compareAnswer")
        self.view.setAccessibleName("Answer")
        self.view.empty_hint = EMPTY_HINT
        self.view.regenerate_requested.connect(self.resend_requested)
        self.usage_label = QLabel(self)
        self.usage_label.setObjectName("compareUsage")
        self.usage_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.latency_label = QLabel(self)
        self.latency_label.setObjectName("compareLatency")
        self.provenance_label = QLabel(self)
        self.provenance_label.setObjectName("compareProvenance")
        self.provenance_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_tone(self.provenance_label, Tone.MUTED)
        self.problem_label = QLabel(self)
        self.problem_label.setObjectName("compareProblem")
        self.problem_label.setWordWrap(True)
        set_tone(self.problem_label, Tone.ERROR)
        self.problem_label.hide()
        self.continue_button = QPushButton("Continue with this", self)
        self.continue_button.setObjectName("continueWithButton")
        self.continue_button.setAccessibleName("Continue the conversation with this answer")
        self.continue_button.setToolTip(
            "Add this exchange to the conversation; its model and parameters become the "
            "conversation's"
        )
        self.continue_button.setEnabled(False)
        self.continue_button.clicked.connect(self.continue_clicked)
        self._lay_out()
        self.show_base(ChatParams())

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.model_picker, 1)
        top.addWidget(self.remove_button)
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        for index, (name, edit) in enumerate(self.override_edits.items()):
            label = QLabel(OVERRIDE_LABELS[name], self)
            label.setBuddy(edit)
            row, pair = divmod(index, 2)
            grid.addWidget(label, row, pair * 2)
            grid.addWidget(edit, row, pair * 2 + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        # The provenance line gets the whole width: snapshot names and fingerprints are long.
        bottom = QGridLayout()
        bottom.setVerticalSpacing(2)
        bottom.addWidget(self.usage_label, 0, 0)
        bottom.addWidget(self.latency_label, 1, 0)
        bottom.addWidget(self.continue_button, 0, 1, 2, 1, Qt.AlignmentFlag.AlignVCenter)
        bottom.addWidget(self.provenance_label, 2, 0, 1, 2)
        bottom.setColumnStretch(0, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 8, 8, 8)
        column.setSpacing(6)
        column.addLayout(top)
        column.addLayout(grid)
        column.addWidget(self.view, 1)
        column.addWidget(self.problem_label)
        column.addLayout(bottom)

    @property
    def model(self) -> str:
        return self.model_picker.current_model

    def show_base(self, base: ChatParams) -> None:
        """Say in each empty field what is sent without an override: the conversation's value."""
        for name, edit in self.override_edits.items():
            edit.setPlaceholderText(_inherited(getattr(base, name)))
            edit.setToolTip(
                f"{OVERRIDE_LABELS[name]} for this column only; empty uses the conversation's "
                f"({_inherited(getattr(base, name))})"
            )

    def set_overrides(self, **texts: str) -> None:
        for name, text in texts.items():
            self.override_edits[name].setText(text)

    def contender(self, base: ChatParams) -> Contender:
        """The model and the whole parameters of this column (`OverrideError` if mistyped)."""
        texts = {name: edit.text() for name, edit in self.override_edits.items()}
        return Contender(self.model, parse_overrides(base, texts))

    def set_editable(self, editable: bool) -> None:
        """Model and overrides are fixed while the column's request runs."""
        self.model_picker.setEnabled(editable)
        for edit in self.override_edits.values():
            edit.setReadOnly(not editable)

    def clear_answer(self) -> None:
        self.view.clear_conversation()
        self.usage_label.clear()
        self.latency_label.clear()
        self.provenance_label.clear()
        self.problem_label.hide()
        self.continue_button.setEnabled(False)

    def show_problem(self, headline: str, remedy: str = "") -> None:
        self.problem_label.setText(f"{headline} {remedy}".strip())
        self.problem_label.show()

    def begin_answer(self) -> None:
        self.clear_answer()
        self.view.begin_reply(self.model)

    def append(self, text: str) -> None:
        self.view.append_reply(text)

    def show_reply(self, reply: Reply) -> None:
        """Render `reply`'s state: streaming, or how it ended with its cost and timings."""
        self.latency_label.setText(latency_text(reply))
        self.continue_button.setEnabled(reply.state is RunState.DONE)
        if reply.running:
            return
        if reply.problem is not None:
            self.show_problem(reply.problem.headline, reply.problem.remedy)
        if self.view.streaming:
            self.view.end_reply(_ending_note(reply))
            if self.view.following:
                # Answers are compared from their beginnings, not from where they stopped.
                self.view.scroll_to_message(0)
        if reply.answered_by:
            self.provenance_label.setText(
                provenance_text(reply.answered_by, reply.fingerprint, reply.seed)
            )
        if reply.usage is not None:
            self.usage_label.setText(usage_text(reply.usage, lookup(reply.billed_model)))
        elif reply.state is not RunState.FAILED:
            self.usage_label.setText("No usage reported")


def _ending_note(reply: Reply) -> str:
    """The note under an ended answer, as every view words it (the problem line says why a
    request failed before any text)."""
    if reply.state is RunState.FAILED and not reply.arrived:
        return ""
    return reply.ending()[1]


def _validator(name: str, parent: QLineEdit) -> QRegularExpressionValidator:
    # Patterns rather than QDoubleValidator, whose decimal separator follows the locale: the
    # text is parsed as the API writes numbers. Ranges are checked with the request.
    pattern = {"seed": r"-?\d{0,19}", "max_output_tokens": r"\d{0,7}"}.get(name, r"\d?(\.\d{0,3})?")
    return QRegularExpressionValidator(QRegularExpression(pattern), parent)
