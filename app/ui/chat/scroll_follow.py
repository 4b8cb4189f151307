"""Auto-scroll for the chat view: the newest text stays in sight until the user scrolls away.

Scrolling back to the bottom resumes following. The view's own edits go through `keeping`,
so that a document growing or shrinking is never taken for the user's scrolling.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtWidgets import QScrollBar

# How close to the bottom (in pixels) still counts as "at the bottom" for auto-scroll.
_FOLLOW_SLACK_PX = 4


class ScrollFollow:
    """Whether the view follows its newest text, read from and applied to its scroll bar.

    The owner connects the bar's `valueChanged` and `rangeChanged` to `on_value_changed`
    and `on_range_changed`.
    """

    def __init__(self, bar: QScrollBar) -> None:
        self._bar = bar
        self.following = True
        self._updating = False
        self._last_value = 0

    def on_value_changed(self, value: int) -> None:
        previous, self._last_value = self._last_value, value
        maximum = self._bar.maximum()
        # A shorter document pulls the value down to the new maximum: not the user's doing.
        if self._updating or (value == maximum and previous > value):
            return
        self.following = value >= maximum - _FOLLOW_SLACK_PX

    def on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self.following and not self._updating:
            self._bar.setValue(maximum)

    def scroll_to(self, value: int) -> None:
        """Stop following and show the document from `value` (within the bar's range)."""
        self.following = False
        self._bar.setValue(min(self._bar.maximum(), max(0, value)))
        self._last_value = self._bar.value()

    @contextmanager
    def keeping(self) -> Iterator[None]:
        """Edit the document without the edit moving the view or changing `following`."""
        bar = self._bar
        value, follow = bar.value(), self.following
        self._updating = True
        try:
            yield
        finally:
            self._updating = False
            self.following = follow
            bar.setValue(bar.maximum() if follow else min(value, bar.maximum()))
            self._last_value = bar.value()
