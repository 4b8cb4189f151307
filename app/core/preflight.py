"""Checks and estimates made before a request is sent: does it fit, and what will it cost."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.core import tokens
from app.core.catalog import ModelInfo, lookup
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.problems import UserFacingError
from app.core.usage import Cost, estimate_request_cost


class OverContextWindow(UserFacingError):
    """The prompt alone (plus the reply it asks room for) exceeds the model's context window."""


@dataclass(frozen=True)
class RequestEstimate:
    """Prompt tokens as the API will count them, the room left for the reply, and the cost."""

    model: ModelInfo
    prompt_tokens: int
    reserved_output_tokens: int
    cost: Cost | None

    @property
    def context_used(self) -> float:
        """Share of the context window the prompt and reserved reply take (may exceed 1)."""
        used = self.prompt_tokens + self.reserved_output_tokens
        return used / self.model.context_window

    @property
    def fits(self) -> bool:
        return self.prompt_tokens + self.reserved_output_tokens <= self.model.context_window


def estimate(model_id: str, messages: Sequence[ChatMessage], params: ChatParams) -> RequestEstimate:
    """Count the request's prompt tokens (blocking: may load an encoding, ~0.6 s the first time)."""
    model = lookup(model_id)
    prompt = tokens.count_messages(messages, model_id)
    reserved = params.max_output_tokens or 0
    cost = estimate_request_cost(prompt, model, expected_output_tokens=reserved)
    return RequestEstimate(model, prompt, reserved, cost)


def estimate_body(body: Mapping[str, Any]) -> RequestEstimate:
    """`estimate` of a built request body (wire format); blocking like it."""
    model_id = str(body.get("model", ""))
    model = lookup(model_id)
    messages = body.get("messages")
    prompt = (
        tokens.count_prompt_tokens(list(messages), model_id) if isinstance(messages, list) else 0
    )
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    reserved = limit if isinstance(limit, int) else 0
    cost = estimate_request_cost(prompt, model, expected_output_tokens=reserved)
    return RequestEstimate(model, prompt, reserved, cost)


def surely_fits(model_id: str, messages: Sequence[ChatMessage], params: ChatParams) -> bool:
    """True when the request fits without counting, so no encoding needs loading.

    A token is at least one UTF-8 byte, so the byte length bounds the text's tokens; images
    are bounded by their own token count. Only prompts near the window need tiktoken.
    """
    model = lookup(model_id)
    bound = (params.max_output_tokens or 0) + tokens.REPLY_PRIMING
    for message in messages:
        bound += tokens.TOKENS_PER_MESSAGE + len(message.role.value) + tokens.TOKENS_PER_NAME
        bound += len(message.text.encode("utf-8")) + len((message.name or "").encode("utf-8"))
        bound += sum(
            tokens.image_tokens(image.width, image.height, image.detail, model_id)
            for image in message.images
        )
    return bound <= model.context_window


def check_fits(model_id: str, messages: Sequence[ChatMessage], params: ChatParams) -> None:
    """Raise `OverContextWindow` if the request cannot fit; counts only when it might not."""
    if not surely_fits(model_id, messages, params):
        ensure_fits(estimate(model_id, messages, params))


def ensure_fits(request_estimate: RequestEstimate) -> None:
    """Raise `OverContextWindow` with a remedy when the request cannot fit."""
    if request_estimate.fits:
        return
    model = request_estimate.model
    reserved = request_estimate.reserved_output_tokens
    reply_room = f" plus {reserved:,} reserved for the reply" if reserved else ""
    raise OverContextWindow(
        f"Too long for {model.id}: {request_estimate.prompt_tokens:,} tokens{reply_room}, "
        f"the limit is {model.context_window:,}",
        "Shorten the prompt, remove images or earlier messages, lower max tokens, or pick a "
        "model with a larger context window.",
    )
