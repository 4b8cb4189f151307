"""Regression guard for the PySide6 6.12.0 / CPython 3.11 crash (refcount of None corrupted)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_void_qt_calls_do_not_drain_the_refcount_of_none() -> None:
    """Thousands of void Qt calls leave None's refcount intact, so the app cannot die of it."""
    script = textwrap.dedent(
        """
        import sys
        from PySide6.QtCore import QObject
        obj = QObject()
        before = sys.getrefcount(None)
        for _ in range(20000):
            obj.setObjectName("x")
            obj.blockSignals(False)
        print(before - sys.getrefcount(None))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) < 1000
