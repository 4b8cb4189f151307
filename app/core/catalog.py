"""The models Chatdesk knows: context window, prices, vision, and which parameters each accepts.

Models the catalog does not list (learned from `/v1/models` or served by an OpenAI-compatible
server such as llama.cpp or Ollama) get `ModelInfo.unknown(...)`: chat-style parameters, no
price (cost shown as unknown), a conservative context window, vision allowed (the server
decides).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Param(StrEnum):
    """Request parameters whose support differs between models."""

    TEMPERATURE = "temperature"
    TOP_P = "top_p"
    PRESENCE_PENALTY = "presence_penalty"
    FREQUENCY_PENALTY = "frequency_penalty"
    LOGPROBS = "logprobs"
    MAX_TOKENS = "max_tokens"
    MAX_COMPLETION_TOKENS = "max_completion_tokens"
    REASONING_EFFORT = "reasoning_effort"
    N = "n"
    SEED = "seed"
    STOP = "stop"
    RESPONSE_FORMAT = "response_format"
    SYSTEM_MESSAGE = "system_message"


CHAT_PARAMS = frozenset(
    {
        Param.TEMPERATURE,
        Param.TOP_P,
        Param.PRESENCE_PENALTY,
        Param.FREQUENCY_PENALTY,
        Param.LOGPROBS,
        Param.MAX_TOKENS,
        Param.N,
        Param.SEED,
        Param.STOP,
        Param.RESPONSE_FORMAT,
        Param.SYSTEM_MESSAGE,
    }
)
# Reasoning models reject sampling parameters, penalties and logprobs; they bound output with
# max_completion_tokens (reasoning tokens included) and take reasoning_effort.
REASONING_PARAMS = frozenset(
    {
        Param.MAX_COMPLETION_TOKENS,
        Param.REASONING_EFFORT,
        Param.N,
        Param.SEED,
        Param.RESPONSE_FORMAT,
        Param.SYSTEM_MESSAGE,
    }
)

# Why a parameter is unavailable, for tooltips and validation messages.
REASONING_MODEL_REASON = "reasoning models (o-series) do not accept this parameter"


@dataclass(frozen=True)
class ImageTokenCost:
    """Image input tokens: `base` per image, plus `per_tile` per 512-px tile at high detail."""

    base: int = 85
    per_tile: int = 170


@dataclass(frozen=True)
class ModelInfo:
    """What the app needs to know about one model to build, validate and price a request."""

    id: str
    context_window: int
    input_per_million: float | None
    output_per_million: float | None
    cached_input_per_million: float | None = None
    max_output_tokens: int | None = None
    vision: bool = True
    reasoning: bool = False
    encoding: str = "o200k_base"
    image_tokens: ImageTokenCost = field(default_factory=ImageTokenCost)
    supported: frozenset[Param] = CHAT_PARAMS
    known: bool = True

    @property
    def has_price(self) -> bool:
        return self.input_per_million is not None and self.output_per_million is not None

    def accepts(self, param: Param) -> bool:
        return param in self.supported

    def why_not(self, param: Param) -> str | None:
        """A user-facing reason the model does not accept `param`, or None if it does."""
        if self.accepts(param):
            return None
        if param is Param.SYSTEM_MESSAGE:
            return f"{self.id} does not accept a system prompt; it is sent with your message"
        if self.reasoning:
            return f"{self.id}: {REASONING_MODEL_REASON}"
        return f"{self.id} does not accept {param.value}"

    @property
    def output_limit_param(self) -> Param:
        """The parameter that bounds the reply length for this model."""
        if Param.MAX_COMPLETION_TOKENS in self.supported:
            return Param.MAX_COMPLETION_TOKENS
        return Param.MAX_TOKENS

    @classmethod
    def unknown(cls, model_id: str) -> ModelInfo:
        """Sensible defaults for a model the catalog does not list."""
        lowered = model_id.lower()
        reasoning = lowered.startswith(("o1", "o3", "o4"))
        legacy_encoding = lowered.startswith(("gpt-4-", "gpt-4", "gpt-3.5")) and not (
            lowered.startswith(("gpt-4o", "gpt-4.1", "gpt-4.5"))
        )
        return cls(
            id=model_id,
            context_window=128_000 if lowered.startswith(("gpt-", "o1", "o3", "o4")) else 8_192,
            input_per_million=None,
            output_per_million=None,
            vision=True,
            reasoning=reasoning,
            encoding="cl100k_base" if legacy_encoding else "o200k_base",
            supported=REASONING_PARAMS if reasoning else CHAT_PARAMS,
            known=False,
        )


_O_SERIES_IMAGES = ImageTokenCost(base=75, per_tile=150)
# gpt-4o-mini bills images at ~33x the tokens of gpt-4o, at a ~16x lower price per token.
_MINI_IMAGES = ImageTokenCost(base=2833, per_tile=5667)

CATALOG: dict[str, ModelInfo] = {
    info.id: info
    for info in (
        ModelInfo(
            "gpt-4o", 128_000, 2.50, 10.00, cached_input_per_million=1.25, max_output_tokens=16_384
        ),
        ModelInfo(
            "gpt-4o-mini",
            128_000,
            0.15,
            0.60,
            cached_input_per_million=0.075,
            max_output_tokens=16_384,
            image_tokens=_MINI_IMAGES,
        ),
        ModelInfo(
            "gpt-4o-audio-preview", 128_000, 2.50, 10.00, max_output_tokens=16_384, vision=False
        ),
        ModelInfo(
            "gpt-4-turbo", 128_000, 10.00, 30.00, max_output_tokens=4_096, encoding="cl100k_base"
        ),
        ModelInfo(
            "o1",
            128_000,
            15.00,
            60.00,
            cached_input_per_million=7.50,
            max_output_tokens=100_000,
            reasoning=True,
            image_tokens=_O_SERIES_IMAGES,
            supported=REASONING_PARAMS,
        ),
        ModelInfo(
            "o1-mini",
            128_000,
            1.10,
            4.40,
            cached_input_per_million=0.55,
            max_output_tokens=65_536,
            reasoning=True,
            vision=False,
            supported=REASONING_PARAMS - {Param.SYSTEM_MESSAGE, Param.REASONING_EFFORT},
        ),
        ModelInfo(
            "o3-mini",
            200_000,
            1.10,
            4.40,
            cached_input_per_million=0.55,
            max_output_tokens=100_000,
            reasoning=True,
            vision=False,
            supported=REASONING_PARAMS,
        ),
    )
}

DEFAULT_MODEL = "gpt-4o-mini"


def lookup(model_id: str) -> ModelInfo:
    """The entry for `model_id` or its dated snapshot (`gpt-4o-2024-08-06`), else defaults."""
    if model_id in CATALOG:
        return CATALOG[model_id]
    # Dated snapshots share their family's limits and prices; match the longest family name.
    for family in sorted(CATALOG, key=len, reverse=True):
        suffix = model_id.removeprefix(family + "-")
        if suffix != model_id and suffix[:4].isdigit():
            return replace(CATALOG[family], id=model_id)
    return ModelInfo.unknown(model_id)
