"""What happens when a tracked asyncio task ends."""

from __future__ import annotations

import asyncio
import sys
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` (if it is still running) and return once it has ended."""
    if task is None or task.done():
        return
    task.cancel()
    await asyncio.wait({task})


def report_bug(task: asyncio.Task[Any]) -> bool:
    """Hand an exception that ended `task` to the excepthook; True if it ended normally.

    Tasks handle the failures a user can act on themselves, so whatever escapes one is a bug:
    it goes where every bug goes (the log and the window's banner), never silently away.
    """
    if task.cancelled():
        return False
    exc = task.exception()
    if exc is None:
        return True
    sys.excepthook(type(exc), exc, exc.__traceback__)
    return False
