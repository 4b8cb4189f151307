"""Taking PySide6's `__feature__` import hook off every import statement."""

from __future__ import annotations

import builtins
import importlib

import PySide6.QtCore  # noqa: F401 - installs the hook under test

from app.ui.import_hook import drop_feature_import_hook, feature_import_hook_active


def test_dropping_the_hook_restores_the_wrapped_import_and_qt_still_imports() -> None:
    """After the drop imports skip the hook, Qt modules still load; dropping again does nothing."""
    hooked = builtins.__import__
    try:
        if not feature_import_hook_active():
            builtins.__import__ = builtins.__dict__["__feature_import__"]
        assert drop_feature_import_hook()
        assert builtins.__import__ is builtins.__dict__["__orig_import__"]
        assert not feature_import_hook_active()
        assert importlib.import_module("PySide6.QtGui").QTextDocument is not None
        exec("from PySide6.QtWidgets import QTextBrowser", {})
        assert not drop_feature_import_hook()
    finally:
        builtins.__import__ = hooked
