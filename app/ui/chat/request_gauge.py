"""The live estimate by the composer: tokens and cost of the request the draft would make.

`RequestEstimator` counts off the GUI thread, a moment after the user stops typing;
`RequestGauge` shows the result: "1,234 tokens · $0.0031 · 1% of 128K" and a small bar.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from app.core import preflight
from app.core.messages import ChatMessage, Role
from app.core.params import ChatParams
from app.core.preflight import RequestEstimate
from app.core.problems import UserFacingError
from app.core.usage import format_usd
from app.ui.background import BackgroundImports
from app.ui.tasks import report_bug

log = logging.getLogger(__name__)

DEBOUNCE_MS = 250
COUNTING_TEXT = "counting…"
# Above this share of the context window the gauge warns; above 1 the request cannot be sent.
NEAR_FULL = 0.8
_BAR_STEPS = 1000

DraftRequest = tuple[str, Sequence[ChatMessage], ChatParams]


def window_text(tokens: int) -> str:
    """A context window as people name it: "128K", "200K", "8K"."""
    for unit in (1000, 1024):
        if tokens >= unit and tokens % unit == 0:
            return f"{tokens // unit}K"
    return f"{tokens / 1000:.1f}K" if tokens >= 1000 else str(tokens)


def share_text(share: float) -> str:
    """Percent of the window: "<1%" for a sliver, whole percent otherwise."""
    if 0 < share < 0.005:
        return "<1%"
    return f"{share * 100:.0f}%"


def estimate_text(estimate: RequestEstimate) -> str:
    """ "1,234 tokens · $0.0031 · 1% of 128K"."""
    money = format_usd(estimate.cost.total) if estimate.cost is not None else "cost unknown"
    window = window_text(estimate.model.context_window)
    return (
        f"{estimate.prompt_tokens:,} tokens · {money} · "
        f"{share_text(estimate.context_used)} of {window}"
    )


def estimate_details(estimate: RequestEstimate, messages: int) -> str:
    """The tooltip: what the numbers include and how far they can be trusted."""
    model = estimate.model
    lines = [
        f"The next request to {model.id}, counted locally:",
        f"{estimate.prompt_tokens:,} prompt tokens in {messages} message"
        + ("s" if messages != 1 else "")
        + " (system prompt, conversation, your draft and its images).",
    ]
    reserved = estimate.reserved_output_tokens
    if reserved:
        lines.append(f"{reserved:,} tokens are reserved for the reply (max tokens).")
    if estimate.cost is None:
        lines.append("No price is known for this model.")
    else:
        lines.append(
            f"Cost {format_usd(estimate.cost.total)}: the prompt at the input price"
            + (", the reserved reply at the output price." if reserved else "; the reply is extra.")
        )
    lines.append(
        f"Context window: {model.context_window:,} tokens, {share_text(estimate.context_used)} "
        "used. Images at auto detail are counted as high, so this is an upper bound."
    )
    if not estimate.fits:
        lines.append("Too long to send: shorten it, remove images, or pick a larger model.")
    return "\n".join(lines)


class RequestEstimator(QObject):
    """Counts the draft request in a worker thread, `DEBOUNCE_MS` after the last change.

    `inputs()` is read on the GUI thread when counting starts; it returns the model, the
    messages (the draft last) and the parameters.
    """

    cleared = Signal()  # nothing to send: no message of the user's yet
    counting = Signal()
    estimated = Signal(object)  # RequestEstimate
    unavailable = Signal(object)  # UserFacingError: tokens cannot be counted

    def __init__(
        self,
        inputs: Callable[[], DraftRequest],
        background: BackgroundImports,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._inputs = inputs
        self._background = background
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.on_timer_timeout)
        self._task: asyncio.Task[None] | None = None
        self._latest: RequestEstimate | None = None
        self._messages = 0
        # Whether something changed since the latest estimate was asked for.
        self._stale = True

    @property
    def latest(self) -> RequestEstimate | None:
        return self._latest

    @property
    def message_count(self) -> int:
        return self._messages

    def current(self) -> RequestEstimate | None:
        """The estimate of the request as it stands now, or None while one is being made."""
        if self._stale or self._task is not None:
            return None
        return self._latest

    def schedule(self) -> None:
        """Count again once the user pauses; call on every change to the request."""
        self._stale = True
        self._timer.start()

    def cancel(self) -> None:
        self._timer.stop()
        if self._task is not None:
            self._task.cancel()

    def on_timer_timeout(self) -> None:
        if self._task is not None:
            return  # the running count starts another when it ends
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return  # no event loop any more: the window is being torn down
        if loop.is_closed():
            return
        self._task = loop.create_task(self._count())
        self._task.add_done_callback(self._on_task_done)

    async def _count(self) -> None:
        self._stale = False
        model, messages, params = self._inputs()
        if not any(message.role is Role.USER for message in messages):
            # Nothing to count, and no reason to load an encoding for it.
            self._latest = None
            self.cleared.emit()
            return
        if not self._background.counting_ready(model):
            self.counting.emit()
        try:
            await self._background.counting(model)
            estimate = await asyncio.get_running_loop().run_in_executor(
                None, preflight.estimate, model, list(messages), params
            )
        except UserFacingError as problem:
            log.warning("token counting unavailable: %s", problem)
            self.unavailable.emit(problem)
            return
        self._latest = estimate
        self._messages = len(messages)
        self.estimated.emit(estimate)

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if self._task is task:
            self._task = None
        if report_bug(task) and self._stale:
            self._timer.start()


class RequestGauge(QWidget):
    """Tokens, cost and share of the context window of the next request, with a small bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("requestGauge")
        self.setAccessibleName("Next request estimate")
        self.label = QLabel(self)
        self.label.setObjectName("requestGaugeLabel")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QProgressBar(self)
        self.bar.setObjectName("requestGaugeBar")
        self.bar.setAccessibleName("Context window used")
        self.bar.setRange(0, _BAR_STEPS)
        self.bar.setValue(0)
        self.bar.setTextVisible(False)
        self.bar.setFixedSize(72, 8)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        row.addWidget(self.label)
        row.addWidget(self.bar, 0, Qt.AlignmentFlag.AlignVCenter)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self._level = ""
        self._set_level("")
        self.show_nothing()

    @property
    def text(self) -> str:
        return self.label.text()

    @property
    def level(self) -> str:
        """ "" normally, "near" close to the context window, "over" past it."""
        return self._level

    def follow(self, estimator: RequestEstimator) -> None:
        estimator.cleared.connect(self.show_nothing)
        estimator.counting.connect(self.show_counting)
        estimator.estimated.connect(
            lambda estimate: self.show_estimate(estimate, estimator.message_count)
        )
        estimator.unavailable.connect(self.show_unavailable)

    def show_nothing(self) -> None:
        self.label.clear()
        self.bar.hide()
        self._set_level("")
        self.setToolTip("The tokens and cost of your next message appear here as you write it.")

    def show_counting(self) -> None:
        self.label.setText(COUNTING_TEXT)
        self.bar.show()
        self.setToolTip("Loading the token counter for this model…")

    def show_estimate(self, estimate: RequestEstimate, messages: int = 0) -> None:
        share = estimate.context_used
        text = estimate_text(estimate)
        self.label.setText(text if estimate.fits else f"{text} — too long")
        self.bar.show()
        self.bar.setValue(min(_BAR_STEPS, round(share * _BAR_STEPS)))
        self._set_level("over" if not estimate.fits else "near" if share >= NEAR_FULL else "")
        details = estimate_details(estimate, messages)
        self.setToolTip(details)
        self.setAccessibleDescription(details)

    def show_unavailable(self, problem: UserFacingError) -> None:
        self.label.setText("tokens not counted")
        self.bar.setValue(0)
        self._set_level("")
        self.setToolTip(f"{problem.headline}. {problem.remedy}".strip())

    def _set_level(self, level: str) -> None:
        self._level = level
        colour = {"over": "#c62828", "near": "#b26a00"}.get(level)
        chunk = colour or "palette(highlight)"
        # Fixed warning colours read on light and dark themes alike; otherwise the theme's own.
        self.label.setStyleSheet(f"color: {colour}; font-weight: bold;" if colour else "")
        self.bar.setStyleSheet(
            "QProgressBar { border: 1px solid palette(mid); border-radius: 3px;"
            " background: palette(base); }"
            f" QProgressBar::chunk {{ background: {chunk}; border-radius: 2px; }}"
        )
