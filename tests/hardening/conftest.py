"""Fixtures for hardening tests that drive the real window: a qasync loop, a runner on it, and
a main window wired to a controller and a client (`open_chat`)."""

from tests.support.qt import _clipboard_emptied, open_chat, qloop, run  # noqa: F401
