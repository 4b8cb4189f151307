"""The one place that chooses implementations and builds the objects the commands share."""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.client import ConnectionConfig
from app.core.connection import resolve_connection
from app.core.logs import setup_logging
from app.core.notices import NOTICES_FILENAME, Notices
from app.core.paths import AppPaths
from app.core.redact import SecretRegistry
from app.core.secrets import KeyResolver, SecretStore
from app.core.settings import Settings
from app.core.settings_store import SettingsStore
from app.core.store.database import open_database
from app.core.store.history import History
from app.core.store.ledger import UsageLedger
from app.platform.lazy_store import LazySecretStore

if TYPE_CHECKING:
    from app.platform.hotkey import HotkeyBackend
    from app.simulator import SimulatorServer

log = logging.getLogger(__name__)

# What demo mode sends as a key: the simulator accepts any, and this one is obviously not real.
DEMO_API_KEY = "demo-key-not-secret"


@dataclass
class AppContext:
    """Paths, settings, the secret store and the key resolver, built once per process."""

    paths: AppPaths
    settings_store: SettingsStore
    environ: Mapping[str, str]
    secrets: SecretRegistry
    _secret_store: SecretStore | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return self.settings_store.current

    @property
    def secret_store(self) -> SecretStore:
        # Opened on first use: probing the keyring backends costs imports and D-Bus calls, which
        # a session keyed by OPENAI_API_KEY never needs.
        if self._secret_store is None:
            self._secret_store = LazySecretStore(_open_keyring)
        return self._secret_store

    def usage_ledger(self) -> UsageLedger:
        return UsageLedger(open_database(self.paths.database_file))

    def history(self) -> History:
        return History.open(self.paths.database_file)

    def hotkey_backend(self) -> HotkeyBackend:
        """The global-hotkey backend that can work in this session (needs the QApplication)."""
        from PySide6.QtGui import QGuiApplication

        from app.platform.hotkey import choose_backend

        return choose_backend(self.environ, qt_platform=QGuiApplication.platformName())

    def tray_available(self) -> bool:
        """Whether the desktop shows tray icons (never offscreen: tests must not find one)."""
        from PySide6.QtGui import QGuiApplication
        from PySide6.QtWidgets import QSystemTrayIcon

        if QGuiApplication.platformName() in ("offscreen", "minimal"):
            return False
        return QSystemTrayIcon.isSystemTrayAvailable()

    def notices(self) -> Notices:
        return Notices(self.paths.config_dir / NOTICES_FILENAME)

    def quick_ask_command(self) -> str:
        """The command a user binds to a key where Chatdesk has no global hotkey."""
        return quick_ask_command(self.paths)

    def key_resolver(self) -> KeyResolver:
        return KeyResolver(self.secret_store, self.environ, registry=self.secrets)

    def connection(
        self, *, base_url_override: str | None = None, demo: bool = False
    ) -> ConnectionConfig:
        if demo and base_url_override:
            settings = self.settings
            return ConnectionConfig(
                api_key=DEMO_API_KEY,
                base_url=base_url_override,
                timeout_s=settings.request_timeout_s,
                max_retries=settings.max_retries,
            )
        return resolve_connection(
            self.settings, self.environ, self.key_resolver(), base_url_override=base_url_override
        )


def quick_ask_command(paths: AppPaths) -> str:
    if getattr(sys, "frozen", False):
        program = _quoted(sys.executable)
    elif shutil.which("chatdesk"):
        program = "chatdesk"
    else:
        program = f"{_quoted(sys.executable)} -m app"
    # A data folder given with --data-dir (settings beside the data) must be named again: the
    # running instance is found through it.
    given = paths.config_dir == paths.data_dir
    where = f" --data-dir {_quoted(str(paths.data_dir))}" if given else ""
    return f"{program}{where} --quick-ask"


def _quoted(text: str) -> str:
    return f'"{text}"' if any(ch.isspace() for ch in text) else text


def _open_keyring() -> SecretStore:
    from app.platform.keyring_store import open_secret_store

    return open_secret_store()


def build_context(data_dir: Path | None, environ: Mapping[str, str]) -> AppContext:
    paths = AppPaths.resolve(data_dir, environ).ensure()
    registry = SecretRegistry()
    setup_logging(paths, registry=registry)
    store = SettingsStore(paths.settings_file)
    for warning in store.load().warnings:
        log.warning("settings: %s %s", warning.headline, warning.remedy)
    return AppContext(paths=paths, settings_store=store, environ=environ, secrets=registry)


@contextlib.contextmanager
def demo_simulator(
    *, enabled: bool, chunk_delay: float = 0.02, background_warm_up: bool = False
) -> Iterator[SimulatorServer | None]:
    """The built-in API simulator for demo mode, on 127.0.0.1, for the block's duration.

    Its first request would load the request schema and an encoding (~0.5 s), so it is warmed
    up on entry: synchronously by default (call from a worker thread), or in a thread beside
    the caller's own work with `background_warm_up`. Only processes without Qt may use the
    latter: with PySide6 loaded, two threads importing modules at once can fail with an
    ImportError from a partially initialised module.
    """
    if not enabled:
        yield None
        return
    from app.simulator import SimulatorServer

    with SimulatorServer(chunk_delay=chunk_delay) as server:
        if background_warm_up:
            threading.Thread(target=server.warm_up, name="simulator-warm-up", daemon=True).start()
        else:
            server.warm_up()
        yield server
