"""The models a server listed (`GET /v1/models`), remembered on disk per base URL.

The next start then offers a server's own models at once, before the SDK has loaded and the
live list has arrived. Each base URL gets one small JSON file under the cache directory,
named by a hash of the URL, written atomically. The cache is a convenience: a missing,
unreadable or corrupt file reads as "nothing cached", and a failed write is logged, never raised.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from app.core.problems import UserFacingError

log = logging.getLogger(__name__)

CACHE_SUBDIR = "models"
_FORMAT = 1
# Model ids are short; anything past this is not a model list this app wrote.
_MAX_FILE_BYTES = 1_000_000

# OpenAI's list mixes chat models with embedding, speech, image and moderation models that
# /chat/completions rejects; these prefixes and fragments mark the ones not worth offering.
_NON_CHAT_PREFIXES = (
    "text-embedding",
    "whisper",
    "tts-",
    "dall-e",
    "gpt-image",
    "omni-moderation",
    "text-moderation",
    "babbage",
    "davinci",
    "sora",
)
_NON_CHAT_FRAGMENTS = ("-realtime", "-transcribe", "-tts", "embedding")


def is_chat_model(model_id: str) -> bool:
    """False for ids that are evidently not chat models (embeddings, speech, images)."""
    lowered = model_id.lower()
    return not (
        lowered.startswith(_NON_CHAT_PREFIXES)
        or any(fragment in lowered for fragment in _NON_CHAT_FRAGMENTS)
    )


def chat_models(model_ids: Iterable[str]) -> list[str]:
    """The chat models among `model_ids`, sorted, without duplicates or blanks."""
    return sorted({m.strip() for m in model_ids if m.strip() and is_chat_model(m.strip())})


class ModelListCache:
    """Per-base-URL model lists in `directory` (created on first save)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    @classmethod
    def in_cache_dir(cls, cache_dir: Path) -> ModelListCache:
        return cls(cache_dir / CACHE_SUBDIR)

    def path_for(self, base_url: str) -> Path:
        # A hash, not the URL: URLs hold characters no file system accepts everywhere.
        digest = hashlib.sha256(_normalised(base_url).encode("utf-8")).hexdigest()[:24]
        return self._directory / f"{digest}.json"

    def load(self, base_url: str) -> list[str] | None:
        """The ids last saved for `base_url`, or None when nothing usable is cached."""
        path = self.path_for(base_url)
        try:
            if path.stat().st_size > _MAX_FILE_BYTES:
                log.warning("model list cache %s is too large; ignoring it", path)
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning("model list cache %s is unreadable (%s); ignoring it", path, exc)
            return None
        models = data.get("models") if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or data.get("format") != _FORMAT
            or data.get("base_url") != _normalised(base_url)
            or not isinstance(models, list)
            or not all(isinstance(m, str) for m in models)
        ):
            log.warning("model list cache %s has an unexpected shape; ignoring it", path)
            return None
        return chat_models(models)

    def save(self, base_url: str, model_ids: Iterable[str]) -> bool:
        """Remember `model_ids` for `base_url`; False (logged) when it could not be written."""
        path = self.path_for(base_url)
        payload = {
            "format": _FORMAT,
            "base_url": _normalised(base_url),
            "saved_at": int(time.time()),
            "models": chat_models(model_ids),
        }
        try:
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_atomically(path, json.dumps(payload, indent=1) + "\n")
        except OSError as exc:
            log.warning("could not cache the model list in %s: %s", path, exc)
            return False
        return True


async def refresh_model_list(
    list_models: Callable[[], Awaitable[list[str]]],
    cache: ModelListCache | None,
    base_url: str,
    *,
    run_blocking: Callable[[Callable[[], object]], Awaitable[object]] | None = None,
) -> list[str] | None:
    """Ask the server for its models and cache them; None (logged) when listing fails.

    A server that cannot list its models is still usable with the catalog's, so a failure here
    is a log line, not an error for the user. `run_blocking` runs the file write (for example
    in an executor); without it the write happens inline.
    """
    try:
        listed = await list_models()
    except UserFacingError as failure:
        log.info("could not list the models of %s: %s", base_url, failure)
        return None
    except Exception:
        # Listing is optional: whatever went wrong, the catalog's models remain usable.
        log.warning("could not list the models of %s", base_url, exc_info=True)
        return None
    models = chat_models(listed)
    if cache is not None:
        write = _bound_save(cache, base_url, models)
        if run_blocking is None:
            write()
        else:
            await run_blocking(write)
    return models


def _bound_save(cache: ModelListCache, base_url: str, models: list[str]) -> Callable[[], object]:
    return lambda: cache.save(base_url, models)


def _normalised(base_url: str) -> str:
    return base_url.strip().rstrip("/")


def _write_atomically(path: Path, text: str) -> None:
    fd, temp_name = tempfile.mkstemp(prefix=".models-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
