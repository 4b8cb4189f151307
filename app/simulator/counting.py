"""Token arithmetic: splitting answers into tokens, counting prompts, and prompt caching.

Prompts are counted with `app.core.tokens` (tiktoken, exactly as the API bills) when that
module is present; otherwise with a deterministic estimate. Answers are split with a regex
close to tiktoken's pre-tokenizer, so that streamed pieces, logprob entries, `max_tokens` and
`completion_tokens` all agree with each other without loading an encoding.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from app.core.catalog import ImageTokenCost, lookup
from app.simulator.content import image_parts, message_text

# Like o200k's pattern: contractions, an optional space plus a word, up to three digits, runs
# of punctuation, then whitespace. Every character falls in some alternative, so the pieces
# always join back to the exact text.
_PIECE = re.compile(
    r"'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d{1,3}| ?(?:[^\s\w]|_)+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Prompt caching applies from 1024 tokens, in steps of 128, as the API documents.
CACHE_MIN_TOKENS = 1024
CACHE_STEP = 128

PromptCounter = Callable[[list[dict[str, Any]], str], int]

_backend_lock = threading.Lock()
_backend: tuple[str, PromptCounter] | None = None


def split_tokens(text: str) -> list[str]:
    """The answer as tokens; `"".join(split_tokens(t)) == t`."""
    return _PIECE.findall(text)


def prompt_backend() -> tuple[str, PromptCounter]:
    """("app.core.tokens" or "estimate", the function counting a wire-format prompt)."""
    global _backend
    with _backend_lock:
        if _backend is None:
            _backend = _load_backend()
        return _backend


def count_prompt(messages: list[dict[str, Any]], model_id: str) -> int:
    return prompt_backend()[1](messages, model_id)


def _load_backend() -> tuple[str, PromptCounter]:
    name = "app.core.tokens"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as missing:
        if missing.name != name:
            raise
        return "estimate", estimate_prompt_tokens
    counter = getattr(module, "count_prompt_tokens", None)
    if not callable(counter):
        return "estimate", estimate_prompt_tokens
    return name, counter


def estimate_prompt_tokens(messages: list[dict[str, Any]], model_id: str) -> int:
    """OpenAI's message framing (3 per message, 3 to prime the reply) around split tokens."""
    costs = lookup(model_id).image_tokens
    total = 3
    for message in messages:
        total += 3 + 1 + len(split_tokens(message_text(message)))
        if message.get("name"):
            total += 1 + len(split_tokens(str(message["name"])))
    for _, _, image in image_parts(messages):
        total += _image_tokens(image.get("detail", "auto"), None, None, costs)
    return total


def _image_tokens(detail: str, width: int | None, height: int | None, costs: ImageTokenCost) -> int:
    if detail == "low" or width is None or height is None:
        return costs.base
    # Fit in 2048x2048, then scale the short side down to 768, then count 512-px tiles.
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return costs.base + costs.per_tile * math.ceil(w / 512) * math.ceil(h / 512)


class PrefixCache:
    """Remembers conversation prefixes to report `cached_tokens` when one is sent again."""

    def __init__(self, capacity: int = 4096) -> None:
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def cached_tokens(
        self,
        model_id: str,
        messages: Sequence[dict[str, Any]],
        prompt_tokens: int,
        count: PromptCounter,
    ) -> int:
        keys = self._prefix_keys(model_id, messages)
        with self._lock:
            hit = next((n for n in range(len(keys), 0, -1) if keys[n - 1] in self._seen), 0)
            for key in keys:
                self._seen[key] = None
                self._seen.move_to_end(key)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
        if hit == 0 or prompt_tokens < CACHE_MIN_TOKENS:
            return 0
        prefix = prompt_tokens if hit == len(messages) else count(list(messages[:hit]), model_id)
        # The last tokens of a prompt are never served from cache.
        cached = min(prefix, prompt_tokens - 1) // CACHE_STEP * CACHE_STEP
        return cached if cached >= CACHE_MIN_TOKENS else 0

    @staticmethod
    def _prefix_keys(model_id: str, messages: Sequence[dict[str, Any]]) -> list[bytes]:
        running = hashlib.sha256(model_id.encode())
        keys = []
        for message in messages:
            running.update(json.dumps(message, sort_keys=True).encode())
            keys.append(running.copy().digest())
        return keys
