"""The result of "Re-run with same seed": identical or not, the words that changed, and why.

Non-modal, so the conversation stays usable while the request runs. The new answer is shown
as a word diff over the original: removed words struck through in red, added words on green.
The re-run never replaces the reply in the conversation; it only reports.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import lookup
from app.core.reply import RunState
from app.core.reproduce import Reproduction, RerunSubject
from app.core.word_diff import Change, WordDiff
from app.ui.widgets.status_bar import usage_text

LEGEND = "Words only in the original are struck through in red; words only in the re-run are green."
# (background, text) for removed and added words, on light and on dark palettes.
_LIGHT = {Change.REMOVED: ("#ffd7d5", "#82071e"), Change.ADDED: ("#ccffd8", "#055d20")}
_DARK = {Change.REMOVED: ("#67060c", "#ffdcd7"), Change.ADDED: ("#033a16", "#aff5b4")}


def diff_html(diff: WordDiff, *, dark: bool = False) -> str:
    """The new answer with its changes marked, as HTML for a QTextBrowser (text escaped)."""
    colours = _DARK if dark else _LIGHT
    pieces: list[str] = []
    for segment in diff.segments:
        if segment.change is Change.SAME:
            pieces.append(_html(segment.text))
            continue
        words = segment.text.rstrip()
        after = segment.text[len(words) :]
        if segment.change is Change.REMOVED and after:
            # The line breaks after removed words belong to the old layout: one space stands
            # in for them, so the new answer keeps its own shape.
            after = " "
        background, colour = colours[segment.change]
        strike = "text-decoration: line-through; " if segment.change is Change.REMOVED else ""
        style = f"{strike}background-color: {background}; color: {colour};"
        pieces.append(f'<span style="{style}">{_html(words)}</span>{_html(after)}')
    return f'<div style="white-space: pre-wrap;">{"".join(pieces)}</div>'


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


class RerunDialog(QDialog):
    """Shows one re-run: running, then its verdict and diff. `stop_requested` on close."""

    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Re-run with the same seed")
        self.setObjectName("rerunDialog")
        self.resize(720, 560)
        self.headline_label = QLabel(self)
        self.headline_label.setObjectName("rerunHeadline")
        self.headline_label.setWordWrap(True)
        font = self.headline_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setWeight(QFont.Weight.DemiBold)
        self.headline_label.setFont(font)
        self.facts_label = QLabel(self)
        self.facts_label.setObjectName("rerunFacts")
        self.facts_label.setWordWrap(True)
        self.fingerprint_label = QLabel(self)
        self.fingerprint_label.setObjectName("rerunFingerprint")
        self.fingerprint_label.setWordWrap(True)
        self.diff_view = QTextBrowser(self)
        self.diff_view.setObjectName("rerunDiff")
        self.diff_view.setAccessibleName("Word diff of the re-run against the original")
        self.diff_view.setOpenLinks(False)
        self.legend_label = QLabel(LEGEND, self)
        self.legend_label.setWordWrap(True)
        self.legend_label.setEnabled(False)
        self.cost_label = QLabel(self)
        self.cost_label.setObjectName("rerunCost")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        column = QVBoxLayout(self)
        column.addWidget(self.headline_label)
        column.addWidget(self.facts_label)
        column.addWidget(self.fingerprint_label)
        column.addWidget(self.diff_view, 1)
        column.addWidget(self.legend_label)
        column.addWidget(self.cost_label)
        column.addWidget(buttons)

    def show_running(self, subject: RerunSubject) -> None:
        """The request is on its way again."""
        self.headline_label.setText(f"Re-running with seed {subject.seed}…")
        self.facts_label.setText(_facts(subject))
        self.fingerprint_label.setText(
            f"The original came from {subject.fingerprint}."
            if subject.fingerprint
            else "The original came with no system fingerprint."
        )
        self.diff_view.clear()
        self.legend_label.hide()
        self.cost_label.clear()

    def show_result(self, result: Reproduction) -> None:
        """The verdict, the fingerprints, the diff and what the re-run cost."""
        self.headline_label.setText(result.headline())
        self.facts_label.setText(_facts(result.subject))
        self.fingerprint_label.setText(result.fingerprint_note())
        rerun = result.rerun
        problem = rerun.problem
        if problem is not None and not rerun.text:
            declined = rerun.state is RunState.DECLINED
            self.fingerprint_label.setText("Nothing was sent." if declined else problem.remedy)
            self.diff_view.clear()
            self.legend_label.hide()
        else:
            dark = self.palette().base().color().lightnessF() < 0.5
            self.diff_view.setHtml(diff_html(result.diff, dark=dark))
            self.legend_label.setVisible(not result.diff.same_words)
        if rerun.usage is not None:
            model = lookup(rerun.billed_model)
            self.cost_label.setText(f"This re-run: {usage_text(rerun.usage, model)}")
        else:
            self.cost_label.clear()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop_requested.emit()
        super().closeEvent(event)


def _facts(subject: RerunSubject) -> str:
    return (
        f"Seed {subject.seed} · {subject.model} · the identical request sent again; "
        "the reply in the conversation stays as it was."
    )
