"""The image area's strip of problems: what could not be attached or sent, and what to do.

Inline and dismissable, never a dialog: a drop of ten files with three bad ones explains the
three and lets the user carry on with the rest.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from app.core.problems import UserFacingError

SHOWN = 5

# Fixed colours with their own text colour, like the error banner: the same on every theme.
_STYLE = """
QFrame#imageProblems {
    background: #fdecea;
    border: 1px solid #f5c2bd;
    border-radius: 6px;
}
QFrame#imageProblems QLabel { color: #5f2120; background: transparent; }
QFrame#imageProblems QToolButton { color: #5f2120; border: none; padding: 2px 6px; }
QFrame#imageProblems QToolButton:hover { background: #f5c2bd; border-radius: 4px; }
"""


def too_many(count: int, attached: int, limit: int) -> UserFacingError:
    """The refusal of a drop or pick of `count` images when `attached` are there already."""
    if attached >= limit:
        remedy = f"A message can carry at most {limit}, and {attached} are attached already."
    elif attached:
        remedy = (
            f"A message can carry at most {limit}; {attached} are attached, so "
            f"{limit - attached} more fit. Pick fewer at a time."
        )
    else:
        remedy = f"A message can carry at most {limit}. Pick fewer at a time."
    return UserFacingError(
        f"{count:,} images are too many for one message; none were added", remedy
    )


class ImageProblems(QFrame):
    """Headline and remedy of each problem, the first few shown; hidden when there are none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageProblems")
        self.setAccessibleName("Image problems")
        self.setStyleSheet(_STYLE)
        self._problems: list[tuple[str, str]] = []
        self.label = QLabel(self)
        self.label.setObjectName("imageProblemsText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_button = QToolButton(self)
        self.dismiss_button.setObjectName("dismissImageProblems")
        self.dismiss_button.setText("✕")
        self.dismiss_button.setAccessibleName("Dismiss image problems")
        self.dismiss_button.setToolTip("Dismiss")
        self.dismiss_button.clicked.connect(self.clear)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        row.addWidget(self.label, 1)
        row.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    @property
    def problems(self) -> tuple[tuple[str, str], ...]:
        """What is shown, as (headline, remedy)."""
        return tuple(self._problems)

    def add(self, problem: UserFacingError) -> None:
        """Show `problem` too, unless it is shown already (Send pressed twice, say)."""
        shown = (problem.headline, problem.remedy)
        if shown not in self._problems:
            self._problems.append(shown)
            self._render()

    def replace(self, problems: list[UserFacingError]) -> None:
        """Show `problems` instead of any earlier ones: a new drop, pick or paste."""
        self._problems = [(problem.headline, problem.remedy) for problem in problems]
        self._render()

    def clear(self) -> None:
        self.replace([])

    def _render(self) -> None:
        shown = self._problems[:SHOWN]
        lines = [
            f"<b>{html.escape(headline)}</b>" + (f" — {html.escape(remedy)}" if remedy else "")
            for headline, remedy in shown
        ]
        hidden = len(self._problems) - len(shown)
        if hidden:
            lines.append(f"…and {hidden} more like these.")
        self.label.setText("<br>".join(lines))
        self.setVisible(bool(lines))
        plain = [f"{headline}. {remedy}" for headline, remedy in self._problems]
        self.setAccessibleDescription(" ".join(plain))
