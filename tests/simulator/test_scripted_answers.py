"""Scripted answers: a test makes the simulated model say exactly the text it needs."""

from __future__ import annotations

import pytest
from openai import APIConnectionError, OpenAI

from app.simulator import Fault, SimulatorServer
from tests.simulator.helpers import user

SCRIPTED = '<img src="http://127.0.0.1:9/x">\n\n```python\nprint("hi")\n```\n'


def test_a_scripted_answer_is_streamed_word_for_word_then_answers_return_to_normal(
    sim: SimulatorServer, client: OpenAI
) -> None:
    """The next reply says the scripted text exactly; the one after is the usual answer."""
    sim.script_answer(SCRIPTED)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[user("anything")], stream=True
    )
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    plain = client.chat.completions.create(model="gpt-4o-mini", messages=[user("anything")])

    assert streamed == SCRIPTED
    assert plain.choices[0].message.content != SCRIPTED
    assert sim.next_answer() is None


def test_a_scripted_answer_still_meets_scripted_faults(
    sim: SimulatorServer, client: OpenAI
) -> None:
    """A fault cuts a scripted answer like any other: only its beginning arrives."""
    sim.script_answer("one two three four five six seven eight")
    sim.script(Fault.disconnect(after_chunks=3))
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[user("anything")], stream=True
    )
    received: list[str] = []
    with pytest.raises(APIConnectionError):
        for chunk in stream:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")

    text = "".join(received)
    assert text
    assert "one two three four five six seven eight".startswith(text)
    assert text != "one two three four five six seven eight"
