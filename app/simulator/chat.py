"""From a chat request body to a decided completion, refusing what the API would refuse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.catalog import ModelInfo
from app.simulator import errors
from app.simulator.answers import AnswerSpec
from app.simulator.completion import SYSTEM_FINGERPRINT, Completion, build_completion
from app.simulator.content import read_prompt
from app.simulator.counting import PrefixCache, count_prompt
from app.simulator.models import ModelRegistry
from app.simulator.rules import check_rules
from app.simulator.schema import check_request


@dataclass(frozen=True)
class ChatPlan:
    """A validated request and the reply decided for it."""

    completion: Completion
    stream: bool
    include_usage: bool
    obfuscate: bool


def plan_chat(
    body: Any,
    *,
    registry: ModelRegistry,
    prefix_cache: PrefixCache,
    answer_words: int | None,
    send_usage: bool,
    answer: str | None = None,
    system_fingerprint: str = SYSTEM_FINGERPRINT,
) -> ChatPlan:
    """Validate in the API's order (shape, model, model rules, context) and decide the reply.

    `answer` (a scripted one) replaces the simulated answer's text.
    """
    if not isinstance(body, dict):
        raise errors.invalid_json()
    check_request(body)
    model = body["model"]
    info = registry.resolve(model)
    if info is None:
        raise errors.model_not_found(model)
    check_rules(body, info)
    messages = body["messages"]
    view = read_prompt(messages)
    prompt_tokens = count_prompt(messages, model)
    _check_context(body, info, prompt_tokens)
    cached = prefix_cache.cached_tokens(model, messages, prompt_tokens, count_prompt)
    spec = AnswerSpec.from_request(body, view, answer_words=answer_words)
    completion = build_completion(
        body,
        spec,
        info,
        response_model=registry.response_model(model),
        prompt_tokens=prompt_tokens,
        cached_tokens=cached,
        answer=answer,
        system_fingerprint=system_fingerprint,
    )
    options = body.get("stream_options") or {}
    stream = bool(body.get("stream"))
    return ChatPlan(
        completion=completion,
        stream=stream,
        include_usage=send_usage and (not stream or bool(options.get("include_usage"))),
        obfuscate=options.get("include_obfuscation", True) is not False,
    )


def _check_context(body: dict[str, Any], info: ModelInfo, prompt_tokens: int) -> None:
    window = info.context_window
    if prompt_tokens > window:
        raise errors.context_length_exceeded(window, prompt_tokens)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit is not None and prompt_tokens + limit > window:
        raise errors.context_length_exceeded(window, prompt_tokens, limit)
