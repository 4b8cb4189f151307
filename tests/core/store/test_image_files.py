"""Image files of the history: named by content, written whole, cleaned up when unused."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from app.core.store.image_files import ImageFiles, split_data_url
from tests.core.store.conftest import png_part


def test_the_same_picture_is_kept_once_under_its_hash(tmp_path: Path) -> None:
    """Storing one picture twice gives one file named by the SHA-256 of its bytes."""
    images = ImageFiles(tmp_path / "images")
    url = png_part((9, 9, 9)).url
    data = base64.b64decode(url.split(",", 1)[1])

    first = images.store_data_url(url)
    second = images.store_data_url(url)

    assert first == second == (hashlib.sha256(data).hexdigest(), "image/png")
    [stored] = list(images.directory.iterdir())
    assert stored.name == f"{first[0]}.png" and stored.read_bytes() == data


def test_a_stored_picture_comes_back_as_the_same_data_url(tmp_path: Path) -> None:
    """What was attached is exactly what a reopened conversation sends again."""
    images = ImageFiles(tmp_path / "images")
    url = png_part((1, 200, 3)).url
    sha256, mime = images.store_data_url(url)
    assert images.data_url(sha256, mime) == url


def test_other_formats_keep_a_matching_extension(tmp_path: Path) -> None:
    """JPEG, WebP and unknown types get file names a file manager understands."""
    images = ImageFiles(tmp_path / "images")
    for mime, suffix in (("image/jpeg", ".jpg"), ("image/webp", ".webp"), ("image/x-odd", ".bin")):
        sha256, _ = images.store_data_url(
            f"data:{mime};base64,{base64.b64encode(mime.encode()).decode()}"
        )
        assert images.path_for(sha256, mime).suffix == suffix
        assert images.path_for(sha256, mime).exists()


def test_a_missing_file_is_reported_as_none(tmp_path: Path) -> None:
    """A file removed by hand yields None instead of an exception."""
    assert ImageFiles(tmp_path / "images").data_url("0" * 64, "image/png") is None


def test_cleanup_removes_unused_files_and_leftovers_of_a_killed_write(tmp_path: Path) -> None:
    """Unreferenced pictures and half-written temporary files go; referenced ones stay."""
    images = ImageFiles(tmp_path / "images")
    used, _ = images.store_data_url(png_part((1, 1, 1)).url)
    images.store_data_url(png_part((2, 2, 2)).url)
    (images.directory / ".incoming-k1ll3d").write_bytes(b"half a picture")

    assert images.remove_unused({used}) == 2

    assert [p.name for p in images.directory.iterdir()] == [f"{used}.png"]


def test_cleanup_without_any_image_yet_does_nothing(tmp_path: Path) -> None:
    """A history that never had pictures has no directory to clean, and that is fine."""
    assert ImageFiles(tmp_path / "images").remove_unused(set()) == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a.png",
        "data:image/png,plain-not-base64",
        "data:image/png;base64,***",
        "no comma at all",
    ],
)
def test_only_base64_data_urls_are_accepted(url: str) -> None:
    """Anything but a well-formed base64 data URL is a ValueError, never a wrong file."""
    with pytest.raises(ValueError):
        split_data_url(url)
