"""Fixtures for hardening tests that drive the real window: a qasync loop, a runner on it, and
a main window wired to a controller and a client (`open_chat`)."""

from tests.ui.conftest import open_chat, qloop, run  # noqa: F401
