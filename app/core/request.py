"""Build the body of `POST /chat/completions` from messages and parameters, validating first.

Everything a server would reject is caught here with a message that says how to fix it,
before anything is sent. The body uses the most widely accepted form: plain-string content
for text-only messages (many OpenAI-compatible servers reject content arrays), `max_tokens`
for chat models and `max_completion_tokens` only where the model requires it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from app.core.catalog import ModelInfo, Param, lookup
from app.core.messages import ChatMessage, Role
from app.core.params import (
    MAX_N,
    MAX_STOP_SEQUENCES,
    MAX_TOP_LOGPROBS,
    RANGES,
    SEED_RANGE,
    ChatParams,
    param_for,
)
from app.core.problems import UserFacingError


class InvalidRequest(UserFacingError):
    """A request that must not be sent; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        headline = (
            problems[0] if len(problems) == 1 else f"{len(problems)} problems with this request"
        )
        remedy = "Fix this and send again." if len(problems) == 1 else "; ".join(problems)
        super().__init__(headline, remedy)


def validate(model: ModelInfo, messages: Sequence[ChatMessage], params: ChatParams) -> list[str]:
    """Every reason the request would be rejected, as user-facing sentences (empty if fine)."""
    problems: list[str] = []
    problems += _check_messages(model, messages)
    problems += _check_ranges(params)
    problems += _check_support(model, params)
    problems += _check_combinations(model, messages, params)
    return problems


def build_request(
    model_id: str,
    messages: Sequence[ChatMessage],
    params: ChatParams,
    *,
    stream: bool = True,
) -> dict[str, Any]:
    """The JSON body for `model_id`, or `InvalidRequest` listing everything wrong."""
    model = lookup(model_id)
    problems = validate(model, messages, params)
    if problems:
        raise InvalidRequest(problems)
    body: dict[str, Any] = {"model": model_id, "messages": _wire_messages(model, messages)}
    body.update(_wire_params(model, params))
    if stream:
        body["stream"] = True
        # Without this the server sends no usage while streaming, and cost is unknown.
        body["stream_options"] = {"include_usage": True}
    return body


def _check_messages(model: ModelInfo, messages: Sequence[ChatMessage]) -> list[str]:
    problems: list[str] = []
    if not any(m.role is not Role.SYSTEM for m in messages):
        problems.append("There is no message to send: write a prompt first.")
    if not model.vision and any(m.images for m in messages):
        problems.append(
            f"{model.id} cannot see images: remove the images or pick a model with vision "
            "(gpt-4o, gpt-4o-mini, gpt-4-turbo, o1)."
        )
    for message in messages:
        if message.role is not Role.USER and message.images:
            problems.append("Only your own messages can carry images.")
            break
    return problems


def _check_ranges(params: ChatParams) -> list[str]:
    problems: list[str] = []
    for name, spec in RANGES.items():
        value = getattr(params, name)
        if value is None:
            continue
        if not math.isfinite(value) or not spec.minimum <= value <= spec.maximum:
            problems.append(
                f"{spec.label} must be between {spec.minimum:g} and {spec.maximum:g} "
                f"(it is {value:g})."
            )
    if params.max_output_tokens is not None and params.max_output_tokens < 1:
        problems.append("Max tokens must be at least 1.")
    if params.n is not None and not 1 <= params.n <= MAX_N:
        problems.append(f"The number of choices (n) must be between 1 and {MAX_N}.")
    if params.seed is not None and not SEED_RANGE[0] <= params.seed <= SEED_RANGE[1]:
        problems.append("The seed must fit in a 64-bit signed integer.")
    if len(params.stop) > MAX_STOP_SEQUENCES:
        problems.append(f"At most {MAX_STOP_SEQUENCES} stop sequences are allowed.")
    if any(s == "" for s in params.stop):
        problems.append("A stop sequence cannot be empty.")
    if params.top_logprobs is not None and not 0 <= params.top_logprobs <= MAX_TOP_LOGPROBS:
        problems.append(f"Top logprobs must be between 0 and {MAX_TOP_LOGPROBS}.")
    return problems


def _check_support(model: ModelInfo, params: ChatParams) -> list[str]:
    problems: list[str] = []
    for name in params.set_names():
        param = param_for(name, model)
        if param is None or model.accepts(param):
            continue
        reason = model.why_not(param) or f"{model.id} does not accept {name}"
        problems.append(f"{reason} ({name}): reset it to its default.")
    return problems


def _check_combinations(
    model: ModelInfo, messages: Sequence[ChatMessage], params: ChatParams
) -> list[str]:
    problems: list[str] = []
    if params.top_logprobs is not None and not params.logprobs:
        problems.append("Top logprobs needs logprobs turned on.")
    if params.json_mode and not any("json" in m.text.lower() for m in messages):
        problems.append(
            "JSON mode needs the word “JSON” in a message (the API rejects it otherwise): "
            "say in the prompt or system prompt that you want JSON."
        )
    limit = model.max_output_tokens or model.context_window
    if params.max_output_tokens is not None and params.max_output_tokens > limit:
        problems.append(f"Max tokens for {model.id} is at most {limit:,}.")
    return problems


def _wire_messages(model: ModelInfo, messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    if model.accepts(Param.SYSTEM_MESSAGE):
        return [_wire_message(m) for m in messages]
    # Models without system prompts (o1-mini) get the instructions at the top of the first
    # user message, so a conversation's system prompt still applies after a model switch.
    instructions = "\n\n".join(m.text for m in messages if m.role is Role.SYSTEM and m.text)
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role is Role.SYSTEM:
            continue
        if instructions and message.role is Role.USER:
            message = ChatMessage(
                message.role, f"{instructions}\n\n{message.text}", message.images, message.name
            )
            instructions = ""
        wire.append(_wire_message(message))
    return wire


def _wire_message(message: ChatMessage) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role.value}
    if message.images:
        parts: list[dict[str, Any]] = []
        if message.text:
            parts.append({"type": "text", "text": message.text})
        parts += [
            {"type": "image_url", "image_url": {"url": image.url, "detail": image.detail.value}}
            for image in message.images
        ]
        wire["content"] = parts
    else:
        wire["content"] = message.text
    if message.name:
        wire["name"] = message.name
    return wire


def _wire_params(model: ModelInfo, params: ChatParams) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty", "seed", "user"):
        value = getattr(params, name)
        if value is not None:
            wire[name] = value
    if params.max_output_tokens is not None:
        wire[model.output_limit_param.value] = params.max_output_tokens
    if params.n is not None and params.n != 1:
        wire["n"] = params.n
    if params.stop:
        # A single stop string is the form the widest range of servers accept.
        wire["stop"] = params.stop[0] if len(params.stop) == 1 else list(params.stop)
    if params.json_mode:
        wire["response_format"] = {"type": "json_object"}
    if params.logprobs:
        wire["logprobs"] = True
        if params.top_logprobs is not None:
            wire["top_logprobs"] = params.top_logprobs
    if params.reasoning_effort is not None:
        wire["reasoning_effort"] = params.reasoning_effort.value
    return wire
