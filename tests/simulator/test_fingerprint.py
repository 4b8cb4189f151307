"""The simulator's system fingerprint: the same seed gives the same answer until the backend
changes, and a changed backend is announced in every reply."""

from __future__ import annotations

from openai import OpenAI

from app.simulator import SimulatorServer
from app.simulator.completion import SYSTEM_FINGERPRINT


def ask(client: OpenAI, seed: int) -> tuple[str, str | None]:
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Name a colour"}], seed=seed
    )
    return reply.choices[0].message.content or "", reply.system_fingerprint


def streamed_fingerprints(client: OpenAI) -> set[str | None]:
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Name a colour"}],
        seed=1,
        stream=True,
    )
    return {chunk.system_fingerprint for chunk in stream}


def test_the_same_seed_gives_the_same_answer(client: OpenAI) -> None:
    """Two identical seeded requests get the same text on the same fingerprint."""
    assert ask(client, 5) == ask(client, 5)
    assert ask(client, 5)[1] == SYSTEM_FINGERPRINT


def test_a_changed_fingerprint_is_sent_in_plain_and_streamed_replies(
    sim: SimulatorServer, client: OpenAI
) -> None:
    """After the backend "updates", both reply forms carry its new fingerprint."""
    sim.system_fingerprint = "fp_sim_0002"
    assert ask(client, 5)[1] == "fp_sim_0002"
    assert streamed_fingerprints(client) == {"fp_sim_0002"}
