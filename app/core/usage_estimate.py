"""Usage counted locally with tiktoken, for replies the server reported none for.

A server that never sends `usage`, a reply stopped by the user, cut off by a failure or by a
kill: the provider still bills every token it generated. These estimates stand in for its
figures, always marked `estimated`. Blocking: the first count may load an encoding (~0.6 s).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.core import tokens
from app.core.messages import ChatMessage
from app.core.usage import Usage


def from_body(body: Mapping[str, Any], texts: Iterable[str]) -> Usage:
    """The usage of the request `body` (wire format) whose choices produced `texts`."""
    model = str(body.get("model", ""))
    messages = body.get("messages")
    prompt = tokens.count_prompt_tokens(list(messages), model) if isinstance(messages, list) else 0
    return Usage(prompt_tokens=prompt, completion_tokens=_completion(texts, model), estimated=True)


def from_messages(model: str, messages: Sequence[ChatMessage], texts: Iterable[str]) -> Usage:
    """The usage of a request of `messages` to `model` whose choices produced `texts`."""
    prompt = tokens.count_messages(messages, model)
    return Usage(prompt_tokens=prompt, completion_tokens=_completion(texts, model), estimated=True)


def _completion(texts: Iterable[str], model: str) -> int:
    return sum(tokens.count_text(text, model) for text in texts if text)
