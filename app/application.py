"""Start the windowed app: QApplication, the qasync event loop, the main window, then the client.

The window is shown first; the SDK (~1.3 s to import) is loaded afterwards in a worker thread,
so the window paints and stays responsive while it loads. A message sent before the SDK is
ready simply waits for it.

Smoke checks: with `CHATDESK_EXIT_AFTER_SHOWN=1` in the environment the app exits with status 0
as soon as the window has been shown and the SDK has been loaded (or the no-key welcome is up).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from types import TracebackType
from typing import Any

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app.core.catalog import CATALOG
from app.core.client import ChatClient
from app.core.compare import CompareRequest
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.reply import Reply
from app.core.resources import resource_path
from app.core.settings import CONNECTION_FIELDS
from app.core.settings_store import SettingsChange
from app.core.store.database import DatabaseTooNew
from app.core.store.history import History
from app.core.store.records import StoredConversation
from app.platform.single_instance import (
    QUICK_ASK,
    SHOW,
    InstanceUnreachable,
    SingleInstance,
    become_primary,
)
from app.ui.chat.controller import ChatController
from app.ui.compare.window import CompareWindow
from app.ui.connection import Connection
from app.ui.conversations.controller import ConversationBrowser
from app.ui.event_loop import EventLoop
from app.ui.import_hook import drop_feature_import_hook
from app.ui.main_window import MainWindow
from app.ui.quick_ask.launcher import Companion
from app.ui.quit_question import QuitQuestion
from app.ui.settings.dialog import SettingsDialog
from app.ui.tasks import report_bug
from app.ui.usage.budget_guard import BudgetGuard
from app.ui.usage.spend_tracker import SpendTracker
from app.ui.usage.window import UsageWindow
from app.ui.widgets.status_bar import ConnectionState
from app.ui.widgets.theme import ThemeController
from app.wiring import AppContext

log = logging.getLogger(__name__)

EXIT_AFTER_SHOWN_ENV = "CHATDESK_EXIT_AFTER_SHOWN"
_COMPARE_MESSAGE_MS = 8000
# How long to wait for the window system to map the window before going on regardless.
_EXPOSE_WAIT_S = 2.0

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def run_gui(
    context: AppContext,
    *,
    demo: bool = False,
    quick_ask: bool = False,
    base_url: str | None = None,
) -> int:
    """Run the windowed app until its window is closed; the process exit code."""
    # PySide6's `__feature__` hook slows every import statement ~10x, and the SDK runs ~20 of
    # them per streamed chunk; the app never uses `from __feature__ import`.
    drop_feature_import_hook()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    # A Chatdesk already running on this data folder takes the request, and this launch ends.
    try:
        instance = become_primary(context.paths.data_dir, QUICK_ASK if quick_ask else SHOW)
    except InstanceUnreachable as stuck:
        sys.stderr.write(f"{stuck.headline}\n{stuck.remedy}\n")
        return 1
    if instance is None:
        return 0
    app.setApplicationName("Chatdesk")
    app.setDesktopFileName("chatdesk")
    app.setWindowIcon(QIcon(str(resource_path("icons", "chatdesk-256.png"))))
    # The window's closed signal ends the session; letting Qt quit on its own would stop the
    # event loop under the running coroutine.
    app.setQuitOnLastWindowClosed(False)
    # Ctrl+C in the terminal ends the process at once: the Qt loop would otherwise hold the
    # signal until the next Python callback. Nothing is lost: settings are written atomically.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # Themed before the window exists, so it never shows in the wrong colours.
    theme = ThemeController(app, app)
    theme.apply(context.settings.theme)
    session = GuiSession(
        context,
        demo=demo,
        base_url=base_url,
        exit_after_shown=context.environ.get(EXIT_AFTER_SHOWN_ENV) == "1",
        theme=theme,
        quick_ask=quick_ask,
        instance=instance,
    )
    with excepthook_installed(session.report_bug):
        return run_event_loop(app, session.run())


def run_event_loop(app: QApplication, main: Coroutine[Any, Any, int]) -> int:
    """Run `main` on a qasync loop driving `app`'s Qt event loop."""
    with asyncio.Runner(loop_factory=lambda: EventLoop(app)) as runner:
        return runner.run(main)


@contextlib.contextmanager
def excepthook_installed(report: Callable[[ExcInfo], None]) -> Iterator[None]:
    """Route unhandled exceptions (async slots and task callbacks included) to `report`."""
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        log.error("unhandled exception", exc_info=(exc_type, exc, tb))
        try:
            report((exc_type, exc, tb))
        except Exception:
            log.exception("could not show the unhandled exception")

    sys.excepthook = hook
    try:
        yield
    finally:
        sys.excepthook = previous


def _open_history(context: AppContext) -> tuple[History | None, str]:
    """The conversation history, or None and why, when the database cannot be opened."""
    try:
        return context.history(), ""
    except (sqlite3.Error, DatabaseTooNew, OSError) as exc:
        log.error("history unavailable, conversations will not be kept: %s", exc)
        return None, str(exc)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class GuiSession:
    """Everything one run of the windowed app builds and wires: the window, its controllers and
    the connection that holds the client."""

    def __init__(
        self,
        context: AppContext,
        *,
        demo: bool = False,
        base_url: str | None = None,
        exit_after_shown: bool = False,
        clock: Callable[[], float] = time.perf_counter,
        theme: ThemeController | None = None,
        quick_ask: bool = False,
        instance: SingleInstance | None = None,
    ) -> None:
        self._context = context
        self._theme = theme
        self._quick_ask = quick_ask
        self._settings_dialog: SettingsDialog | None = None
        self._usage_window: UsageWindow | None = None
        self._compare_window: CompareWindow | None = None
        self._exit_after_shown = exit_after_shown
        self._clock = clock
        self._started = clock()
        self._tasks: set[asyncio.Task[None]] = set()
        settings = context.settings
        self.window = MainWindow(
            CATALOG,
            settings.default_model,
            send_shortcut=settings.send_shortcut,
            image_detail=settings.image_detail,
        )
        self.spend = SpendTracker(self.window.status)
        self.history, self._history_problem = _open_history(context)
        self.budget = BudgetGuard(
            self.spend, context.settings_store, self.window.status, parent=self.window
        )
        self.controller = ChatController(
            view=self.window.chat_view,
            composer=self.window.composer,
            banner=self.window.banner,
            status=self.window.status,
            model=settings.default_model,
            system_prompt=settings.system_prompt,
            spend=self.spend,
            budget=self.budget.policy,
            history=self.history,
            parent=self.window,
        )
        self.controller.history_write_failed.connect(self.on_history_write_failed)
        self.window.bind(self.controller)
        # The one holder of the client: the window's chat, quick ask and Compare all follow it.
        self.connection = Connection(
            context,
            self.window,
            self.spend,
            track=self.track,
            streaming=lambda: self.controller.task,
            elapsed_ms=self._elapsed_ms,
            demo=demo,
            base_url=base_url,
            parent=self.window,
        )
        self.connection.client_changed.connect(self.on_connection_client_changed)
        self.browser = (
            ConversationBrowser(
                history=self.history,
                controller=self.controller,
                sidebar=self.window.sidebar,
                banner=self.window.banner,
                track=self.track,
                ledger=context.usage_ledger,
                parent=self.window,
            )
            if self.history is not None
            else None
        )
        if self.history is None:
            self.window.sidebar.setEnabled(False)
        self.window.set_exporter(self.stored_conversation)
        self.window.settings_requested.connect(self.on_window_settings_requested)
        self.window.usage_requested.connect(self.on_window_usage_requested)
        self.window.conversation_actions.compare_requested.connect(self.on_window_compare_requested)
        self.budget.usage_requested.connect(self.on_window_usage_requested)
        self._unsubscribe = context.settings_store.subscribe(self.on_settings_changed)
        # The tray, the global hotkey and the quick-ask popup (built now, shown in an instant).
        self.companion = Companion(
            window=self.window,
            new_chat=self.controller.new_chat,
            settings_store=context.settings_store,
            hotkey=context.hotkey_backend(),
            tray_available=context.tray_available(),
            quick_ask_command=context.quick_ask_command(),
            client=lambda: self.connection.client,
            background=self.controller.background,
            history=context.history,
            spend=self.spend,
            budget=self.budget,
            notices=context.notices(),
            instance=instance,
            parent=self.window,
        )
        self.companion.settings_requested.connect(self.on_window_settings_requested)
        self.quit_question = QuitQuestion(self.window, self.streaming_count)
        self.window.close_guard = self._may_close
        self.companion.open_conversation_requested.connect(
            self.on_companion_open_conversation_requested
        )

    @property
    def client(self) -> ChatClient | None:
        return self.connection.client

    @property
    def settings_dialog(self) -> SettingsDialog | None:
        """The settings dialog, once it has been opened."""
        return self._settings_dialog

    @property
    def usage_window(self) -> UsageWindow | None:
        """The Usage window, once it has been opened."""
        return self._usage_window

    @property
    def compare_window(self) -> CompareWindow | None:
        """The Compare window, once it has been opened."""
        return self._compare_window

    async def run(self) -> int:
        """Show the window, connect, and wait until the window is closed."""
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._on_loop_exception)
        closed: asyncio.Future[None] = loop.create_future()
        self.window.closed.connect(functools.partial(_resolve, closed))
        self.companion.quit_requested.connect(lambda: self.track(self._quit_when_agreed(closed)))
        self.window.status.show_connection(ConnectionState.STARTING)
        if self.companion.starts_in_tray(self._quick_ask):
            self.companion.open_quick_ask()
        else:
            self.window.show()
            await self._until_exposed()
            log.info("window shown after %.0f ms", self._elapsed_ms())
            if self._quick_ask:
                self.companion.open_quick_ask()
        self.companion.start()
        if self.browser is not None:
            self.track(self.browser.tidy())
        else:
            self.window.banner.show_problem(
                "The history could not be opened: conversations will not be kept this time",
                self._history_problem,
            )
        startup = self.track(self.connect())
        try:
            await (startup if self._exit_after_shown else closed)
        finally:
            await self.shutdown()
        return 0

    def streaming_count(self) -> int:
        """Replies streaming now: the window's (open or behind) and quick ask's."""
        return self.controller.streaming_count() + int(self.companion.quick_ask.busy)

    def _may_close(self) -> bool:
        """The window may close (and the app quit) now; otherwise the question is asked."""
        if not self.quit_question.needed():
            return True
        self.track(self._close_when_agreed())
        return False

    async def _close_when_agreed(self) -> None:
        if await self.quit_question.ask():
            self.window.close()

    async def _quit_when_agreed(self, closed: asyncio.Future[None]) -> None:
        if await self.quit_question.ask():
            _resolve(closed)

    async def connect(self) -> None:
        """Connect as asked: the demo simulator, or the configured server with its key."""
        await self.connection.start()

    def on_connection_client_changed(self, client: ChatClient | None) -> None:
        self.controller.set_client(client, missing=self.connection.problem)

    def stored_conversation(self) -> StoredConversation | None:
        """The open conversation as the history holds it (None before its first message)."""
        conversation_id = self.controller.conversation_id
        if self.history is None or conversation_id is None:
            return None
        return self.history.load(conversation_id)

    def on_history_write_failed(self, error: Exception) -> None:
        self.window.banner.show_problem(
            "The conversation could not be saved to the history",
            f"It stays open here; check the disk space and the data folder ({error}).",
        )

    def on_companion_open_conversation_requested(self, conversation_id: int) -> None:
        """'Open in Chatdesk' from the quick-ask popup: the main window continues it."""
        self.open_conversation(conversation_id)

    def open_conversation(self, conversation_id: int) -> None:
        """Show the main window with the stored conversation `conversation_id` open."""
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
        if self.browser is not None:
            self.window.sidebar.refresh()
            self.browser.open(conversation_id)

    def on_window_settings_requested(self, field: str) -> None:
        if self._settings_dialog is None:
            self._settings_dialog = SettingsDialog(
                self._context.settings_store,
                self._context.key_resolver(),
                tester=self.connection.test_connection,
                models=CATALOG,
                session_base_url=self.connection.session_base_url,
                registry=self._context.secrets,
                track=self.track,
                parent=self.window,
            )
            self._settings_dialog.key_changed.connect(self.connection.request_reconnect)
            self.companion.attach_settings(self._settings_dialog.show_hotkey_status)
        self._settings_dialog.open_at(field)

    def on_window_usage_requested(self) -> None:
        if self._usage_window is None:
            self._usage_window = UsageWindow(
                self.spend, self._context.settings_store, track=self.track, parent=self.window
            )
            self._usage_window.settings_requested.connect(self.on_window_settings_requested)
        self._usage_window.show_window()

    def on_window_compare_requested(self) -> None:
        """Compare models: the composer's draft and images, after the open conversation."""
        if self._compare_window is None:
            self._compare_window = CompareWindow(
                client=lambda: self.connection.client,
                ledger=lambda: self.spend.ledger,
                on_settled=self.spend.on_turn_settled,
                budget=self.budget,
                background=self.controller.background,
                parent=self.window,
            )
            self._compare_window.continue_chosen.connect(self.on_compare_window_continue_chosen)
        window, controller = self.window, self.controller
        message = ChatMessage.user(window.composer.text(), window.image_area.parts())
        request = CompareRequest(
            controller.conversation, message, controller.model, controller.params
        )
        self._compare_window.open_for(request, window.model_combo.server_models)

    def on_compare_window_continue_chosen(
        self, message: ChatMessage, reply: Reply, params: ChatParams
    ) -> None:
        if not self.controller.adopt_exchange(message, reply, params):
            self.window.status.showMessage(
                "Wait for the reply in the main window to finish, then continue with this one.",
                _COMPARE_MESSAGE_MS,
            )
            return
        if self._compare_window is not None:
            self._compare_window.close()
        self.window.activateWindow()

    def on_settings_changed(self, change: SettingsChange) -> None:
        new = change.new
        if "theme" in change.changed and self._theme is not None:
            self._theme.apply(new.theme)
        if "send_shortcut" in change.changed:
            self.window.composer.set_send_shortcut(new.send_shortcut)
        if change.changed & {"default_model", "system_prompt"}:
            # The open conversation keeps its own; the next new chat starts from these.
            self.controller.set_defaults(model=new.default_model, system_prompt=new.system_prompt)
        if "image_detail" in change.changed:
            self.window.image_area.default_detail = new.image_detail
        if change.changed & CONNECTION_FIELDS:
            self.connection.request_reconnect()

    def track(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `coroutine` as a task that is kept until it ends; its bugs reach the excepthook."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._on_task_done)
        return task

    async def shutdown(self) -> None:
        self._unsubscribe()
        await self.controller.stop_and_wait()
        if self._compare_window is not None:
            await self._compare_window.finish()
        await self.companion.quick_ask.close()
        self.companion.close()
        pending = [task for task in self._tasks if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self.connection.close()

    def report_bug(self, exc_info: ExcInfo) -> None:
        """Show an unhandled exception in the banner, without interrupting the user."""
        _exc_type, exc, _tb = exc_info
        log_file = self._context.paths.log_dir / "chatdesk.log"
        self.window.banner.show_problem(
            f"Something went wrong inside Chatdesk ({type(exc).__name__})",
            f"Your conversation is kept. The details are in {log_file}; please report them.",
        )

    async def _until_exposed(self) -> None:
        handle = self.window.windowHandle()
        deadline = self._clock() + _EXPOSE_WAIT_S
        while handle is not None and not handle.isExposed() and self._clock() < deadline:
            await asyncio.sleep(0.005)
        # One more turn of the loop lets Qt deliver the first paint.
        await asyncio.sleep(0)

    def _elapsed_ms(self) -> float:
        return (self._clock() - self._started) * 1000

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        report_bug(task)

    def _on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            sys.excepthook(type(exc), exc, exc.__traceback__)
        else:
            log.error("event loop: %s", context.get("message", context))
