"""When streamed reply text reaches the chat view: at most once a frame, less often when slow.

What drawing costs (writing the text, and the paints since) is measured and smoothed, so a
flood of text is drawn in fewer, larger updates while the rest of the interface stays live.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

# One frame at 60 Hz: the most often a streamed reply is repainted.
FRAME_MS = 16
# While a flood of text makes each update costly, updates are spaced so that drawing takes at
# most about 1/DRAW_SHARE of the time (a frame costs well under 1 ms at a normal pace), down
# to 20 updates a second.
MAX_FRAME_MS = 50
DRAW_SHARE = 12


class FramePacer:
    """Text queued for drawing, and the timer that calls `draw` to take it."""

    def __init__(self, parent: QObject, draw: Callable[[], None]) -> None:
        self._pending: list[str] = []
        # Seconds the last updates took to write and paint (smoothed), and paint time since.
        self._draw_cost = 0.0
        self._paint_time = 0.0
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(draw)

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def queue(self, text: str) -> None:
        # Text is pending exactly while the timer runs, which spares asking Qt.
        if not self._pending:
            self._timer.start(self.interval_ms())
        self._pending.append(text)

    def interval_ms(self) -> int:
        """How long queued text waits before it is drawn: a frame, more when drawing is slow."""
        return int(min(MAX_FRAME_MS, max(FRAME_MS, self._draw_cost * 1000 * DRAW_SHARE)))

    def take(self) -> str:
        """The queued text, now to be drawn; nothing is queued after."""
        self._timer.stop()
        text = "".join(self._pending)
        self._pending.clear()
        return text

    def drop(self) -> None:
        """Forget the queued text (its reply is gone or closed)."""
        self._timer.stop()
        self._pending.clear()

    def drew(self, seconds: float) -> None:
        """Drawing taken text took `seconds`; with the paints since the last, that is its cost."""
        cost = seconds + self._paint_time
        self._paint_time = 0.0
        self._draw_cost = (self._draw_cost + cost) / 2

    def painted(self, seconds: float) -> None:
        self._paint_time += seconds

    def reset_cost(self) -> None:
        self._draw_cost = 0.0
