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
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import qasync
from PySide6.QtWidgets import QApplication

from app.core import tokens
from app.core.catalog import CATALOG
from app.core.client import ChatClient, ConnectionConfig
from app.core.connection import MissingApiKey
from app.core.problems import UserFacingError
from app.core.secrets import SecretStoreUnavailable
from app.ui.chat_controller import ChatController
from app.ui.main_window import MainWindow
from app.ui.status_bar import ConnectionState
from app.wiring import AppContext, demo_simulator

if TYPE_CHECKING:
    from app.simulator import SimulatorServer

log = logging.getLogger(__name__)

EXIT_AFTER_SHOWN_ENV = "CHATDESK_EXIT_AFTER_SHOWN"
DEMO_WHERE = "built-in simulator"
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
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Chatdesk")
    app.setDesktopFileName("chatdesk")
    # The window's closed signal ends the session; letting Qt quit on its own would stop the
    # event loop under the running coroutine.
    app.setQuitOnLastWindowClosed(False)
    # Ctrl+C in the terminal ends the process at once: the Qt loop would otherwise hold the
    # signal until the next Python callback. Nothing is lost: settings are written atomically.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    session = GuiSession(
        context,
        demo=demo,
        base_url=base_url,
        exit_after_shown=context.environ.get(EXIT_AFTER_SHOWN_ENV) == "1",
    )
    if quick_ask:
        # The quick-ask popup does not exist yet; the main window with its composer focused is
        # the nearest thing to it.
        log.info("--quick-ask: opening the main window")
    with excepthook_installed(session.report_bug):
        return run_event_loop(app, session.run())


def run_event_loop(app: QApplication, main: Coroutine[Any, Any, int]) -> int:
    """Run `main` on a qasync loop driving `app`'s Qt event loop."""
    if sys.version_info >= (3, 12):
        return asyncio.run(main, loop_factory=lambda: qasync.QEventLoop(app))
    result: int = qasync.run(main)
    return result


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


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class GuiSession:
    """Everything one run of the windowed app builds, from the window to the client."""

    def __init__(
        self,
        context: AppContext,
        *,
        demo: bool = False,
        base_url: str | None = None,
        exit_after_shown: bool = False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._context = context
        self._demo = demo
        self._base_url = base_url
        self._exit_after_shown = exit_after_shown
        self._clock = clock
        self._started = clock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: ChatClient | None = None
        # The simulator is started in a worker thread; the lock keeps shutdown from racing it.
        self._resources = contextlib.ExitStack()
        self._resources_lock = threading.Lock()
        self._closing = False
        self._demo_started = False
        settings = context.settings
        self.window = MainWindow(
            CATALOG, settings.default_model, send_shortcut=settings.send_shortcut
        )
        self.controller = ChatController(
            view=self.window.chat_view,
            composer=self.window.composer,
            banner=self.window.banner,
            status=self.window.status,
            model=settings.default_model,
            system_prompt=settings.system_prompt,
            parent=self.window,
        )
        self.window.bind(self.controller)
        self.window.demo_requested.connect(self.on_window_demo_requested)

    @property
    def client(self) -> ChatClient | None:
        return self._client

    async def run(self) -> int:
        """Show the window, connect, and wait until the window is closed."""
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._on_loop_exception)
        closed: asyncio.Future[None] = loop.create_future()
        self.window.closed.connect(functools.partial(_resolve, closed))
        self.window.status.show_connection(ConnectionState.STARTING)
        self.window.show()
        await self._until_exposed()
        log.info("window shown after %.0f ms", self._elapsed_ms())
        startup = self.track(self.connect())
        try:
            await (startup if self._exit_after_shown else closed)
        finally:
            await self.shutdown()
        return 0

    async def connect(self) -> None:
        """Connect as asked: the demo simulator, or the configured server with its key."""
        if self._demo:
            await self.start_demo()
            return
        loop = asyncio.get_running_loop()
        # Finding the key may talk to the keyring over D-Bus: not on the GUI thread.
        resolve = functools.partial(self._context.connection, base_url_override=self._base_url)
        try:
            config = await loop.run_in_executor(None, resolve)
        except MissingApiKey as missing:
            self._welcome(missing)
            return
        except SecretStoreUnavailable as unavailable:
            # No key in the environment and no keyring to hold one: as good as no key.
            no_key = UserFacingError("No API key", unavailable.remedy)
            self._welcome(no_key, note=f"{unavailable.headline}. {unavailable.remedy}")
            return
        except UserFacingError as problem:
            self.window.banner.show_problem(problem.headline, problem.remedy)
            self.window.status.show_connection(ConnectionState.FAILED)
            self.controller.set_client(None, missing=problem)
            return
        await self._use(config, urlsplit(config.base_url).netloc or config.base_url)

    def _welcome(self, missing: UserFacingError, note: str = "") -> None:
        self.window.show_welcome(missing.headline, note)
        self.window.status.show_connection(ConnectionState.NO_KEY)
        self.controller.set_client(None, missing=missing)

    async def start_demo(self) -> None:
        """Start the built-in simulator and chat with it."""
        if self._demo_started:
            return
        self._demo_started = True
        self.window.welcome.demo_button.setEnabled(False)
        self.window.status.show_connection(ConnectionState.STARTING)
        loop = asyncio.get_running_loop()
        server = await loop.run_in_executor(None, self._start_simulator)
        if server is None:
            return
        config = self._context.connection(base_url_override=server.base_url, demo=True)
        self.window.set_subtitle("Demo")
        self.window.show_chat()
        await self._use(config, DEMO_WHERE)

    def on_window_demo_requested(self) -> None:
        self.track(self.start_demo())

    async def _use(self, config: ConnectionConfig, where: str) -> None:
        previous, self._client = self._client, ChatClient(config)
        self.controller.set_client(self._client)
        if previous is not None:
            await previous.aclose()
        await self._client.warm_up()
        log.info("SDK ready after %.0f ms", self._elapsed_ms())
        self.window.status.show_connection(ConnectionState.READY, where)
        if not self._exit_after_shown:
            self.track(self._preload_encoding(self.controller.model))

    async def _preload_encoding(self, model: str) -> None:
        # Counting tokens before the first send needs the encoding (~0.6 s to load).
        try:
            await asyncio.get_running_loop().run_in_executor(None, tokens.preload, model)
        except UserFacingError as problem:
            log.warning("token counting unavailable: %s", problem)

    def track(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `coroutine` as a task that is kept until it ends; its bugs reach the excepthook."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._on_task_done)
        return task

    async def shutdown(self) -> None:
        await self.controller.stop_and_wait()
        pending = [task for task in self._tasks if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await asyncio.get_running_loop().run_in_executor(None, self._close_resources)

    def report_bug(self, exc_info: ExcInfo) -> None:
        """Show an unhandled exception in the banner, without interrupting the user."""
        _exc_type, exc, _tb = exc_info
        log_file = self._context.paths.log_dir / "chatdesk.log"
        self.window.banner.show_problem(
            f"Something went wrong inside Chatdesk ({type(exc).__name__})",
            f"Your conversation is kept. The details are in {log_file}; please report them.",
        )

    def _start_simulator(self) -> SimulatorServer | None:
        with self._resources_lock:
            if self._closing:
                return None
            server = self._resources.enter_context(demo_simulator(enabled=True))
        return server

    def _close_resources(self) -> None:
        with self._resources_lock:
            self._closing = True
            self._resources.close()

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
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            sys.excepthook(type(exc), exc, exc.__traceback__)

    def _on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            sys.excepthook(type(exc), exc, exc.__traceback__)
        else:
            log.error("event loop: %s", context.get("message", context))
