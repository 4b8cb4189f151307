"""Heavy imports made one at a time, after the SDK's, before the first work that needs them.

With PySide6 loaded, two threads importing modules at the same time can fail with an ImportError
from a partially initialised module. The SDK is imported first (`ChatClient.warm_up`); Pillow
(for attachments) and tiktoken (for token counts) then load here, one after the other on a
worker thread, whichever the user needs first. Once a step is done its modules are in place and
any number of threads may use them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from app.core import tokens
from app.core.catalog import lookup

IMAGING = "imaging"


def _encoding_step(model_id: str) -> str:
    return f"encoding:{lookup(model_id).encoding}"


class BackgroundImports:
    """Runs warm-up steps one at a time, each once, after `prerequisite` (the SDK import)."""

    def __init__(self, prerequisite: Callable[[], Awaitable[None]]) -> None:
        self._prerequisite = prerequisite
        self._lock = asyncio.Lock()
        self._done: set[str] = set()

    def is_done(self, step: str) -> bool:
        return step in self._done

    def counting_ready(self, model_id: str) -> bool:
        """True when tokens of `model_id` can be counted without loading anything."""
        return _encoding_step(model_id) in self._done

    async def ensure(self, step: str, load: Callable[[], object]) -> None:
        """Run `load` in a worker thread unless `step` already ran; one step at a time."""
        if step in self._done:
            return
        async with self._lock:
            if step in self._done:
                return
            await self._prerequisite()
            await asyncio.get_running_loop().run_in_executor(None, load)
            self._done.add(step)

    async def imaging(self, warm_up: Callable[[], object]) -> None:
        """Pillow and the image code, exercised once by `warm_up` so later preparations import
        nothing. The attachments pass their own warm-up: this module knows no image code."""
        await self.ensure(IMAGING, warm_up)

    async def counting(self, model_id: str) -> None:
        """tiktoken and the encoding `model_id` uses (~0.6 s the first time)."""
        await self.ensure(_encoding_step(model_id), lambda: tokens.preload(model_id))
