"""Shared fixtures: offscreen Qt, a private data directory, and the loopback API simulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Widgets render offscreen unless a test starts its own X server.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh Chatdesk data directory, as `--data-dir` would give."""
    path = tmp_path / "chatdesk-data"
    path.mkdir()
    return path


@pytest.fixture
def simulator() -> Iterator[object]:
    """A running API simulator on 127.0.0.1 with a random port."""
    from app.simulator import SimulatorServer

    with SimulatorServer() as server:
        yield server
