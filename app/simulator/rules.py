"""The API's rules that the schema does not encode: per-model parameters and cross-field checks."""

from __future__ import annotations

from typing import Any

from app.core.catalog import ModelInfo, Param
from app.simulator import errors
from app.simulator.content import image_parts, message_text
from app.simulator.errors import ApiError

# Sampling parameters reasoning models still accept at their default value.
_DEFAULTS = {
    Param.TEMPERATURE: 1,
    Param.TOP_P: 1,
    Param.PRESENCE_PENALTY: 0,
    Param.FREQUENCY_PENALTY: 0,
}
_EFFORTS = ("low", "medium", "high")


def check_rules(body: dict[str, Any], info: ModelInfo) -> None:
    """Raise the ApiError the API sends for a schema-valid request this model refuses."""
    _check_cross_fields(body)
    _check_model_params(body, info)
    _check_messages(body, info)
    _check_output_limit(body, info)


def _check_cross_fields(body: dict[str, Any]) -> None:
    if body.get("stream_options") is not None and not body.get("stream"):
        raise ApiError(
            400,
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    if body.get("top_logprobs") is not None and not body.get("logprobs"):
        raise ApiError(
            400,
            "The 'top_logprobs' parameter is only allowed when 'logprobs' is enabled.",
            param="top_logprobs",
        )
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_object" and not any(
        "json" in message_text(m).lower() for m in body["messages"]
    ):
        raise ApiError(
            400,
            "'messages' must contain the word 'json' in some form, to use 'response_format' of "
            "type 'json_object'.",
            param="messages",
        )


def _check_model_params(body: dict[str, Any], info: ModelInfo) -> None:
    for param, default in _DEFAULTS.items():
        value = body.get(param.value)
        if value is not None and not info.accepts(param) and value != default:
            raise errors.unsupported_value(param.value, value, default)
    if body.get("max_tokens") is not None and not info.accepts(Param.MAX_TOKENS):
        raise errors.unsupported_parameter("max_tokens", "Use 'max_completion_tokens' instead.")
    if not info.accepts(Param.LOGPROBS):
        for name in ("logprobs", "top_logprobs"):
            if body.get(name):
                raise errors.unsupported_parameter(name)
    effort = body.get("reasoning_effort")
    if effort is not None:
        if not info.accepts(Param.REASONING_EFFORT):
            raise errors.unsupported_parameter("reasoning_effort")
        if effort not in _EFFORTS:
            raise ApiError(
                400,
                f"Unsupported value: 'reasoning_effort' does not support '{effort}' with this "
                "model. Supported values are: 'low', 'medium', and 'high'.",
                param="reasoning_effort",
                code="unsupported_value",
            )


def _check_messages(body: dict[str, Any], info: ModelInfo) -> None:
    messages = body["messages"]
    if not info.accepts(Param.SYSTEM_MESSAGE):
        for index, message in enumerate(messages):
            role = message.get("role")
            if role in ("system", "developer"):
                raise ApiError(
                    400,
                    f"Unsupported value: 'messages[{index}].role' does not support '{role}' "
                    "with this model.",
                    param=f"messages[{index}].role",
                    code="unsupported_value",
                )
    if not info.vision:
        for m_index, p_index, _ in image_parts(messages):
            raise ApiError(
                400,
                "Invalid content type. image_url is only supported by certain models.",
                param=f"messages.[{m_index}].content.[{p_index}].type",
            )


def _check_output_limit(body: dict[str, Any], info: ModelInfo) -> None:
    ceiling = info.max_output_tokens
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if value < 1:
            raise ApiError(
                400,
                f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got "
                f"{value} instead.",
                param=name,
                code="integer_below_min_value",
            )
        if ceiling is not None and value > ceiling:
            raise ApiError(
                400,
                f"{name} is too large: {value}. This model supports at most {ceiling} "
                f"completion tokens, whereas you provided {value}.",
                param=name,
                code="invalid_value",
            )
