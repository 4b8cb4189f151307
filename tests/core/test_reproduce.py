"""Re-running a reply's exact request with its seed, against the (deterministic) simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from app.core.client import ChatClient, ConnectionConfig
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.reproduce import Reproduction, RerunSubject, provenance_text, rerun
from app.core.request import build_request
from app.core.timed_stream import TimedReply, stream_timed
from app.core.word_diff import Change
from app.simulator import SimulatorServer

KEY = "sk-test-reproduce"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(answer_words=30) as server:
        yield server


def seeded_body(seed: int = 42) -> dict[str, Any]:
    return build_request(
        "gpt-4o-mini", [ChatMessage.user("Why is the sea salty?")], ChatParams(seed=seed)
    )


def original_and_rerun(sim: SimulatorServer, between: Any = None) -> Reproduction:
    """Ask once, optionally change the server, then re-run the same body."""

    async def scenario() -> Reproduction:
        client = ChatClient(ConnectionConfig(api_key=KEY, base_url=sim.base_url, max_retries=0))
        first = TimedReply(seeded_body())
        await stream_timed(client, first)
        if between is not None:
            between(first)
        subject = RerunSubject(first.body, first.text, first.fingerprint)
        result = await rerun(client, subject)
        await client.aclose()
        return result

    return asyncio.run(scenario())


def test_the_same_seed_on_the_same_backend_reproduces_the_answer(sim: SimulatorServer) -> None:
    """Re-running the identical body says 'identical' and that the fingerprint is unchanged."""
    result = original_and_rerun(sim)
    first, second = (r.body for r in sim.requests)
    assert first == second and first["seed"] == 42
    assert result.diff.identical
    assert result.headline() == "Identical: the same answer, word for word."
    assert "Same system fingerprint (fp_sim_0001)" in result.fingerprint_note()
    assert not result.fingerprint_changed


def test_a_changed_answer_on_a_new_backend_is_diffed_and_the_fingerprint_noted(
    sim: SimulatorServer,
) -> None:
    """After a backend update the answer differs: the changed words are marked, the new
    fingerprint explains why."""

    def update_backend(first: TimedReply) -> None:
        sim.system_fingerprint = "fp_sim_0002"
        sim.script_answer(first.text.replace("salty", "briny", 1))

    result = original_and_rerun(sim, update_backend)
    diff = result.diff
    assert not diff.identical
    assert [s.text.strip() for s in diff.segments if s.change is Change.ADDED] == ['briny?"']
    assert [s.text.strip() for s in diff.segments if s.change is Change.REMOVED] == ['salty?"']
    assert result.headline().startswith("Changed: 1 word removed, 1 word added")
    assert result.fingerprint_changed
    assert "changed from fp_sim_0001 to fp_sim_0002" in result.fingerprint_note()


def test_the_provenance_line_names_model_fingerprint_and_seed() -> None:
    """The line under a reply says who answered, on which build, with which seed (or none)."""
    assert (
        provenance_text("gpt-4o-2024-08-06", "fp_abc", 42) == "gpt-4o-2024-08-06 · fp_abc · seed 42"
    )
    assert provenance_text("llama3", None, None) == "llama3 · no seed"
