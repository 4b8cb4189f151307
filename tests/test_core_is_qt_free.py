"""The core must run without a display: importing it loads neither Qt nor the SDK."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import app.core


def test_importing_every_core_module_loads_no_qt_and_no_sdk() -> None:
    """Every app.core module imports with no PySide6/qasync and without the 1.3 s SDK import."""
    modules = [f"app.core.{m.name}" for m in pkgutil.iter_modules(app.core.__path__)]
    assert len(modules) > 10
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'shiboken6', 'qasync', 'openai'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
