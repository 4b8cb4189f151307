"""The history on disk is owner-only: database, its WAL and shared-memory files, and images."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.store.database import open_database
from app.core.store.image_files import ImageFiles
from tests.core.store.conftest import png_part

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    """The common default umask, which leaves new files readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_files_are_owner_only(tmp_path: Path) -> None:
    """With umask 022, chatdesk.db, -wal and -shm are still created 0600."""
    database = tmp_path / "chatdesk.db"
    connection = open_database(database)
    try:
        connection.execute(
            "INSERT INTO conversations VALUES (1, 't', 0, 0, 0, NULL, 'm', '', '{}')"
        )
        files = [database, tmp_path / "chatdesk.db-wal", tmp_path / "chatdesk.db-shm"]
        assert [mode(f) for f in files] == [0o600] * 3
    finally:
        connection.close()


def test_an_existing_readable_database_is_made_owner_only(tmp_path: Path) -> None:
    """A database (and WAL files) left 0644 by an older version is fixed when opened."""
    database = tmp_path / "chatdesk.db"
    open_database(database).close()
    side_files = [tmp_path / "chatdesk.db-wal", tmp_path / "chatdesk.db-shm"]
    for file in (database, *side_files):
        file.touch()
        file.chmod(0o644)

    connection = open_database(database)
    try:
        assert [mode(f) for f in (database, *side_files)] == [0o600] * 3
    finally:
        connection.close()


def test_opening_the_database_twice_keeps_its_content(tmp_path: Path) -> None:
    """A second connection in the same process (ledger and history) sees the first's writes."""
    database = tmp_path / "chatdesk.db"
    first = open_database(database)
    second = open_database(database)
    try:
        first.execute("INSERT INTO conversations VALUES (1, 't', 0, 0, 0, NULL, 'm', '', '{}')")
        assert second.execute("SELECT title FROM conversations").fetchall() == [("t",)]
    finally:
        first.close()
        second.close()


def test_stored_images_and_their_folder_are_owner_only(tmp_path: Path) -> None:
    """With umask 022, the images folder is created 0700 and each picture 0600."""
    images = ImageFiles(tmp_path / "images")
    sha256, mime = images.store_data_url(png_part((1, 2, 3)).url)
    assert mode(images.directory) == 0o700
    assert mode(images.path_for(sha256, mime)) == 0o600
