"""The parameter panel: the conversation's request parameters and system prompt, as controls.

Every control starts "not set": it shows the API's default but nothing is sent for it. Touching
a control sets it; its Reset button returns it to "not set". Controls the selected model does
not accept are disabled with the reason as their tooltip (their values are kept for a switch
back, but not sent). The panel holds no state of its own beyond what it shows: it reports each
edit as a whole `ChatParams` (`params_edited`) and renders whatever the controller hands it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import DEFAULT_MODEL, ModelInfo, Param, lookup
from app.core.params import (
    MAX_N,
    MAX_STOP_SEQUENCES,
    MAX_TOP_LOGPROBS,
    RANGES,
    ChatParams,
    ReasoningEffort,
    param_for,
)
from app.ui.parameters.rows import NumberRow, decode_stop, describe_value, encode_stop, show_unset

# A value no real model needs, so the spin box has a bound before a model is known.
_NO_LIMIT = 1_000_000
_MAX_TOKENS_STEP = 256
_PROBLEM_STYLE = (
    "QLabel#parameterProblems { background: #fff4e5; color: #663c00; border: 1px solid #ffd8a8;"
    " border-radius: 6px; padding: 6px 8px; }"
)
_DOCS = {
    "max_output_tokens": "The most tokens the reply may use; “default” lets the server decide.",
    "n": "How many alternative replies to generate; each one is billed, only the first is shown.",
    "seed": "Sampling with the same seed repeats itself, on a best-effort basis; empty = random.",
    "stop": f"Up to {MAX_STOP_SEQUENCES} sequences that end the reply; \\n is a line break.",
    "json_mode": "Ask for a JSON object (response_format json_object); a message must say JSON.",
    "logprobs": "Return the log probability of each token of the reply.",
    "top_logprobs": f"Also return the 0–{MAX_TOP_LOGPROBS} likeliest alternatives per token.",
    "reasoning_effort": "How long the model thinks first: more effort, more reasoning tokens.",
}


class ParameterPanel(QWidget):
    """The current conversation's parameters and system prompt, and what is wrong with them."""

    params_edited = Signal(object)
    system_prompt_edited = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("parameterPanel")
        self._params = ChatParams()
        self._model = lookup(DEFAULT_MODEL)
        self.reset_buttons: dict[str, QToolButton] = {}
        self.rows: dict[str, list[QWidget]] = {}

        self.problems_label = QLabel(self)
        self.problems_label.setObjectName("parameterProblems")
        self.problems_label.setStyleSheet(_PROBLEM_STYLE)
        self.problems_label.setWordWrap(True)
        self.problems_label.setAccessibleName("Parameter problems")
        self.problems_label.hide()
        self.summary_label = QLabel(self)
        self.summary_label.setObjectName("parameterSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.number_rows = {
            name: NumberRow(spec, self._edit_number, self) for name, spec in RANGES.items()
        }

        self.max_tokens_spin = self._spin("max_output_tokens", 0, _NO_LIMIT, "default")
        self.max_tokens_spin.setSingleStep(_MAX_TOKENS_STEP)
        self.max_tokens_spin.setGroupSeparatorShown(True)
        self.n_spin = self._spin("n", 0, MAX_N, "default")
        self.top_logprobs_spin = self._spin("top_logprobs", -1, MAX_TOP_LOGPROBS, "default")

        self.seed_edit = QLineEdit(self)
        self.seed_edit.setObjectName("seedEdit")
        self.seed_edit.setAccessibleName("Seed")
        self.seed_edit.setPlaceholderText("random")
        self.seed_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"-?\d{0,19}"), self.seed_edit)
        )
        self.seed_edit.textEdited.connect(self.on_seed_edit_text_edited)

        self.stop_edits: list[QLineEdit] = []
        for index in range(MAX_STOP_SEQUENCES):
            edit = QLineEdit(self)
            edit.setObjectName(f"stopEdit{index + 1}")
            edit.setAccessibleName(f"Stop sequence {index + 1}")
            edit.setPlaceholderText(f"stop sequence {index + 1}")
            edit.textEdited.connect(self.on_stop_edit_text_edited)
            self.stop_edits.append(edit)

        self.reasoning_combo = QComboBox(self)
        self.reasoning_combo.setObjectName("reasoningEffortCombo")
        self.reasoning_combo.setAccessibleName("Reasoning effort")
        self.reasoning_combo.addItem("default")
        self.reasoning_combo.addItems([effort.value for effort in ReasoningEffort])
        self.reasoning_combo.activated.connect(self.on_reasoning_combo_activated)

        self.json_check = self._check("json_mode", "JSON mode")
        self.logprobs_check = self._check("logprobs", "Logprobs")

        self.system_prompt_edit = QPlainTextEdit(self)
        self.system_prompt_edit.setObjectName("systemPromptEdit")
        self.system_prompt_edit.setAccessibleName("System prompt")
        self.system_prompt_edit.setPlaceholderText("Instructions sent first in this conversation")
        self.system_prompt_edit.setToolTip(
            "Sent as the first message of every request in this conversation"
        )
        self.system_prompt_edit.setTabChangesFocus(True)
        line = self.system_prompt_edit.fontMetrics().lineSpacing()
        self.system_prompt_edit.setMinimumHeight(line * 3 + 12)
        self.system_prompt_edit.setMaximumHeight(line * 6 + 12)
        self.system_prompt_edit.textChanged.connect(self.on_system_prompt_edit_text_changed)
        self.system_prompt_note = QLabel(self)
        self.system_prompt_note.setObjectName("systemPromptNote")
        self.system_prompt_note.setWordWrap(True)
        self.system_prompt_note.setEnabled(False)
        self.system_prompt_note.hide()

        self.reset_all_button = QPushButton("Reset parameters", self)
        self.reset_all_button.setObjectName("resetParametersButton")
        self.reset_all_button.setAccessibleName("Reset parameters")
        self.reset_all_button.setToolTip(
            "Return every parameter to “not set” (the system prompt stays)"
        )
        self.reset_all_button.clicked.connect(self.on_reset_all_button_clicked)

        self._lay_out()
        self.show_conversation(self._params, "", self._model)

    # What the controller tells the panel

    @property
    def params(self) -> ChatParams:
        return self._params

    @property
    def model(self) -> ModelInfo:
        return self._model

    def system_prompt(self) -> str:
        return self.system_prompt_edit.toPlainText()

    def show_conversation(self, params: ChatParams, system_prompt: str, model: ModelInfo) -> None:
        """Show a conversation's parameters and system prompt, as the model `model` takes them."""
        self._params = params
        self._model = model
        if self.system_prompt_edit.toPlainText() != system_prompt:
            self.system_prompt_edit.blockSignals(True)
            self.system_prompt_edit.setPlainText(system_prompt)
            self.system_prompt_edit.blockSignals(False)
        for name, row in self.number_rows.items():
            row.show_value(getattr(params, name))
        self._show_int(self.n_spin, params.n, 0)
        self._show_int(self.top_logprobs_spin, params.top_logprobs, -1)
        limit = model.max_output_tokens or model.context_window
        # A value above the model's limit stays visible (with its problem) rather than being
        # silently clipped by the spin box.
        self.max_tokens_spin.blockSignals(True)
        self.max_tokens_spin.setMaximum(max(limit, params.max_output_tokens or 0))
        self.max_tokens_spin.blockSignals(False)
        self._show_int(self.max_tokens_spin, params.max_output_tokens, 0)
        if self.seed_edit.text() != ("" if params.seed is None else str(params.seed)):
            self.seed_edit.setText("" if params.seed is None else str(params.seed))
        stops = [encode_stop(s) for s in params.stop]
        typed = [decode_stop(e.text()) for e in self.stop_edits if e.text()]
        if typed != list(params.stop):
            for index, edit in enumerate(self.stop_edits):
                edit.setText(stops[index] if index < len(stops) else "")
        effort = params.reasoning_effort
        self.reasoning_combo.setCurrentIndex(
            self.reasoning_combo.findText(effort.value) if effort is not None else 0
        )
        checks = ((self.json_check, params.json_mode), (self.logprobs_check, params.logprobs))
        for check, value in checks:
            check.blockSignals(True)
            check.setChecked(value)
            check.blockSignals(False)
        self._apply_model()
        self._show_states()

    def show_problems(self, problems: Sequence[str]) -> None:
        """Explain, inside the panel, what the server would reject; nothing when empty."""
        self.problems_label.setText("\n".join(f"• {p}" for p in problems))
        self.problems_label.setVisible(bool(problems))

    # What the user does

    def on_seed_edit_text_edited(self, text: str) -> None:
        stripped = text.strip()
        self._edit(seed=int(stripped) if stripped not in ("", "-") else None)

    def on_stop_edit_text_edited(self, _text: str) -> None:
        self._edit(stop=tuple(decode_stop(e.text()) for e in self.stop_edits if e.text()))

    def on_reasoning_combo_activated(self, index: int) -> None:
        effort = self.reasoning_combo.itemText(index) if index > 0 else None
        self._edit(reasoning_effort=ReasoningEffort(effort) if effort else None)

    def on_system_prompt_edit_text_changed(self) -> None:
        self.system_prompt_edited.emit(self.system_prompt_edit.toPlainText())

    def on_reset_all_button_clicked(self) -> None:
        self._params = ChatParams(user=self._params.user)
        self.show_conversation(self._params, self.system_prompt(), self._model)
        self.params_edited.emit(self._params)

    def reset(self, name: str) -> None:
        """Return the parameter `name` (a `ChatParams` field) to "not set"."""
        unset: Any = {"stop": (), "json_mode": False, "logprobs": False}.get(name)
        self._params = replace(self._params, **{name: unset})
        self.show_conversation(self._params, self.system_prompt(), self._model)
        self.params_edited.emit(self._params)

    # Inside

    def _edit(self, **changes: Any) -> None:
        self._params = replace(self._params, **changes)
        self._show_states()
        self.params_edited.emit(self._params)

    def _edit_number(self, name: str, value: float | None) -> None:
        self._edit(**{name: value})

    def _spin(self, name: str, minimum: int, maximum: int, unset_text: str) -> QSpinBox:
        spin = QSpinBox(self)
        spin.setObjectName(f"{name}Spin")
        spin.setRange(minimum, maximum)
        spin.setSpecialValueText(unset_text)
        spin.setAlignment(Qt.AlignmentFlag.AlignRight)

        def edited(value: int) -> None:
            self._edit(**{name: None if value == minimum else value})

        spin.valueChanged.connect(edited)
        return spin

    def _check(self, name: str, text: str) -> QCheckBox:
        check = QCheckBox(text, self)
        check.setObjectName(f"{name}Check")
        check.setAccessibleName(text)
        check.toggled.connect(lambda on: self._edit(**{name: on}))
        return check

    def _show_int(self, spin: QSpinBox, value: int | None, unset: int) -> None:
        spin.blockSignals(True)
        spin.setValue(unset if value is None else value)
        spin.blockSignals(False)

    def _reset_button(self, name: str, label: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(f"{name}Reset")
        button.setText("↺")
        button.setAutoRaise(True)
        button.setAccessibleName(f"Reset {label}")
        button.clicked.connect(lambda: self.reset(name))
        self.reset_buttons[name] = button
        return button

    def _apply_model(self) -> None:
        """Enable what the model accepts; the rest is disabled with the reason as tooltip."""
        model = self._model
        for name, widgets in self.rows.items():
            param = param_for(name, model)
            reason = model.why_not(param) if param is not None else None
            doc = RANGES[name].doc if name in RANGES else _DOCS.get(name, "")
            if name == "max_output_tokens":
                limit = model.max_output_tokens or model.context_window
                doc = f"{doc} Sent as {model.output_limit_param.value}; at most {limit:,}."
            for widget in widgets:
                widget.setEnabled(reason is None)
                widget.setToolTip(reason or doc)
            if name in self.reset_buttons:
                self.reset_buttons[name].setToolTip(reason or "Back to “not set”: nothing is sent")
        effort = model.accepts(Param.REASONING_EFFORT)
        for widget in [*self.rows["reasoning_effort"], self.reset_buttons["reasoning_effort"]]:
            widget.setVisible(effort)
        note = model.why_not(Param.SYSTEM_MESSAGE)
        self.system_prompt_note.setText(note or "")
        self.system_prompt_note.setVisible(note is not None)

    def _show_states(self) -> None:
        params = self._params
        for name, button in self.reset_buttons.items():
            button.setEnabled(params.is_set(name) and self.rows[name][-1].isEnabled())
        spins: dict[str, QAbstractSpinBox] = {n: r.spin for n, r in self.number_rows.items()}
        spins |= {"max_output_tokens": self.max_tokens_spin, "n": self.n_spin}
        spins["top_logprobs"] = self.top_logprobs_spin
        for name, spin in spins.items():
            show_unset(spin, not params.is_set(name))
        sent = params.without_unsupported(self._model)
        shown = [describe_value(self._wire_name(n), getattr(sent, n)) for n in sent.set_names()]
        kept = [self._wire_name(n) for n in params.set_names() if not sent.is_set(n)]
        text = "Sent: " + ", ".join(shown) if shown else "Nothing set: the server's defaults apply."
        if kept:
            text += f"\nNot sent to {self._model.id}: {', '.join(kept)}"
        self.summary_label.setText(text)

    def _wire_name(self, name: str) -> str:
        if name == "max_output_tokens":
            return self._model.output_limit_param.value
        return "response_format=json_object" if name == "json_mode" else name

    def _lay_out(self) -> None:
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(6)
        grid.setColumnStretch(1, 1)
        row = 0

        def heading(text: str) -> None:
            nonlocal row
            label = QLabel(text, self)
            font = label.font()
            font.setBold(True)
            label.setFont(font)
            grid.addWidget(label, row, 0, 1, 4)
            row += 1

        def add(name: str, label: str, *editors: QWidget) -> None:
            nonlocal row
            caption = QLabel(label, self)
            caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            caption.setBuddy(editors[0])
            for editor in editors:
                if not editor.accessibleName():
                    editor.setAccessibleName(label)
            grid.addWidget(caption, row, 0)
            for offset, editor in enumerate(editors):
                grid.addWidget(editor, row + offset, 1, 1, 2)
            grid.addWidget(self._reset_button(name, label), row, 3)
            self.rows[name] = [caption, *editors]
            row += len(editors)

        heading("Sampling")
        for name, number in self.number_rows.items():
            grid.addWidget(number.label, row, 0)
            grid.addWidget(number.slider, row, 1)
            grid.addWidget(number.spin, row, 2)
            grid.addWidget(self._reset_button(name, number.spec.label), row, 3)
            self.rows[name] = number.widgets
            row += 1
        add("seed", "Seed", self.seed_edit)
        heading("Reply")
        add("max_output_tokens", "Max tokens", self.max_tokens_spin)
        add("n", "Choices (n)", self.n_spin)
        add("reasoning_effort", "Reasoning effort", self.reasoning_combo)
        add("stop", "Stop", *self.stop_edits)
        heading("Format")
        # A checkbox is its own "not set": unchecked sends nothing, so it needs no Reset.
        for name, check in (("json_mode", self.json_check), ("logprobs", self.logprobs_check)):
            grid.addWidget(check, row, 0, 1, 3, Qt.AlignmentFlag.AlignLeft)
            self.rows[name] = [check]
            row += 1
        add("top_logprobs", "Top logprobs", self.top_logprobs_spin)
        grid.addWidget(self.reset_all_button, row, 0, 1, 4, Qt.AlignmentFlag.AlignLeft)

        column = QVBoxLayout(self)
        column.setContentsMargins(10, 8, 10, 10)
        column.setSpacing(8)
        column.addWidget(self.problems_label)
        column.addWidget(self.summary_label)
        # The system prompt comes first: it is what people change most often.
        prompt_label = QLabel("&System prompt", self)
        font = prompt_label.font()
        font.setBold(True)
        prompt_label.setFont(font)
        prompt_label.setBuddy(self.system_prompt_edit)
        column.addWidget(prompt_label)
        column.addWidget(self.system_prompt_edit)
        column.addWidget(self.system_prompt_note)
        column.addLayout(grid)
        column.addStretch(1)


class ParameterDock(QDockWidget):
    """The parameter panel in a scrollable, closable dock at the window's side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Parameters", parent)
        self.setObjectName("parameterDock")
        self.setAccessibleName("Parameters")
        self.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
        )
        self.setAllowedAreas(
            Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.panel = ParameterPanel(self)
        scroll = QScrollArea(self)
        scroll.setObjectName("parameterScroll")
        # The scroll area itself takes no focus: Tab goes straight to the controls inside.
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setAccessibleName("Parameters")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.panel)
        # Wide enough for the widest row, so no label or readout is ever clipped.
        scroll.setMinimumWidth(
            self.panel.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
        )
        self.setWidget(scroll)
