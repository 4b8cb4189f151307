"""A completion as server-sent events: `chat.completion.chunk` lines, usage, then `[DONE]`.

Chunks are encoded from a pre-serialised header so that flooding tens of thousands of them
costs little more than encoding each delta's text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from app.simulator.completion import SERVICE_TIER, Choice, Completion

DONE = b"data: [DONE]\n\n"

# Padding for `obfuscation`, which the API adds to every chunk to blur payload sizes.
_OBFUSCATION = "Zq3xR7bWm2KpT9vLc4NhY8sJd1GfQ6uAe5oIk0rBtXyHnMwVgPjCzSlUaDiEO"


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class ChunkEncoder:
    """Encodes the chunks of one completion; every chunk repeats its id, created and model."""

    def __init__(self, completion: Completion, *, include_usage: bool, obfuscate: bool) -> None:
        head = {
            "id": completion.id,
            "object": "chat.completion.chunk",
            "created": completion.created,
            "model": completion.model,
            "service_tier": SERVICE_TIER,
            "system_fingerprint": completion.system_fingerprint,
        }
        self._head = "data: " + _dumps(head)[:-1] + ',"choices":['
        self._usage_null = ',"usage":null' if include_usage else ""
        self._obfuscate = obfuscate
        self._count = 0

    def event(
        self, choices: list[dict[str, object]], usage: dict[str, object] | None = None
    ) -> bytes:
        parts = [self._head, ",".join(_dumps(c) for c in choices), "]"]
        parts.append(',"usage":' + _dumps(usage) if usage is not None else self._usage_null)
        if self._obfuscate:
            start = self._count % len(_OBFUSCATION)
            size = 1 + (self._count * 7) % 12
            parts.append(f',"obfuscation":"{(_OBFUSCATION * 2)[start : start + size]}"')
        self._count += 1
        parts.append("}\n\n")
        # A lone surrogate in a scripted answer goes out as the JSON escape "\ud800", as a
        # server that produced one would send it (it has no UTF-8 form).
        return "".join(parts).encode("utf-8", "backslashreplace")


def stream_events(
    completion: Completion,
    *,
    words_per_chunk: int,
    include_usage: bool,
    obfuscate: bool = True,
) -> Iterator[bytes]:
    """Every `data:` event of the streamed reply except the final `[DONE]`.

    With several choices the chunks interleave, each carrying one choice and its `index`.
    """
    encoder = ChunkEncoder(completion, include_usage=include_usage, obfuscate=obfuscate)
    step = max(1, words_per_chunk)
    for choice in completion.choices:
        first: dict[str, object] = {"role": "assistant", "content": "", "refusal": None}
        yield encoder.event([_choice(choice, first, None, None)])
    offsets = [0] * len(completion.choices)
    pending = [c for c in completion.choices if c.tokens]
    while pending:
        still = []
        for choice in pending:
            start = offsets[choice.index]
            end = min(start + step, len(choice.tokens))
            delta: dict[str, object] = {"content": "".join(choice.tokens[start:end])}
            logprobs = completion.logprobs_for(choice, start, end)
            yield encoder.event([_choice(choice, delta, logprobs, None)])
            offsets[choice.index] = end
            if end < len(choice.tokens):
                still.append(choice)
        pending = still
    for choice in completion.choices:
        yield encoder.event([_choice(choice, {}, None, choice.finish_reason)])
    if include_usage:
        yield encoder.event([], completion.usage())


def malformed_event(completion: Completion) -> bytes:
    """A `data:` event cut off mid-JSON, as a broken proxy might deliver it."""
    head = f'data: {{"id":"{completion.id}","object":"chat.completion.chunk",'
    return (head + '"choices":[{"delta":{"content":"tru\n\n').encode()


def error_event(error: dict[str, object]) -> bytes:
    return f"data: {_dumps({'error': error})}\n\n".encode()


def _choice(
    choice: Choice,
    delta: dict[str, object],
    logprobs: dict[str, object] | None,
    finish_reason: str | None,
) -> dict[str, object]:
    return {
        "index": choice.index,
        "delta": delta,
        "logprobs": logprobs,
        "finish_reason": finish_reason,
    }
