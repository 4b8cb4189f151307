"""Images of the history as files named by the SHA-256 of their bytes, beside the database.

A picture sent in ten messages is stored once, rows stay small (no base64 in the database),
and a file is written completely under a temporary name before it is renamed into place, so a
kill never leaves half an image under a real name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from pathlib import Path

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}


class ImageFiles:
    """The `images/` directory of a history."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, sha256: str, mime: str) -> Path:
        return self.directory / f"{sha256}{_EXTENSIONS.get(mime, '.bin')}"

    def store_data_url(self, url: str) -> tuple[str, str]:
        """Keep the bytes of a `data:` URL; its (sha256, mime)."""
        mime, data = split_data_url(url)
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha256, mime)
        if not target.exists():
            # Owner-only like the rest of the history; mkstemp makes the file itself 0600.
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".incoming-")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        return sha256, mime

    def data_url(self, sha256: str, mime: str) -> str | None:
        """The image as a `data:` URL again, or None if its file is gone."""
        try:
            data = self.path_for(sha256, mime).read_bytes()
        except OSError:
            return None
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

    def remove_unused(self, used: set[str]) -> int:
        """Delete files whose hash is not in `used`; how many went."""
        removed = 0
        if not self.directory.is_dir():
            return 0
        for path in self.directory.iterdir():
            if path.stem not in used or path.name.startswith(".incoming-"):
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def split_data_url(url: str) -> tuple[str, bytes]:
    """The MIME type and bytes of a base64 `data:` URL; ValueError when it is not one."""
    header, comma, payload = url.partition(",")
    if not (comma and header.startswith("data:") and header.endswith(";base64")):
        raise ValueError("not a base64 data URL")
    try:
        return header[5:-7], base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise ValueError("not a base64 data URL") from exc
