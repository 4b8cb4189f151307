"""`settings.json`: reading it tolerantly, writing it atomically, and telling who listens.

Loading never fails: a missing file gives the defaults, a bad value falls back to its default,
and a corrupt file is kept aside; each problem becomes a warning to show the user. A save
replaces the file whole, so a crash leaves the old settings or the new, never half of either.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, NamedTuple

from app.core.problems import UserFacingError
from app.core.redact import redact
from app.core.settings import Settings
from app.core.settings_checks import KEY_IN_SETTINGS_REMEDY, InvalidSetting, shown


class SettingsSaveError(UserFacingError):
    """settings.json could not be written."""


@dataclass(frozen=True)
class SettingsChange:
    """What a settings change event carries: both values and the names of fields that differ."""

    old: Settings
    new: Settings
    changed: frozenset[str]


class LoadedSettings(NamedTuple):
    settings: Settings
    warnings: tuple[UserFacingError, ...]


SettingsListener = Callable[[SettingsChange], None]


class SettingsStore:
    """Reads and writes one `settings.json` and tells subscribers when the settings change.

    Not thread-safe: use it from one thread (the GUI thread); writes are small.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._current: Settings | None = None
        self._listeners: list[SettingsListener] = []

    @property
    def current(self) -> Settings:
        """The settings last loaded or saved (loading the file on first use)."""
        if self._current is None:
            return self.load().settings
        return self._current

    def load(self) -> LoadedSettings:
        """Read the file. Never raises for bad content: problems come back as warnings."""
        warnings: list[UserFacingError] = []
        raw = self._read(warnings)
        values: dict[str, Any] = {}
        for f in fields(Settings):
            if f.name not in raw:
                continue
            try:
                values[f.name] = f.metadata["check"](raw[f.name])
            except InvalidSetting as exc:
                warnings.append(
                    UserFacingError(
                        f"{exc.headline} (in {self.path.name}); using the default "
                        f"{shown(f.default) or '(empty)'}",
                        exc.remedy,
                    )
                )
        if any("key" in name.lower() and "api" in name.lower() for name in raw):
            warnings.append(
                UserFacingError(
                    f"{self.path.name} contains an API key entry; it is ignored and removed "
                    "on the next save",
                    KEY_IN_SETTINGS_REMEDY,
                )
            )
        settings = Settings(**values)
        self._set_current(settings)
        return LoadedSettings(settings, tuple(warnings))

    def save(self, settings: Settings) -> None:
        """Write `settings` atomically: a crash leaves the old file or the new, never half."""
        text = json.dumps(settings.to_json(), indent=2, sort_keys=True) + "\n"
        try:
            _write_atomically(self.path, text)
        except OSError as exc:
            raise SettingsSaveError(
                f"Could not save settings: {redact(exc.strerror or str(exc))}",
                f"Check that {self.path.parent} exists, is writable, and the disk is not full",
            ) from exc
        self._set_current(settings)

    def update(self, **changes: Any) -> Settings:
        """Validate `changes` against the current settings, save, and return the result.

        Raises `InvalidSetting` for a bad value (nothing is saved) and `TypeError` for a name
        that is not a setting.
        """
        current = self.current
        updated = replace(current, **changes)
        if updated != current:
            self.save(updated)
        return updated

    def subscribe(self, listener: SettingsListener) -> Callable[[], None]:
        """Call `listener` after every change; returns a function that unsubscribes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def _set_current(self, settings: Settings) -> None:
        old, self._current = self._current, settings
        if old is None or old == settings:
            return
        changed = frozenset(
            f.name for f in fields(Settings) if getattr(old, f.name) != getattr(settings, f.name)
        )
        event = SettingsChange(old, settings, changed)
        for listener in list(self._listeners):
            listener(event)

    def _read(self, warnings: list[UserFacingError]) -> dict[str, Any]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            warnings.append(
                UserFacingError(
                    f"Could not read {self.path.name}: {redact(exc.strerror or str(exc))}; "
                    "using default settings",
                    f"Check the permissions of {self.path}",
                )
            )
            return {}
        try:
            parsed = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            parsed = None
        if isinstance(parsed, dict):
            return parsed
        aside = self._keep_aside()
        warnings.append(
            UserFacingError(
                f"{self.path.name} was unreadable and has been reset to defaults",
                f"The old file was kept as {aside.name}" if aside else "",
            )
        )
        return {}

    def _keep_aside(self) -> Path | None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for attempt in range(100):
            suffix = f"-{attempt}" if attempt else ""
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}{suffix}")
            if target.exists():
                continue
            try:
                os.replace(self.path, target)
            except OSError:
                return None
            return target
        return None


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open a directory this way.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
