"""The inspector dock: one reply's token probabilities as a heat-map, or its JSON as a tree.

It shows whatever `show_reply` gives it and, for a reply still streaming, catches up with it on
each `refresh` (the follower calls it once per frame). It never asks where replies come from.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from app.core import json_answer
from app.core.logprobs import CellBuilder, Summary, percent, shown_token
from app.ui.chat.inspector.heat_colors import HeatLegend
from app.ui.chat.inspector.heat_map import HeatMapView
from app.ui.chat.inspector.json_page import JsonPage
from app.ui.chat.inspector.json_tree import TextCopier
from app.ui.chat.inspector.sources import JSON, PROBABILITIES, ReplySource
from app.ui.widgets.theme import Tone, set_tone

HINT = "Click Probabilities or JSON in a reply's header to inspect it here."


class InspectorDock(QDockWidget):
    """Beside the conversation: the chosen reply, as token probabilities or as JSON."""

    def __init__(self, parent: QWidget | None = None, *, copy_text: TextCopier | None = None):
        super().__init__("Inspector", parent)
        self.setObjectName("inspectorDock")
        self.setAllowedAreas(
            Qt.DockWidgetArea.RightDockWidgetArea
            | Qt.DockWidgetArea.LeftDockWidgetArea
            | Qt.DockWidgetArea.BottomDockWidgetArea
        )
        body = QWidget(self)
        self.title_label = QLabel(body)
        self.title_label.setObjectName("inspectorTitle")
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.probabilities_button = self._mode_button("Probabilities", body)
        self.probabilities_button.setToolTip("Each token tinted by how likely the model found it")
        self.json_button = self._mode_button("JSON", body)
        self.json_button.setToolTip("The answer checked and shown as a tree")
        self._modes = QButtonGroup(self)
        self._modes.addButton(self.probabilities_button)
        self._modes.addButton(self.json_button)
        self.probabilities_button.clicked.connect(self.on_probabilities_button_clicked)
        self.json_button.clicked.connect(self.on_json_button_clicked)
        self.choice_tabs = QTabBar(body)
        self.choice_tabs.setObjectName("inspectorChoices")
        self.choice_tabs.setAccessibleName("Choice shown in the inspector")
        self.choice_tabs.setDrawBase(False)
        self.choice_tabs.setExpanding(False)
        self.choice_tabs.currentChanged.connect(self.on_choice_tabs_current_changed)
        self.choice_tabs.hide()

        self.hint_label = QLabel(HINT, body)
        self.hint_label.setWordWrap(True)
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        set_tone(self.hint_label, Tone.MUTED)
        self.summary_label = QLabel(body)
        self.summary_label.setObjectName("heatSummary")
        self.summary_label.setWordWrap(True)
        set_tone(self.summary_label, Tone.MUTED)
        self.legend = HeatLegend(body)
        self.heat_map = HeatMapView(body)
        heat_page = QWidget(body)
        heat_layout = QVBoxLayout(heat_page)
        heat_layout.setContentsMargins(0, 0, 0, 0)
        heat_layout.setSpacing(6)
        heat_layout.addWidget(self.summary_label)
        heat_layout.addWidget(self.legend)
        heat_layout.addWidget(self.heat_map, 1)
        self.heat_page = heat_page
        self.json_page = JsonPage(body, copy_text=copy_text)
        self.pages = QStackedWidget(body)
        for page in (self.hint_label, self.heat_page, self.json_page):
            self.pages.addWidget(page)

        header = QHBoxLayout()
        header.setSpacing(6)
        header.addWidget(self.title_label, 1)
        header.addWidget(self.probabilities_button)
        header.addWidget(self.json_button)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 6, 10, 10)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self.choice_tabs)
        layout.addWidget(self.pages, 1)
        self.setWidget(body)

        self._source: ReplySource | None = None
        self._kind = ""
        self._choice = 0
        # How many of the choice's entries the heat-map has taken in, and any split character.
        self._consumed = 0
        self._builder = CellBuilder()
        self._summary = Summary()
        self._json_shown = False
        self.clear()

    @property
    def source(self) -> ReplySource | None:
        return self._source

    @property
    def kind(self) -> str:
        """What is shown: `PROBABILITIES`, `JSON`, or "" (nothing)."""
        return self._kind

    @property
    def choice(self) -> int:
        return self._choice

    def clear(self) -> None:
        """Show nothing but how to pick a reply."""
        self._source, self._kind = None, ""
        self.title_label.setText("No reply chosen")
        self.probabilities_button.setEnabled(False)
        self.json_button.setEnabled(False)
        self._check_mode("")
        self.choice_tabs.hide()
        self.heat_map.clear_cells()
        self.pages.setCurrentWidget(self.hint_label)

    def show_reply(self, source: ReplySource, kind: str, choice: int = 0) -> None:
        """Show `source`'s choice `choice` as `kind` (the other kind if it has not this one)."""
        if kind == PROBABILITIES and not source.has_logprobs and source.json_mode:
            kind = JSON
        elif kind != PROBABILITIES and not source.json_mode:
            kind = PROBABILITIES
        self._source, self._kind = source, kind
        self._choice = min(max(choice, 0), source.choice_count - 1)
        self.probabilities_button.setEnabled(source.has_logprobs)
        self.json_button.setEnabled(source.json_mode)
        self._check_mode(kind)
        tabs = self.choice_tabs
        tabs.blockSignals(True)
        while tabs.count():
            tabs.removeTab(0)
        for index in range(source.choice_count):
            tabs.addTab(f"Choice {index + 1}")
        tabs.setCurrentIndex(self._choice)
        tabs.blockSignals(False)
        tabs.setVisible(source.choice_count > 1)
        self._rebuild()

    def refresh(self) -> None:
        """Catch up with the reply shown, when it is still streaming (or has just ended)."""
        source = self._source
        if source is None:
            return
        self._update_title()
        if self._kind == PROBABILITIES:
            self._take_entries()
        elif self._kind == JSON and not source.streaming and not self._json_shown:
            self._show_json()
        self.probabilities_button.setEnabled(source.has_logprobs)

    # Slots

    def on_probabilities_button_clicked(self) -> None:
        if self._source is not None and self._kind != PROBABILITIES:
            self._kind = PROBABILITIES
            self._rebuild()

    def on_json_button_clicked(self) -> None:
        if self._source is not None and self._kind != JSON:
            self._kind = JSON
            self._rebuild()

    def on_choice_tabs_current_changed(self, index: int) -> None:
        if self._source is not None and index >= 0 and index != self._choice:
            self._choice = index
            self._rebuild()

    # Helpers

    def _mode_button(self, text: str, parent: QWidget) -> QPushButton:
        button = QPushButton(text, parent)
        button.setCheckable(True)
        button.setAccessibleName(f"Show {text.lower()}")
        button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        return button

    def _check_mode(self, kind: str) -> None:
        self._modes.setExclusive(False)
        self.probabilities_button.setChecked(kind == PROBABILITIES)
        self.json_button.setChecked(kind == JSON)
        self._modes.setExclusive(True)

    def _rebuild(self) -> None:
        self._check_mode(self._kind)
        self._update_title()
        if self._kind == PROBABILITIES:
            self.pages.setCurrentWidget(self.heat_page)
            self._consumed = 0
            self._builder = CellBuilder()
            self._summary = Summary()
            self.summary_label.clear()
            self.heat_map.clear_cells()
            self._take_entries()
        else:
            self.pages.setCurrentWidget(self.json_page)
            self._json_shown = False
            if self._source is not None and self._source.streaming:
                self.json_page.show_waiting()
            else:
                self._show_json()

    def _take_entries(self) -> None:
        source = self._source
        if source is None:
            return
        entries = source.entries(self._choice)
        fresh = entries[self._consumed :]
        self._consumed = len(entries)
        cells = self._builder.feed(fresh)
        if not source.streaming:
            cells += self._builder.finish()
        if self.heat_map.is_empty:
            prefix = source.untokenized(self._choice, cells if not source.streaming else ())
            self.heat_map.show_cells(cells, prefix)
        else:
            self.heat_map.append_cells(cells)
        if cells or not source.streaming or not self.summary_label.text():
            self._summary = self._summary.extended(cells)
            self._update_summary()

    def _update_summary(self) -> None:
        summary = self._summary
        source = self._source
        if summary.tokens == 0:
            waiting = source is not None and source.streaming and source.has_logprobs
            self.summary_label.setText(
                "Waiting for the first tokens…" if waiting else "This reply has no probabilities."
            )
            return
        parts = [
            f"{summary.tokens:,} tokens",
            f"average {percent(summary.mean_probability)}",
            f"{summary.below_half:,} below 50%",
        ]
        least = summary.least_likely
        if least is not None:
            parts.append(f"least likely “{shown_token(least.text)}” {percent(least.probability)}")
        text = "  ·  ".join(parts)
        if self.heat_map.prefix:
            text += "\nThe start (untinted) was written by an earlier request."
        self.summary_label.setText(text)

    def _show_json(self) -> None:
        source = self._source
        if source is None:
            return
        self._json_shown = True
        text = source.text(self._choice)
        answer = json_answer.check(text, source.finish_reason(self._choice))
        self.json_page.show_answer(answer, text)

    def _update_title(self) -> None:
        source = self._source
        if source is None:
            return
        title = source.model or "Reply"
        if source.streaming:
            title += "  (streaming…)"
        self.title_label.setText(title)
