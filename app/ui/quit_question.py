"""Asking before quitting while replies are still streaming.

Replies stream behind other conversations now, so quitting can cut off answers the user is not
looking at. Chatdesk asks first; "Quit anyway" stops them, and each is kept as stopped (with
its estimated cost) before the process ends.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from app.ui.widgets.question import answered_yes

QUIT_ANYWAY = "Quit anyway"


def quit_text(streaming: int) -> tuple[str, str]:
    """The question's headline and details for `streaming` replies still streaming."""
    if streaming == 1:
        headline = "A reply is still streaming"
    else:
        headline = f"{streaming} replies are still streaming"
    return headline, (
        "Quit anyway and what has arrived is kept, marked stopped; Continue can carry it on "
        "later. Or cancel and let them finish."
    )


class QuitQuestion:
    """Whether quitting may go ahead; asks over `window` while `streaming()` is above zero."""

    def __init__(self, window: QWidget, streaming: Callable[[], int]) -> None:
        self._window = window
        self._streaming = streaming
        self._box: QMessageBox | None = None
        # The user already answered Quit anyway: the next close goes through.
        self.agreed = False

    @property
    def box(self) -> QMessageBox | None:
        """The question while it is open."""
        return self._box

    def needed(self) -> bool:
        return not self.agreed and self._streaming() > 0

    async def ask(self) -> bool:
        """True when quitting may go ahead: nothing streams, or the user said Quit anyway."""
        if not self.needed():
            return True
        if self._box is not None:
            return False  # already asking
        headline, details = quit_text(self._streaming())
        box = QMessageBox(self._window)
        box.setObjectName("quitWhileStreamingQuestion")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Quit Chatdesk?")
        box.setText(headline)
        box.setInformativeText(details)
        quit_button = box.addButton(QUIT_ANYWAY, QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        self._box = box
        try:
            self.agreed = await answered_yes(box, quit_button)
        finally:
            self._box = None
        # The replies may have finished while the question was open.
        return self.agreed or self._streaming() == 0
