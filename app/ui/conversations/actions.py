"""The Conversation menu: export as Markdown or JSON, view the last request as code, and
compare models (which the window wiring opens: `compare_requested`).

The window hands in two callables, one giving the conversation to export (from the history)
and one giving the last request sent; this module never reaches for either itself. Files are
written in a worker thread (a conversation with images can be megabytes, and fsync can take a
while), through `app.core.export`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QStatusBar, QToolButton, QWidget

from app.core.as_code import SentRequest
from app.core.export.files import export_file_name
from app.core.export.to_json import write_json_export
from app.core.export.to_markdown import write_markdown_export
from app.core.problems import UserFacingError
from app.core.store.records import StoredConversation
from app.ui.conversations.code_dialog import CodeDialog
from app.ui.tasks import report_bug
from app.ui.widgets.error_banner import ErrorBanner
from app.ui.window_actions import Owner, add_actions, keys_text

NOTHING_TO_EXPORT = "Nothing to export yet"
NOTHING_TO_EXPORT_REMEDY = "Send a message first: a conversation can be exported once it has one."
_EXPORTED_MESSAGE_MS = 10_000

# Asks where to save: (parent, caption, suggested path, name filter) -> the path, or None.
PathChooser = Callable[[QWidget, str, Path, str], Path | None]
ConversationSource = Callable[[], StoredConversation | None]
RequestSource = Callable[[], SentRequest | None]


def ask_save_path(parent: QWidget, caption: str, suggested: Path, name_filter: str) -> Path | None:
    """The system's Save dialog (it asks before replacing a file)."""
    chosen, _ = QFileDialog.getSaveFileName(parent, caption, str(suggested), name_filter)
    return Path(chosen) if chosen else None


def _write_json(conversation: StoredConversation, path: Path) -> list[Path]:
    write_json_export(conversation, path)
    return [path]


@dataclass(frozen=True)
class ExportFormat:
    extension: str
    caption: str
    name_filter: str
    write: Callable[[StoredConversation, Path], list[Path]]


MARKDOWN = ExportFormat("md", "Export as Markdown", "Markdown (*.md)", write_markdown_export)
JSON = ExportFormat("json", "Export as JSON", "JSON (*.json)", _write_json)


def exported_text(written: list[Path]) -> str:
    """What the status bar says after an export, e.g. `Exported to /x/chat.md and 2 images`."""
    images = len(written) - 1
    if images <= 0:
        return f"Exported to {written[0]}"
    return f"Exported to {written[0]} and {images} image{'s' if images > 1 else ''}"


class ConversationActions(QObject):
    """The actions of the Conversation menu and the button that opens it.

    `exported` is emitted with the path of the file written once an export has finished.
    """

    exported = Signal(str)
    # Compare models was chosen: the draft is to be sent to several models side by side.
    compare_requested = Signal()

    def __init__(
        self,
        window: QWidget,
        *,
        banner: ErrorBanner,
        status: QStatusBar,
        choose_path: PathChooser = ask_save_path,
        directory: Path | None = None,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._banner = banner
        self._status = status
        # Replaceable, so tests (and other front ends) can answer the Save dialog themselves.
        self.choose_path = choose_path
        self._directory = directory or Path.home()
        self._conversation: ConversationSource = lambda: None
        self._last_request: RequestSource = lambda: None
        self._tasks: set[asyncio.Task[None]] = set()
        self.code_dialog: CodeDialog | None = None

        # Texts and keys come from the window's one table of commands; those with keys are
        # added to the window too, so they work while the menu is closed.
        self.actions = add_actions(Owner.CONVERSATION_MENU, self, window)
        self.export_markdown_action = self.actions["export_markdown"]
        self.export_json_action = self.actions["export_json"]
        self.view_code_action = self.actions["view_code"]
        self.compare_action = self.actions["compare"]

        self.menu = QMenu("&Conversation", window)
        self.menu.addAction(self.export_markdown_action)
        self.menu.addAction(self.export_json_action)
        self.menu.addSeparator()
        self.menu.addAction(self.view_code_action)
        self.menu.addAction(self.compare_action)
        self.button = QToolButton(window)
        self.button.setObjectName("conversationButton")
        self.button.setText("Conversation")
        # Not just "Conversation": that is the name of the conversation view itself.
        self.button.setAccessibleName("Conversation menu")
        self.button.setToolTip(
            "Export this conversation, or view its last request as code "
            f"({keys_text(self.view_code_action)})"
        )
        self.button.setMenu(self.menu)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)

    def set_exporter(self, current: ConversationSource) -> None:
        """Export what `current()` returns: the open conversation, or None when there is none."""
        self._conversation = current

    def set_request_source(self, last_request: RequestSource) -> None:
        """View as code shows what `last_request()` returns (None before anything was sent)."""
        self._last_request = last_request

    def on_export_markdown_action_triggered(self) -> None:
        self.start_export(MARKDOWN)

    def on_export_json_action_triggered(self) -> None:
        self.start_export(JSON)

    def on_view_code_action_triggered(self) -> None:
        if self.code_dialog is None:
            self.code_dialog = CodeDialog(self._window)
        self.code_dialog.show_request(self._last_request())
        self.code_dialog.show()
        self.code_dialog.raise_()
        self.code_dialog.activateWindow()

    def start_export(self, kind: ExportFormat) -> asyncio.Task[None] | None:
        """Ask where to save, then write in the background; the task, kept until it ends."""
        conversation = self._exportable()
        if conversation is None:
            return None
        suggested = self._directory / export_file_name(conversation.title, kind.extension)
        path = self.choose_path(self._window, kind.caption, suggested, kind.name_filter)
        if path is None:
            return None
        if not path.suffix:
            path = path.with_name(f"{path.name}.{kind.extension}")
        self._directory = path.parent
        task = asyncio.ensure_future(self.export(conversation, path, kind))
        self._tasks.add(task)
        task.add_done_callback(self._on_task_done)
        return task

    async def export(
        self, conversation: StoredConversation, path: Path, kind: ExportFormat
    ) -> None:
        """Write `conversation` to `path`; a failure is shown in the banner."""
        loop = asyncio.get_running_loop()
        try:
            written = await loop.run_in_executor(None, kind.write, conversation, path)
        except UserFacingError as failed:
            self._banner.show_problem(failed.headline, failed.remedy)
            return
        self._status.showMessage(exported_text(written), _EXPORTED_MESSAGE_MS)
        self.exported.emit(str(path))

    async def finish_exports(self) -> None:
        """Wait for exports still being written (before closing the window)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    def _exportable(self) -> StoredConversation | None:
        try:
            conversation = self._conversation()
        except UserFacingError as problem:
            self._banner.show_problem(problem.headline, problem.remedy)
            return None
        if conversation is None or not conversation.messages:
            self._banner.show_problem(NOTHING_TO_EXPORT, NOTHING_TO_EXPORT_REMEDY)
            return None
        return conversation

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        report_bug(task)
