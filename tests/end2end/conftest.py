"""Real widgets on a qasync loop (tests/support/qt.py): the loop, a runner on it, `open_chat`."""

from tests.support.qt import _clipboard_emptied, open_chat, qloop, run  # noqa: F401
