"""Where Chatdesk keeps its state: settings, the conversation database, caches and logs.

An installed app uses the platform's locations (XDG on Linux, `~/Library` on macOS,
`%LOCALAPPDATA%` on Windows). A portable install, or a test, names one directory with
`--data-dir` or `CHATDESK_DATA_DIR` and everything lives under it, so nothing leaks into the
user's home.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Chatdesk"
DATA_DIR_ENV = "CHATDESK_DATA_DIR"
SETTINGS_FILENAME = "settings.json"
DATABASE_FILENAME = "chatdesk.db"
IMAGES_DIRNAME = "images"
# Conversations and settings are private; group and others get nothing.
DIR_MODE = 0o700
FILE_MODE = 0o600
# The files Chatdesk keeps at the top of its config and data directories, by name prefix:
# settings.json with its temporaries and set-aside copies, chatdesk.db with -wal and -shm,
# notices.json (app.core.notices), chatdesk.lock (app.platform.single_instance). Only these
# are touched there, because `--data-dir` may name a folder that also holds the user's files.
_OWN_FILE_PREFIXES = (
    SETTINGS_FILENAME,
    f".{SETTINGS_FILENAME}.",
    "notices.json",
    ".notices.json.",
    DATABASE_FILENAME,
    "chatdesk.lock",
)

log = logging.getLogger(__name__)


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

    @property
    def images_dir(self) -> Path:
        return self.data_dir / IMAGES_DIRNAME

    def ensure(self) -> AppPaths:
        """Create every directory, make all of Chatdesk's state owner-only, and return self.

        Modes are fixed on every start, not only on creation: an older version, a restored
        backup or a umask of 002 may have left the history readable by others.
        """
        for directory in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        make_private(self)
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


def make_private(paths: AppPaths) -> None:
    """Set owner-only modes on Chatdesk's directories and files; nothing to do off POSIX.

    Whole trees only where Chatdesk owns them (cache, logs, images); elsewhere its own files.
    A file it cannot change (owned by someone else) is logged and left: starting matters more.
    """
    if os.name != "posix":
        return  # Windows keeps per-user ACLs on the profile folders instead of mode bits
    tops = dict.fromkeys((paths.config_dir, paths.data_dir))
    for top in tops:
        _chmod(top, DIR_MODE)
        for entry in _entries(top):
            if entry.name.startswith(_OWN_FILE_PREFIXES) and entry.is_file(follow_symlinks=False):
                _chmod(Path(entry.path), FILE_MODE)
    for tree in dict.fromkeys((paths.cache_dir, paths.log_dir, paths.images_dir)):
        _make_tree_private(tree)


def _make_tree_private(root: Path) -> None:
    """Make a tree Chatdesk owns private, once: an owner-only folder already keeps everyone
    else out of all it holds, so the walk (a stat per image, at every start) is only for a
    folder that was left open, by an older version or a restored backup."""
    if not root.is_dir() or root.is_symlink():
        return
    try:
        if stat.S_IMODE(root.stat().st_mode) == DIR_MODE:
            return
    except OSError:
        return
    _chmod(root, DIR_MODE)
    pending = [root]
    while pending:
        for entry in _entries(pending.pop()):
            # Links are never followed: they may point outside Chatdesk's state.
            if entry.is_dir(follow_symlinks=False):
                _chmod(Path(entry.path), DIR_MODE)
                pending.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                _chmod(Path(entry.path), FILE_MODE)


def _entries(directory: Path) -> Iterable[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except OSError as exc:
        log.warning("could not list %s to make it private: %s", directory, exc)
        return []


def _chmod(path: Path, mode: int) -> None:
    # stat, not lstat: links inside trees are skipped before this, and a top directory that
    # is a link (a data folder moved to another disk) should have its target made private.
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            path.chmod(mode)
    except FileNotFoundError:
        pass  # removed meanwhile (a rotated log, a temporary file renamed)
    except OSError as exc:
        log.warning("could not make %s private: %s", path, exc)
