"""The request parameters a user can set, their ranges and defaults, in one table.

`None` (or an empty tuple / False) means "not set": the app then sends nothing and the server
uses its own default. Only what the user set, or what the model needs, is ever sent.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

from app.core.catalog import ModelInfo, Param


class ReasoningEffort(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class NumericRange:
    """A numeric parameter's bounds and the API's default, for validation and for sliders."""

    param: Param
    minimum: float
    maximum: float
    api_default: float
    step: float
    label: str
    doc: str


RANGES: dict[str, NumericRange] = {
    r.param.value: r
    for r in (
        NumericRange(
            Param.TEMPERATURE,
            0.0,
            2.0,
            1.0,
            0.05,
            "Temperature",
            "Higher values make the answer more random, lower more focused.",
        ),
        NumericRange(
            Param.TOP_P,
            0.0,
            1.0,
            1.0,
            0.01,
            "Top P",
            "Nucleus sampling: only tokens within this probability mass are considered.",
        ),
        NumericRange(
            Param.PRESENCE_PENALTY,
            -2.0,
            2.0,
            0.0,
            0.05,
            "Presence penalty",
            "Positive values push the model towards new topics.",
        ),
        NumericRange(
            Param.FREQUENCY_PENALTY,
            -2.0,
            2.0,
            0.0,
            0.05,
            "Frequency penalty",
            "Positive values discourage repeating the same lines.",
        ),
    )
}

MAX_STOP_SEQUENCES = 4
MAX_TOP_LOGPROBS = 20
MAX_N = 128
# The API stores seeds as 64-bit signed integers.
SEED_RANGE = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class ChatParams:
    """The parameters of one conversation; they travel with it and into every request."""

    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    # Sent as max_tokens or max_completion_tokens, whichever the model takes.
    max_output_tokens: int | None = None
    n: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    json_mode: bool = False
    logprobs: bool = False
    top_logprobs: int | None = None
    reasoning_effort: ReasoningEffort | None = None
    user: str | None = None

    def is_set(self, name: str) -> bool:
        value = getattr(self, name)
        # Not `value not in (None, (), False)`: 0 == False, so a temperature or seed of 0 would
        # count as unset (kept on a model switch, dropped from the saved conversation).
        return value is not None and value is not False and value != ()

    def set_names(self) -> list[str]:
        return [f.name for f in fields(self) if self.is_set(f.name)]

    def without_unsupported(self, model: ModelInfo) -> ChatParams:
        """These parameters minus the ones `model` does not accept (for a model switch)."""
        cleared = {
            name: _UNSET[name]
            for name in self.set_names()
            if (param := param_for(name, model)) is not None and not model.accepts(param)
        }
        return replace(self, **cleared) if cleared else self


_UNSET: dict[str, Any] = {f.name: f.default for f in fields(ChatParams)}


def param_for(name: str, model: ModelInfo) -> Param | None:
    """The catalog `Param` that governs the ChatParams field `name` for `model`."""
    if name == "max_output_tokens":
        return model.output_limit_param
    if name == "json_mode":
        return Param.RESPONSE_FORMAT
    if name == "top_logprobs":
        return Param.LOGPROBS
    if name == "user":
        return None  # every model accepts it
    return Param(name)
