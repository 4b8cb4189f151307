"""One-time notices ("Chatdesk keeps running in the tray"): which the user has already seen.

Kept in `notices.json` beside the settings, apart from them: they are not something to
configure. Losing the file only means a notice is shown once more.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

NOTICES_FILENAME = "notices.json"


class Notices:
    """The set of notices already shown, read once and written when it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[str] | None = None

    def seen(self, key: str) -> bool:
        return key in self._load()

    def mark(self, key: str) -> None:
        """Remember that notice `key` was shown (a failed write is logged, not raised)."""
        seen = self._load()
        if key in seen:
            return
        seen.add(key)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".notices-")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(sorted(seen), out)
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("could not remember a shown notice in %s: %s", self.path, exc)

    def _load(self) -> set[str]:
        if self._seen is None:
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = []
            self._seen = {str(key) for key in loaded} if isinstance(loaded, list) else set()
        return self._seen
