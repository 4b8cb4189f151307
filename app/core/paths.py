"""Where Chatdesk keeps its state: settings, the conversation database, caches and logs.

An installed app uses the platform's locations (XDG on Linux, `~/Library` on macOS,
`%LOCALAPPDATA%` on Windows). A portable install, or a test, names one directory with
`--data-dir` or `CHATDESK_DATA_DIR` and everything lives under it, so nothing leaks into the
user's home.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Chatdesk"
DATA_DIR_ENV = "CHATDESK_DATA_DIR"
SETTINGS_FILENAME = "settings.json"
DATABASE_FILENAME = "chatdesk.db"
# Conversations and settings are private; group and others get nothing.
DIR_MODE = 0o700


@dataclass(frozen=True)
class AppPaths:
    """The four directories Chatdesk writes to. Nothing is created until `ensure()`."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / SETTINGS_FILENAME

    @property
    def database_file(self) -> Path:
        return self.data_dir / DATABASE_FILENAME

    def ensure(self) -> AppPaths:
        """Create every directory (owner-only when new) and return self, for chaining."""
        for directory in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        return self

    @classmethod
    def under(cls, root: Path) -> AppPaths:
        """All state under one directory: settings and data at the top, then cache/ and logs/."""
        root = root.expanduser().absolute()
        return cls(config_dir=root, data_dir=root, cache_dir=root / "cache", log_dir=root / "logs")

    @classmethod
    def resolve(cls, data_dir: Path | None, environ: Mapping[str, str]) -> AppPaths:
        """`--data-dir` if given, else `CHATDESK_DATA_DIR` if set, else the platform locations."""
        if data_dir is not None:
            return cls.under(data_dir)
        from_env = environ.get(DATA_DIR_ENV, "").strip()
        if from_env:
            return cls.under(Path(from_env))
        # appauthor=False: no "Chatdesk\Chatdesk" nesting on Windows.
        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        return cls(
            config_dir=dirs.user_config_path,
            data_dir=dirs.user_data_path,
            cache_dir=dirs.user_cache_path,
            log_dir=dirs.user_log_path,
        )
