"""One chat completion, decided up front: each choice's tokens, finish reason and the usage.

Streamed and non-streamed replies are two renderings of the same `Completion`, so for the same
request their text is identical by construction.
"""

from __future__ import annotations

import secrets
import string
import time
import zlib
from dataclasses import dataclass
from typing import Any

from app.core.catalog import ModelInfo
from app.simulator.answers import AnswerSpec, compose
from app.simulator.counting import split_tokens
from app.simulator.logprobs import content_logprobs

SYSTEM_FINGERPRINT = "fp_sim_0001"
SERVICE_TIER = "default"

_REASONING_BASE = {"none": 0, "minimal": 16, "low": 64, "medium": 192, "high": 512}
_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Choice:
    """One choice of a reply: its tokens (visible text), why it ended, and hidden reasoning."""

    index: int
    tokens: tuple[str, ...]
    finish_reason: str
    reasoning_tokens: int

    @property
    def text(self) -> str:
        return "".join(self.tokens)


@dataclass(frozen=True)
class Completion:
    """What the simulated model produced for one request, before it is put on the wire."""

    id: str
    created: int
    model: str
    choices: tuple[Choice, ...]
    prompt_tokens: int
    cached_tokens: int
    logprobs: bool
    top_logprobs: int
    salt: int
    # The backend build the reply claims; tests change it to act out a server update.
    system_fingerprint: str = SYSTEM_FINGERPRINT

    @property
    def completion_tokens(self) -> int:
        return sum(len(c.tokens) + c.reasoning_tokens for c in self.choices)

    def usage(self) -> dict[str, object]:
        completion = self.completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": sum(c.reasoning_tokens for c in self.choices),
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def logprobs_for(self, choice: Choice, start: int, end: int) -> dict[str, object] | None:
        """The `logprobs` object covering tokens [start, end) of a choice, or None if not asked."""
        if not self.logprobs:
            return None
        salt = self.salt ^ choice.index
        content = content_logprobs(choice.tokens[start:end], start, salt, self.top_logprobs)
        return {"content": content, "refusal": None}

    def to_object(self, *, include_usage: bool = True) -> dict[str, object]:
        """The non-streamed `chat.completion` object."""
        choices: list[dict[str, object]] = [
            {
                "index": choice.index,
                "message": {
                    "role": "assistant",
                    "content": choice.text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": self.logprobs_for(choice, 0, len(choice.tokens)),
                "finish_reason": choice.finish_reason,
            }
            for choice in self.choices
        ]
        body: dict[str, object] = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if include_usage:
            body["usage"] = self.usage()
        body["service_tier"] = SERVICE_TIER
        body["system_fingerprint"] = self.system_fingerprint
        return body


def build_completion(
    body: dict[str, Any],
    spec: AnswerSpec,
    info: ModelInfo,
    *,
    response_model: str,
    prompt_tokens: int,
    cached_tokens: int,
    answer: str | None = None,
    system_fingerprint: str = SYSTEM_FINGERPRINT,
) -> Completion:
    """Decide every choice of the reply to a validated request (`answer`: a scripted text)."""
    stops = _stops(body.get("stop"))
    limit: int | None = body.get("max_completion_tokens")
    if limit is None:
        limit = body.get("max_tokens")
    choices: list[Choice] = []
    for index in range(body.get("n") or 1):
        reasoning = _reasoning_tokens(spec, index, body) if info.reasoning else 0
        if limit is not None and limit <= reasoning:
            # The reasoning used the whole allowance: the visible answer is empty.
            choices.append(Choice(index, (), "length", limit))
            continue
        budget = None if limit is None else limit - reasoning
        text, finish = (compose(spec, index) if answer is None else answer), "stop"
        cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
        if cut >= 0:
            text = text[:cut]
        tokens = split_tokens(text)
        if budget is not None and len(tokens) > budget:
            tokens, finish = tokens[:budget], "length"
        choices.append(Choice(index, tuple(tokens), finish, reasoning))
    return Completion(
        id="chatcmpl-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(29)),
        created=int(time.time()),
        model=response_model,
        choices=tuple(choices),
        prompt_tokens=prompt_tokens,
        cached_tokens=cached_tokens,
        logprobs=bool(body.get("logprobs")),
        top_logprobs=body.get("top_logprobs") or 0,
        salt=zlib.crc32(spec.fingerprint.encode()),
        system_fingerprint=system_fingerprint,
    )


def _stops(stop: object) -> list[str]:
    if isinstance(stop, str):
        return [stop] if stop else []
    if isinstance(stop, list):
        return [s for s in stop if isinstance(s, str) and s]
    return []


def _reasoning_tokens(spec: AnswerSpec, index: int, body: dict[str, Any]) -> int:
    base = _REASONING_BASE.get(str(body.get("reasoning_effort") or "medium"), 192)
    if base == 0:
        return 0
    return base + zlib.crc32(f"{spec.fingerprint}:{index}".encode()) % 64
