"""A conversation's parameters saved as JSON and read back, across versions of Chatdesk."""

from __future__ import annotations

import json

from app.core.params import ChatParams, ReasoningEffort
from app.core.store.params_json import params_from_json, params_to_json


def test_every_parameter_survives_the_round_trip() -> None:
    """Each parameter a user can set comes back with the same value and type."""
    params = ChatParams(
        temperature=0.7,
        top_p=0.9,
        presence_penalty=-0.5,
        frequency_penalty=1.5,
        max_output_tokens=1024,
        n=3,
        seed=-(2**63),
        stop=("END", "\n\n"),
        json_mode=True,
        logprobs=True,
        top_logprobs=5,
        reasoning_effort=ReasoningEffort.LOW,
        user="team-a",
    )
    assert params_from_json(params_to_json(params)) == params


def test_only_what_the_user_set_is_written() -> None:
    """Unset parameters are left out, so a later change of default reaches old conversations."""
    assert json.loads(params_to_json(ChatParams(temperature=0.2))) == {"temperature": 0.2}
    assert params_to_json(ChatParams()) == "{}"


def test_unknown_or_broken_values_fall_back_to_defaults() -> None:
    """A file from another version (unknown keys, bad values, garbage) still opens."""
    assert params_from_json('{"temperature": 0.4, "warp_factor": 9}') == ChatParams(temperature=0.4)
    assert params_from_json('{"reasoning_effort": "extreme", "seed": 7}') == ChatParams(seed=7)
    assert params_from_json("not json") == ChatParams()
    assert params_from_json("[1, 2]") == ChatParams()
    assert params_from_json("") == ChatParams()
