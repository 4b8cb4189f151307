"""Where state lives: one portable directory when asked for, platform locations otherwise."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
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


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The common default umask, which leaves new files readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.usefixtures("umask_022")
def test_ensure_creates_private_directories_under_a_permissive_umask(tmp_path: Path) -> None:
    """With umask 022, new directories are still 0700, not 0755."""
    paths = AppPaths.under(tmp_path / "state").ensure()
    assert [mode(d) for d in all_dirs(paths)] == [0o700] * 4


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.usefixtures("umask_022")
def test_ensure_makes_existing_state_private(tmp_path: Path) -> None:
    """Folders left 0755 and files left 0644 (older versions, backups) become owner-only."""
    root = tmp_path / "state"
    own_files = [
        root / "settings.json",
        root / "settings.json.corrupt-20260101",
        root / "chatdesk.db",
        root / "chatdesk.db-wal",
        root / "chatdesk.db-shm",
        root / "notices.json",
        root / "logs" / "chatdesk.log",
        root / "logs" / "chatdesk.log.1",
        root / "images" / "ab12.png",
        root / "cache" / "models" / "0123.json",
    ]
    for file in own_files:
        file.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        file.write_text("{}")
        file.chmod(0o644)
    for directory in (
        root,
        root / "logs",
        root / "images",
        root / "cache",
        root / "cache" / "models",
    ):
        directory.chmod(0o755)

    AppPaths.under(root).ensure()

    assert {f.name: mode(f) for f in own_files} == {f.name: 0o600 for f in own_files}
    for directory in (
        root,
        root / "logs",
        root / "images",
        root / "cache",
        root / "cache" / "models",
    ):
        assert mode(directory) == 0o700, directory


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_ensure_leaves_other_files_and_link_targets_alone(tmp_path: Path) -> None:
    """A --data-dir may hold the user's own files; links inside the caches are not followed."""
    root = tmp_path / "state"
    (root / "cache").mkdir(parents=True)
    mine = root / "notes.txt"
    mine.write_text("not Chatdesk's")
    mine.chmod(0o644)
    outside = tmp_path / "shared.txt"
    outside.write_text("elsewhere")
    outside.chmod(0o644)
    (root / "cache" / "link").symlink_to(outside)

    AppPaths.under(root).ensure()

    assert (mode(mine), mode(outside)) == (0o644, 0o644)
