"""The window's connection to the API: which client is in use, and keeping it current.

`Connection` is the one holder of the current `ChatClient`. It connects as the session was
started (the built-in simulator for the demo, or the configured server with its key), connects
again when the key or a connection setting changes, and shows where it stands: the welcome page
when there is no key, the status bar, the banner, the server's models in the picker, and the
spend counted into the ledger. Whoever needs the client follows `client_changed`.

A client that is replaced is closed once the reply streaming through it has finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import sqlite3
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, Signal

from app.core.client import ChatClient, ConnectionConfig
from app.core.connection import MissingApiKey
from app.core.model_list_cache import ModelListCache, refresh_model_list
from app.core.problems import UserFacingError
from app.core.secrets import SecretStoreUnavailable
from app.core.store.database import DatabaseTooNew
from app.core.store.ledger import UsageLedger
from app.ui.main_window import MainWindow
from app.ui.usage.spend_tracker import SpendTracker
from app.ui.widgets.status_bar import ConnectionState
from app.wiring import AppContext, demo_simulator

if TYPE_CHECKING:
    from app.simulator import SimulatorServer

log = logging.getLogger(__name__)

_T = TypeVar("_T")

DEMO_WHERE = "built-in simulator"

Track = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]
ClientFactory = Callable[[ConnectionConfig], ChatClient]


async def list_models_at(
    config: ConnectionConfig, client_factory: ClientFactory = ChatClient
) -> list[str]:
    """The models the server at `config` offers, through a client of its own, closed after.

    Raises `ApiFailure` (or another `UserFacingError`) when the server cannot be reached or
    refuses; this is what the settings dialog's Test connection runs.
    """
    client = client_factory(config)
    try:
        return await client.list_models()
    finally:
        await client.aclose()


class Connection(QObject):
    """The current client (None without one); `client_changed` is emitted when it is replaced.

    `problem` says why there is no client, for a message when the user tries to send.
    """

    client_changed = Signal(object)  # ChatClient | None

    def __init__(
        self,
        context: AppContext,
        window: MainWindow,
        spend: SpendTracker,
        *,
        track: Track,
        streaming: Callable[[], asyncio.Task[Any] | None],
        elapsed_ms: Callable[[], float],
        demo: bool = False,
        base_url: str | None = None,
        client_factory: ClientFactory = ChatClient,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._window = window
        self._spend = spend
        self._track = track
        # The task streaming a reply now, which an old client is kept open for.
        self._streaming = streaming
        self._elapsed_ms = elapsed_ms
        self._demo = demo
        self._base_url = base_url
        self._client_factory = client_factory
        self._client: ChatClient | None = None
        self.problem: UserFacingError | None = None
        self._demo_started = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self._model_listing: asyncio.Task[None] | None = None
        self._model_cache = ModelListCache.in_cache_dir(context.paths.cache_dir)
        self._ledger: UsageLedger | None = None
        self._simulator: SimulatorServer | None = None
        self._resources = _Resources()
        window.demo_requested.connect(self.on_window_demo_requested)

    @property
    def client(self) -> ChatClient | None:
        return self._client

    @property
    def session_base_url(self) -> str | None:
        """The base URL this session was started with (--base-url or OPENAI_BASE_URL)."""
        return self._base_url or self._context.environ.get("OPENAI_BASE_URL")

    async def test_connection(self, config: ConnectionConfig) -> list[str]:
        """The models the server at `config` offers; the current client is left alone."""
        return await list_models_at(config, self._client_factory)

    def on_window_demo_requested(self) -> None:
        self._track(self.start_demo())

    async def start(self) -> None:
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
            self._window.banner.show_problem(problem.headline, problem.remedy)
            self._window.status.show_connection(ConnectionState.FAILED)
            self._replace(None, problem)
            return
        await self._use(config, urlsplit(config.base_url).netloc or config.base_url)

    async def start_demo(self) -> None:
        """Start the built-in simulator and chat with it."""
        if self._demo_started:
            return
        self._demo_started = True
        window = self._window
        window.welcome.demo_button.setEnabled(False)
        window.status.show_connection(ConnectionState.STARTING)
        loop = asyncio.get_running_loop()
        server = await loop.run_in_executor(None, self._start_simulator)
        if server is None:
            return
        config = self._context.connection(base_url_override=server.base_url, demo=True)
        window.set_subtitle("Demo")
        window.show_chat()
        await self._use(config, DEMO_WHERE)

    def request_reconnect(self) -> None:
        """Connect again with the current key and settings; a newer request replaces an older."""
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
        self._reconnect_task = self._track(self.reconnect())

    async def reconnect(self) -> None:
        """Leave the demo, if on it, and connect to the configured server with its key."""
        self._demo = False
        if self._demo_started:
            self._demo_started = False
            self._window.set_subtitle("")
            self._window.welcome.demo_button.setEnabled(True)
        self._window.banner.clear_problem()
        self._window.status.show_connection(ConnectionState.STARTING)
        await self.start()

    async def close(self) -> None:
        """Close the client and stop the simulator (at the end of the session)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        # A plain object's method, not this QObject's: the window (its parent) may already be
        # gone, and the executor's log line would then fail to print the QObject.
        await asyncio.get_running_loop().run_in_executor(None, self._resources.close)

    def _welcome(self, missing: UserFacingError, note: str = "") -> None:
        self._window.show_welcome(missing.headline, note)
        self._window.status.show_connection(ConnectionState.NO_KEY)
        self._replace(None, missing)

    def _replace(self, client: ChatClient | None, problem: UserFacingError | None = None) -> None:
        previous, self._client, self.problem = self._client, client, problem
        self.client_changed.emit(client)
        if previous is not None and previous is not client:
            # A reply still streaming through the old client is allowed to finish; without a
            # new one (no key any more, or a bad setting) it must not be used for anything else.
            self._track(self._close_when_idle(previous))

    async def _use(self, config: ConnectionConfig, where: str) -> None:
        client = self._client_factory(config)
        self._replace(client)
        if self._model_listing is not None:
            # The old client is about to close; its list is of no use any more.
            self._model_listing.cancel()
        self._model_listing = self._track(self._offer_server_models(client))
        self._track(self._account_spending(billed=not self._demo_started))
        window = self._window
        if window.pages.currentWidget() is window.welcome:
            window.show_chat()
        await client.warm_up()
        log.info("SDK ready after %.0f ms", self._elapsed_ms())
        window.status.show_connection(ConnectionState.READY, where)
        # The SDK's and Qt's long-lived objects never become garbage: moving them out of the
        # collector's reach keeps its full passes (27–40 ms pauses seen mid-stream) short.
        gc.collect()
        gc.freeze()
        # Neither the token encoding (~0.3 s, ~45 MB) nor Pillow (~0.1 s, ~10 MB) is preloaded:
        # they load on the first estimate or the first image, which keeps an idle window small
        # (a first dropped 20 MB photo is still ready in about a quarter of a second).

    async def _offer_server_models(self, client: ChatClient) -> None:
        """Offer the server's own models in the picker: the cached list at once, then the live one.

        A server that cannot list its models keeps the catalog's; that is logged, not shown.
        """
        loop = asyncio.get_running_loop()
        base_url = client.config.base_url
        picker = self._window.model_combo
        # The demo's simulator gets a new port every run: nothing worth caching.
        cache = None if self._demo_started else self._model_cache
        if cache is not None:
            cached = await loop.run_in_executor(None, cache.load, base_url)
            if cached and client is self._client:
                picker.set_server_models(cached)
        models = await refresh_model_list(
            client.list_models,
            cache,
            base_url,
            run_blocking=functools.partial(loop.run_in_executor, None),
        )
        if models is not None and client is self._client:
            picker.set_server_models(models)

    async def _close_when_idle(self, client: ChatClient) -> None:
        try:
            task = self._streaming()
            if task is not None and not task.done():
                await asyncio.wait({task})
        finally:
            await client.aclose()

    async def _account_spending(self, *, billed: bool) -> None:
        """Count replies into the usage ledger, except the demo's, and show today's totals."""
        if not billed:
            self._spend.use_ledger(None, billed=False)
            return
        if self._ledger is None:
            try:
                self._ledger = await asyncio.get_running_loop().run_in_executor(
                    None, self._context.usage_ledger
                )
            except (sqlite3.Error, DatabaseTooNew) as exc:
                log.warning("usage ledger unavailable, totals cover this session only: %s", exc)
        self._spend.use_ledger(self._ledger)
        await self._spend.refresh()

    def _start_simulator(self) -> SimulatorServer | None:
        # After leaving the demo for a real server, going back reuses the simulator.
        if self._simulator is None:
            self._simulator = self._resources.enter(lambda: demo_simulator(enabled=True))
        return self._simulator


class _Resources:
    """What the connection started and must stop (the demo simulator).

    The simulator is started in a worker thread; the lock keeps `close` from racing it, and
    nothing starts once closing began.
    """

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._lock = threading.Lock()
        self._closing = False

    def enter(self, make: Callable[[], contextlib.AbstractContextManager[_T]]) -> _T | None:
        with self._lock:
            if self._closing:
                return None
            return self._stack.enter_context(make())

    def close(self) -> None:
        with self._lock:
            self._closing = True
            self._stack.close()
