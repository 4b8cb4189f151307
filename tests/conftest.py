"""Shared fixtures: offscreen Qt, a private data directory, and the loopback API simulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.evidence import Evidence

# Widgets render offscreen unless a test starts its own X server.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_EVIDENCE = Evidence()
_HARDENING: dict[str, bool] = {}


@pytest.fixture
def evidence() -> Evidence:
    """Where a hardening test records each case it tried (see tests/support/evidence.py)."""
    return _EVIDENCE


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("hardening") is not None:
            _HARDENING[item.nodeid] = False


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid in _HARDENING and report.when == "call":
        _HARDENING[report.nodeid] = report.passed


def _every_hardening_module_collected() -> bool:
    # Running one file collects only its tests, which would all pass and write a table of
    # that file's cases alone.
    collected = {nodeid.partition("::")[0] for nodeid in _HARDENING}
    modules = (Path(__file__).parent / "hardening").glob("test_*.py")
    return {f"tests/hardening/{module.name}" for module in modules} <= collected


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Only a run of every hardening test, all passed, rewrites the table.
    if (
        _HARDENING
        and all(_HARDENING.values())
        and _EVIDENCE.cases
        and _every_hardening_module_collected()
    ):
        _EVIDENCE.write()


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
