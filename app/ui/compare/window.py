"""The Compare window: one prompt (with the composer's images) sent to two or three models, or
to one model with different parameters, at once; the answers stream side by side.

It starts from the main window's draft and conversation: the prompt box holds the draft, the
conversation's messages and system prompt go before it, and the composer's images go with it.
Each column picks a model and may override temperature, top P, seed and max tokens. When the
answers are in, each column shows its tokens, cost and latency (time to first token and
total), and "Continue with this" hands that exchange to the conversation (`continue_chosen`).
Each column is a turn (`app/core/turn.py`) recorded in the usage ledger as "compare"; with a
hard budget limit the whole comparison is asked about once, before any column is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import PurePath

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.budget import SendDeclined
from app.core.catalog import CATALOG, lookup
from app.core.client import ChatClient
from app.core.compare import (
    MAX_CONTENDERS,
    CompareRequest,
    Comparison,
    Contender,
    OverrideError,
    SettledListener,
    budget_requests,
)
from app.core.messages import ChatMessage, ImagePart, Role
from app.core.store.ledger import Source, UsageLedger
from app.core.turn import Turn
from app.ui.background import BackgroundImports
from app.ui.compare.column import CompareColumn
from app.ui.tasks import report_bug
from app.ui.usage.budget_guard import BudgetGuard
from app.ui.widgets.theme import Tone, set_tone

WINDOW_TITLE = "Compare answers"
SEND_SHORTCUT = "Ctrl+Return"
MIN_COLUMNS = 2

ClientSource = Callable[[], ChatClient | None]
LedgerSource = Callable[[], UsageLedger | None]


def context_text(history: Sequence[ChatMessage], images: Sequence[ImagePart]) -> str:
    """What goes with the prompt, e.g. `After this conversation's 4 messages and its system
    prompt · with 1 image: harbour.jpg`."""
    turns = sum(1 for m in history if m.role is not Role.SYSTEM)
    system = any(m.role is Role.SYSTEM for m in history)
    if turns:
        noun = "message" if turns == 1 else "messages"
        where = f"After this conversation's {turns} {noun}"
        where += " and its system prompt" if system else ""
    else:
        where = "A new conversation" + (" with its system prompt" if system else "")
    if images:
        names = ", ".join(PurePath(i.source).name or "image" for i in images)
        where += f" · with {len(images)} image{'s' if len(images) > 1 else ''}: {names}"
    return where


def second_model(model: str, with_images: bool) -> str:
    """A sensible other model for the second column: the catalog's next one that fits."""
    others = [m for m in CATALOG if m != model and (lookup(m).vision or not with_images)]
    preferred = [m for m in ("gpt-4o", "gpt-4o-mini") if m in others]
    return (preferred or others or [model])[0]


class CompareWindow(QWidget):
    """Side-by-side answers. `continue_chosen(message, reply, params)` picks one to continue
    the conversation with (`reply` a `Reply` that finished, state `RunState.DONE`).

    Each column's turn sends on `client()` and records into `ledger()`; `on_settled` is told
    each settled reply (the status bar's totals); `budget` asks before a comparison that could
    cross a hard limit.
    """

    continue_chosen = Signal(object, object, object)

    def __init__(
        self,
        *,
        client: ClientSource,
        ledger: LedgerSource = lambda: None,
        on_settled: SettledListener | None = None,
        budget: BudgetGuard | None = None,
        background: BackgroundImports | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self._client = client
        # Without a budget policy: the question is asked once for every column, before them.
        self._turn = Turn(client=client, source=Source.COMPARE, ledger=ledger)
        self._on_settled = on_settled
        self._budget = budget
        self._background = background
        # The budget question for a send, while it is open or being prepared.
        self._asking: asyncio.Task[None] | None = None
        self._budget_agreed = False
        self.setObjectName("compareWindow")
        self.setWindowTitle(WINDOW_TITLE)
        self._request: CompareRequest | None = None
        self._server_models: tuple[str, ...] = ()
        self.comparison: Comparison | None = None
        self.columns: list[CompareColumn] = []

        self.prompt_edit = QPlainTextEdit(self)
        self.prompt_edit.setObjectName("comparePrompt")
        self.prompt_edit.setAccessibleName("Prompt to compare")
        self.prompt_edit.setPlaceholderText("The prompt every column answers")
        self.prompt_edit.setTabChangesFocus(True)
        line = self.prompt_edit.fontMetrics().lineSpacing()
        self.prompt_edit.setFixedHeight(line * 3 + 14)
        self.context_label = QLabel(self)
        self.context_label.setObjectName("compareContext")
        self.context_label.setWordWrap(True)
        set_tone(self.context_label, Tone.MUTED)
        self.status_label = QLabel(self)
        self.status_label.setObjectName("compareStatus")
        self.status_label.setWordWrap(True)
        self.add_button = QPushButton("Add column", self)
        self.add_button.setObjectName("addColumnButton")
        self.add_button.setAccessibleName("Add a column")
        self.add_button.setToolTip(f"Compare up to {MAX_CONTENDERS} answers")
        self.add_button.clicked.connect(self.on_add_button_clicked)
        self.send_button = QPushButton("Send to all", self)
        self.send_button.setObjectName("compareSendButton")
        self.send_button.setAccessibleName("Send to all columns")
        self.send_button.setToolTip(f"Send the prompt to every column at once ({SEND_SHORTCUT})")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.on_send_button_clicked)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("compareStopButton")
        self.stop_button.setAccessibleName("Stop every column")
        self.stop_button.setToolTip("Stop every answer, keeping what arrived (Esc)")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("compareColumns")
        self.splitter.setChildrenCollapsible(False)
        self._lay_out()

        self.send_shortcut = QShortcut(QKeySequence(SEND_SHORTCUT), self)
        self.send_shortcut.activated.connect(self.on_send_button_clicked)
        self.stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.stop_shortcut.activated.connect(self.stop)
        self.close_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Close), self)
        self.close_shortcut.activated.connect(self.close)
        self.resize(1180, 780)
        self.setMinimumSize(720, 520)

    def _lay_out(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.context_label, 1)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.send_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 10, 12, 10)
        column.setSpacing(8)
        prompt_label = QLabel("&Prompt", self)
        prompt_label.setBuddy(self.prompt_edit)
        column.addWidget(prompt_label)
        column.addWidget(self.prompt_edit)
        column.addLayout(buttons)
        column.addWidget(self.splitter, 1)
        column.addWidget(self.status_label)

    @property
    def busy(self) -> bool:
        return self.comparison is not None and self.comparison.busy

    def open_for(self, request: CompareRequest, server_models: Sequence[str] = ()) -> None:
        """Compare `request`'s message after its conversation; the prompt box holds its text."""
        if self.busy:
            self._bring_forward()
            return
        self._request = request
        self._server_models = tuple(server_models)
        self.prompt_edit.setPlainText(request.message.text)
        self.context_label.setText(context_text(request.history, request.message.images))
        self.status_label.clear()
        if not self.columns:
            self.add_column(request.model)
            self.add_column(second_model(request.model, bool(request.message.images)))
        for column in self.columns:
            column.show_base(request.params)
            column.clear_answer()
        self.comparison = None
        self._bring_forward()
        self.prompt_edit.setFocus()

    def add_column(self, model: str) -> CompareColumn:
        column = CompareColumn(CATALOG, self._server_models, model, self.splitter)
        if self._request is not None:
            column.show_base(self._request.params)
        column.continue_clicked.connect(lambda: self.on_column_continue_clicked(column))
        column.remove_clicked.connect(lambda: self.on_column_remove_clicked(column))
        column.resend_requested.connect(lambda: self.on_column_resend_requested(column))
        self.splitter.addWidget(column)
        self.columns.append(column)
        self._refresh_buttons()
        return column

    def on_add_button_clicked(self) -> None:
        if len(self.columns) < MAX_CONTENDERS and not self.busy:
            model = self._request.model if self._request is not None else self.columns[0].model
            self.add_column(model)

    def on_column_remove_clicked(self, column: CompareColumn) -> None:
        if len(self.columns) <= MIN_COLUMNS or self.busy:
            return
        self.columns.remove(column)
        column.hide()
        column.deleteLater()
        # The old comparison's indices no longer match the columns.
        self.comparison = None
        self._refresh_buttons()

    def on_send_button_clicked(self) -> None:
        self.send()

    def send(self, only: CompareColumn | None = None) -> Comparison | None:
        """Send the prompt to every column (or to `only`), each request in its own task.

        With a hard budget limit, the requests are counted first and may need the user's
        consent: then the comparison starts later (None is returned now).
        """
        request = self._request
        if request is None or self.busy or self._asking is not None:
            return None
        text = self.prompt_edit.toPlainText()
        images = request.message.images
        if not text.strip() and not images:
            self._say("Write a prompt first.", Tone.ERROR)
            return None
        if self._client() is None:
            self._say("Not connected yet: wait for Chatdesk to connect, then send.", Tone.ERROR)
            return None
        contenders: list[Contender] = []
        for column in self.columns:
            try:
                contenders.append(column.contender(request.params))
            except OverrideError as mistyped:
                column.clear_answer()
                column.show_problem(str(mistyped))
                self._say("Fix the marked column, then send again.", Tone.ERROR)
                return None
        message = ChatMessage.user(text, images)
        if self._needs_budget_question():
            targets = contenders if only is None else [contenders[self.columns.index(only)]]
            compared = CompareRequest(request.history, message, request.model, request.params)
            self._asking = asyncio.ensure_future(self._ask_then_send(compared, targets, only))
            self._asking.add_done_callback(self._on_asking_done)
            return None
        self._budget_agreed = False
        previous = self.comparison
        indices: list[int] | None = None
        if (
            only is not None
            and previous is not None
            and previous.request.message == message
            and len(previous.contenders) == len(contenders)
        ):
            # One column again: the others keep their answers.
            index = self.columns.index(only)
            previous.replace_contender(index, contenders[index])
            comparison, indices = previous, [index]
        else:
            comparison = Comparison(
                CompareRequest(request.history, message, request.model, request.params),
                contenders,
                turn=self._turn,
                on_text=self.on_comparison_text,
                on_changed=self.on_comparison_changed,
                on_settled=self._on_settled,
                before_counting=self._counting,
            )
        self.comparison = comparison
        for index, column in enumerate(self.columns):
            if indices is None or index in indices:
                column.begin_answer()
        self._say("")
        comparison.start(indices)
        self._refresh_buttons()
        return comparison

    def _needs_budget_question(self) -> bool:
        return (
            self._budget is not None
            and not self._budget_agreed
            and self._budget.asks_before_sending()
        )

    async def _ask_then_send(
        self,
        request: CompareRequest,
        contenders: list[Contender],
        only: CompareColumn | None,
    ) -> None:
        """Count every request the send would make; go ahead if the budget (or the user) allows."""
        assert self._budget is not None
        self._say("Counting tokens before sending…")
        requests = await budget_requests(request, contenders, self._counting)
        try:
            await self._budget.policy(parent=self).check(requests)
        except SendDeclined:
            self._asking = None
            self._say("Not sent: it could take the month past your budget.", Tone.ERROR)
            return
        self._asking = None
        self._say("")
        self._budget_agreed = True
        try:
            self.send(only)
        finally:
            self._budget_agreed = False

    async def _counting(self, model: str) -> None:
        # Counting tokens loads tiktoken, which must not overlap the window's other imports.
        if self._background is not None:
            await self._background.counting(model)

    def _on_asking_done(self, task: asyncio.Task[None]) -> None:
        if self._asking is task:
            self._asking = None
        report_bug(task)

    def stop(self) -> None:
        """Stop every answer still streaming; what arrived stays."""
        if self._asking is not None:
            self._asking.cancel()
        if self.comparison is not None:
            self.comparison.stop()

    async def finish(self) -> None:
        """Stop and wait for every request to end (before the app closes)."""
        if self.comparison is not None:
            self.comparison.stop()
            await self.comparison.wait()

    def on_comparison_text(self, index: int, text: str) -> None:
        if index < len(self.columns):
            self.columns[index].append(text)

    def on_comparison_changed(self, index: int) -> None:
        comparison = self.comparison
        if comparison is None or index >= len(self.columns):
            return
        self.columns[index].show_reply(comparison.replies[index])
        self._refresh_buttons()

    def on_column_resend_requested(self, column: CompareColumn) -> None:
        self.send(only=column)

    def on_column_continue_clicked(self, column: CompareColumn) -> None:
        comparison = self.comparison
        if comparison is None or column not in self.columns:
            return
        index = self.columns.index(column)
        reply = comparison.replies[index]
        contender = comparison.contenders[index]
        self.continue_chosen.emit(comparison.request.message, reply, contender.params)

    def _refresh_buttons(self) -> None:
        busy = self.busy
        self.send_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.add_button.setEnabled(not busy and len(self.columns) < MAX_CONTENDERS)
        for column in self.columns:
            column.remove_button.setEnabled(not busy and len(self.columns) > MIN_COLUMNS)
            column.set_editable(not busy)

    def _say(self, text: str, tone: Tone = Tone.NORMAL) -> None:
        self.status_label.setText(text)
        set_tone(self.status_label, tone)

    def _bring_forward(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop()
        super().closeEvent(event)
