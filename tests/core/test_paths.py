"""Where state lives: one portable directory when asked for, platform locations otherwise."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs
import pytest

from app.core.paths import DATA_DIR_ENV, AppPaths


def all_dirs(paths: AppPaths) -> list[Path]:
    return [paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir]


def test_explicit_data_dir_holds_all_state(tmp_path: Path) -> None:
    """With --data-dir, config, data, cache and logs all live under that directory."""
    paths = AppPaths.resolve(tmp_path / "portable", {})
    for directory in all_dirs(paths):
        assert directory.is_relative_to(tmp_path / "portable")
    assert paths.settings_file == tmp_path / "portable" / "settings.json"
    assert paths.database_file == tmp_path / "portable" / "chatdesk.db"


def test_explicit_data_dir_wins_over_the_environment(tmp_path: Path) -> None:
    """--data-dir takes precedence over CHATDESK_DATA_DIR."""
    paths = AppPaths.resolve(tmp_path / "flag", {DATA_DIR_ENV: str(tmp_path / "env")})
    assert paths.data_dir == tmp_path / "flag"


def test_environment_data_dir_is_used_without_the_flag(tmp_path: Path) -> None:
    """CHATDESK_DATA_DIR places all state under it when no --data-dir is given."""
    paths = AppPaths.resolve(None, {DATA_DIR_ENV: str(tmp_path / "env")})
    assert all(d.is_relative_to(tmp_path / "env") for d in all_dirs(paths))


def test_installed_app_uses_platform_locations() -> None:
    """Without either, the platform's per-user locations for "Chatdesk" are used."""
    dirs = platformdirs.PlatformDirs("Chatdesk", appauthor=False)
    paths = AppPaths.resolve(None, {DATA_DIR_ENV: "  "})
    assert paths == AppPaths(
        config_dir=dirs.user_config_path,
        data_dir=dirs.user_data_path,
        cache_dir=dirs.user_cache_path,
        log_dir=dirs.user_log_path,
    )
    assert "Chatdesk" in str(paths.config_dir)


def test_relative_data_dir_becomes_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative --data-dir is anchored at the working directory it was given in."""
    monkeypatch.chdir(tmp_path)
    paths = AppPaths.resolve(Path("rel"), {})
    assert paths.data_dir == tmp_path / "rel"


def test_resolving_creates_nothing(tmp_path: Path) -> None:
    """Resolving paths does no I/O: directories appear only on ensure()."""
    AppPaths.resolve(tmp_path / "state", {})
    assert not (tmp_path / "state").exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_ensure_creates_private_directories(tmp_path: Path) -> None:
    """ensure() creates every directory readable by the owner only, and can run twice."""
    paths = AppPaths.resolve(tmp_path / "state", {}).ensure()
    paths.ensure()
    for directory in all_dirs(paths):
        assert directory.is_dir()
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
