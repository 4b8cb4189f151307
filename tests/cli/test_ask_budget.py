"""`chatdesk ask` and the monthly budget: refused over a hard limit, noted from 80% on."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from app.core.paths import AppPaths
from app.core.settings_store import SettingsStore
from app.core.store.database import open_database
from app.core.store.ledger import Source, UsageLedger
from app.core.usage import Usage
from app.simulator import SimulatorServer
from tests.cli.test_ask import KEY, chatdesk, ledger_rows
from tests.cli.test_ask_history import saved


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(api_key=KEY) as server:
        yield server


def budget(data_dir: Path, spent: str, *, limit: str, hard: bool) -> None:
    """A budget of `limit` dollars with `spent` already spent this month (as gpt-4o input)."""
    paths = AppPaths.under(data_dir).ensure()
    SettingsStore(paths.settings_file).update(monthly_budget_usd=limit, budget_hard_limit=hard)
    tokens = int(Decimal(spent) / Decimal("2.5") * 1_000_000)
    UsageLedger(open_database(paths.database_file)).record(
        "gpt-4o", Usage(prompt_tokens=tokens), Source.WINDOW
    )


def ask(data_dir: Path, sim: SimulatorServer, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": sim.base_url}
    return chatdesk("ask", *extra, "How much is too much?", data_dir=data_dir, env=env)


def test_a_hard_limit_refuses_a_request_that_could_cross_it(
    data_dir: Path, sim: SimulatorServer
) -> None:
    """Nothing is sent; the message says what it could cost and how to send it anyway."""
    budget(data_dir, "9.9999", limit="10", hard=True)
    result = ask(data_dir, sim)
    assert result.returncode == 1
    assert "over your $10.00 monthly budget" in result.stderr
    assert "--over-budget" in result.stderr
    assert result.stdout == ""
    assert sim.requests == []


def test_a_refused_request_leaves_nothing_behind(data_dir: Path, sim: SimulatorServer) -> None:
    """Refused before sending: no conversation in the history and nothing added to the ledger."""
    budget(data_dir, "9.9999", limit="10", hard=True)
    assert ask(data_dir, sim).returncode == 1
    assert saved(data_dir) == []
    assert [source for source, *_ in ledger_rows(data_dir)] == ["window"]


def test_over_budget_sends_anyway_and_says_the_budget_is_spent(
    data_dir: Path, sim: SimulatorServer
) -> None:
    """`--over-budget` goes ahead; afterwards stderr says how the month stands."""
    budget(data_dir, "9.9999", limit="10", hard=True)
    result = ask(data_dir, sim, "--over-budget")
    assert result.returncode == 0, result.stderr
    assert result.stdout
    assert len(sim.requests) == 1
    assert "Budget: 99% of $10.00 used this month" in result.stderr


def test_without_a_hard_limit_it_sends_and_warns_from_80_percent(
    data_dir: Path, sim: SimulatorServer
) -> None:
    """A budget without a hard limit never blocks; at 85% the note follows the answer."""
    budget(data_dir, "8.5", limit="10", hard=False)
    result = ask(data_dir, sim)
    assert result.returncode == 0, result.stderr
    assert "Budget: 85% of $10.00 used this month" in result.stderr


def test_below_80_percent_nothing_is_said(data_dir: Path, sim: SimulatorServer) -> None:
    """Under 80% of the budget the output is the usual answer and cost line only."""
    budget(data_dir, "1", limit="10", hard=True)
    result = ask(data_dir, sim)
    assert result.returncode == 0, result.stderr
    assert "Budget" not in result.stderr
