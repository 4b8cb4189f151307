"""PySide6's `__feature__` import hook, and how to take it off the hot path.

Importing PySide6 replaces `builtins.__import__` with a hook, written partly in Python, that
exists only for `from __feature__ import snake_case, true_property` (which Chatdesk does not
use). Every `import` statement then costs about ten times more, and the OpenAI SDK runs some
twenty function-level imports for each streamed chunk it parses: measured on a 20,000-chunk
stream, the bare SDK consumer spends about 35% more CPU time once PySide6 is imported
(benchmarks/streaming.py). PySide6 keeps the import it wrapped (which still performs its lazy
loading of Qt modules) as `builtins.__orig_import__`; putting that back removes the cost.
"""

from __future__ import annotations

import builtins

_FEATURE_IMPORT = "__feature_import__"


def feature_import_hook_active() -> bool:
    return getattr(builtins.__import__, "__name__", "") == _FEATURE_IMPORT


def drop_feature_import_hook() -> bool:
    """Restore the import PySide6 wrapped, keeping its lazy loading; True if it was wrapped.

    Call it once PySide6 is imported, before any `from __feature__ import …` (never, here).
    """
    wrapped = getattr(builtins, "__orig_import__", None)
    if not feature_import_hook_active() or wrapped is None:
        return False
    builtins.__import__ = wrapped
    return True
