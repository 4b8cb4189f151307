"""Naming and writing export files: names every desktop system accepts, written atomically."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path, PurePath

from app.core.problems import UserFacingError

# Characters Windows, macOS or Linux refuse in a file name, and control characters.
_UNSAFE_IN_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')
_RESERVED_NAMES = {"con", "prn", "aux", "nul"} | {
    f"{p}{n}" for p in ("com", "lpt") for n in "123456789"
}
_NAME_LENGTH = 80


class ExportFailed(UserFacingError):
    """An export that could not be written."""


def export_file_name(title: str, extension: str) -> str:
    """A file name for `title` that every desktop system accepts, e.g. `Trip plans.md`."""
    name = _UNSAFE_IN_NAME.sub(" ", title)
    name = " ".join(name.split())[:_NAME_LENGTH].strip(" .")
    if not name or name.lower() in _RESERVED_NAMES:
        name = "Conversation"
    return f"{name}.{extension.lstrip('.')}"


def image_folder(markdown_path: Path) -> Path:
    """Where a Markdown export's images go: a folder beside it, named after it."""
    return markdown_path.with_name(f"{markdown_path.stem} images")


def source_name(source: str) -> str:
    """A file's name without its folder; a URL or a bare name as it is."""
    if source.startswith(("http://", "https://", "data:")):
        return source if not source.startswith("data:") else ""
    return PurePath(source.replace("\\", "/")).name


def write_export_file(path: Path, data: bytes) -> None:
    """Write one file of an export; `ExportFailed` says why it could not be."""
    try:
        write_atomically(path, data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ExportFailed(
            f"Could not write {path.name}",
            f"{reason} ({path.parent}). Choose another folder, or free some space.",
        ) from exc


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
