"""What happens when a tracked asyncio task ends."""

from __future__ import annotations

import asyncio
import sys
from typing import Any


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
