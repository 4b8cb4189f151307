"""'Re-run with same seed' on the last reply: its exact request again, and a word diff.

The controller says what the last reply's request was (`subject`); this object sends it again
through the re-run surface's `turn` (tagged "rerun" in the ledger and checked against the
budget like any other paid request), tells `on_settled` (the status bar's totals), and shows
the verdict in a `RerunDialog`. The conversation itself is never changed by a re-run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QStatusBar, QWidget

from app.core.reply import Reply
from app.core.reproduce import Reproduction, RerunSubject, rerun
from app.core.turn import Turn, TurnHooks
from app.ui.chat.rerun_dialog import RerunDialog
from app.ui.chat.view import ChatView
from app.ui.tasks import report_bug

NOTHING_TO_RERUN = (
    "Only the last reply can be re-run, once it has finished and if its request sent a seed."
)
_MESSAGE_MS = 10_000

SubjectSource = Callable[[], RerunSubject | None]


class SeedRerun(QObject):
    """Runs re-runs of the view's last reply; `rerun_finished` carries each `Reproduction`."""

    rerun_finished = Signal(object)

    def __init__(
        self,
        view: ChatView,
        *,
        subject: SubjectSource,
        turn: Turn,
        status: QStatusBar,
        on_settled: Callable[[Reply], Awaitable[None]] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._view = view
        self._subject = subject
        self._turn = turn
        self._status = status
        self._on_settled = on_settled
        self._task: asyncio.Task[Reproduction] | None = None
        self.dialog: RerunDialog | None = None
        view.rerun_requested.connect(self.on_view_rerun_requested)

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def on_view_rerun_requested(self) -> None:
        if self.busy:
            self._show_dialog()
            return
        subject = self._subject()
        if subject is None or subject.seed is None:
            self._status.showMessage(NOTHING_TO_RERUN, _MESSAGE_MS)
            return
        self._show_dialog().show_running(subject)
        task = asyncio.ensure_future(self.run(subject))
        self._task = task
        task.add_done_callback(self._on_task_done)

    async def run(self, subject: RerunSubject) -> Reproduction:
        """Send `subject` again (its turn records and reports the cost), show the verdict."""
        result = await rerun(self._turn, subject, hooks=TurnHooks(on_settled=self._on_settled))
        if self.dialog is not None:
            self.dialog.show_result(result)
        self.rerun_finished.emit(result)
        return result

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _show_dialog(self) -> RerunDialog:
        if self.dialog is None:
            parent = self._view.window()
            self.dialog = RerunDialog(parent if isinstance(parent, QWidget) else None)
            self.dialog.stop_requested.connect(self.stop)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def _on_task_done(self, task: asyncio.Task[Reproduction]) -> None:
        if self._task is task:
            self._task = None
        report_bug(task)
