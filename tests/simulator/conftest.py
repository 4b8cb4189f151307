"""Fixtures: a fresh simulator per test, the official SDK clients, and raw HTTP access."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from openai import OpenAI

from app.simulator import SimulatorServer
from tests.simulator.helpers import API_KEY, HANG_GUARD_SECONDS


@pytest.fixture(scope="session", autouse=True)
def _warm_simulator() -> None:
    """Load the schema and token encoding once, so no test's first request is slow."""
    SimulatorServer().warm_up()


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer() as server:
        yield server


@pytest.fixture
def client(sim: SimulatorServer) -> Iterator[OpenAI]:
    with OpenAI(
        base_url=sim.base_url, api_key=API_KEY, max_retries=0, timeout=HANG_GUARD_SECONDS
    ) as sdk:
        yield sdk


@pytest.fixture
def http(sim: SimulatorServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(
        base_url=sim.url,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=HANG_GUARD_SECONDS,
    ) as raw:
        yield raw
