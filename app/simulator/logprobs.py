"""Deterministic per-token log probabilities in the API's `logprobs.content` shape."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

_ALTERNATIVES = (
    " the",
    " a",
    ",",
    ".",
    " and",
    "\n",
    " of",
    " to",
    " is",
    " in",
    " that",
    " it",
    " for",
    " on",
    " with",
    " as",
    " this",
    " be",
    " at",
    " by",
    " or",
)


def token_entry(token: str, position: int, salt: int, top: int) -> dict[str, object]:
    """One `ChatCompletionTokenLogprob`: the chosen token first, then `top - 1` runners-up."""
    h = zlib.crc32(f"{salt}:{position}:{token}".encode())
    # Cubing skews most tokens towards near-certainty, as real models' outputs are.
    logprob = -round(((h % 10_000) / 10_000) ** 3 * 3.0, 6)
    entry: dict[str, object] = {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode("utf-8")),
        "top_logprobs": [],
    }
    if top > 0:
        alternatives: list[dict[str, object]] = [
            {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}
        ]
        start = h % len(_ALTERNATIVES)
        step = logprob - 0.75
        for offset in range(len(_ALTERNATIVES)):
            if len(alternatives) == top:
                break
            other = _ALTERNATIVES[(start + offset) % len(_ALTERNATIVES)]
            if other == token:
                continue
            alternatives.append(
                {"token": other, "logprob": round(step, 6), "bytes": list(other.encode("utf-8"))}
            )
            step -= 0.5 + (h >> offset & 7) / 10
        entry["top_logprobs"] = alternatives
    return entry


def content_logprobs(
    tokens: Sequence[str], first_position: int, salt: int, top: int
) -> list[dict[str, object]]:
    return [token_entry(token, first_position + i, salt, top) for i, token in enumerate(tokens)]
