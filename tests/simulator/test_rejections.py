"""Requests the API refuses, refused the same way: status, error type, param, code and wording."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI

from tests.simulator.helpers import png_data_url, user, validate

HELLO = [user("hello")]


def post(http: httpx2.Client, body: dict[str, Any]) -> httpx2.Response:
    return http.post("/v1/chat/completions", json=body)


def error_of(response: httpx2.Response) -> dict[str, Any]:
    validate("ErrorResponse", response.json())
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize(
    ("body", "param", "code", "wording"),
    [
        (
            {"model": "gpt-4o", "messages": HELLO, "temperature": "hot"},
            "temperature",
            "invalid_type",
            "Invalid type for 'temperature': expected a decimal, but got a string instead.",
        ),
        (
            {"model": "gpt-4o", "messages": HELLO, "n": 0},
            "n",
            "integer_below_min_value",
            "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 instead.",
        ),
        (
            {"model": "gpt-4o", "messages": []},
            "messages",
            "empty_array",
            "Invalid 'messages': empty array.",
        ),
        (
            {"model": "gpt-4o"},
            "messages",
            "missing_required_parameter",
            "Missing required parameter: 'messages'.",
        ),
        (
            {"model": "gpt-4o", "messages": [{"role": "wizard", "content": "hi"}]},
            "messages[0].role",
            "invalid_value",
            "Invalid value: 'wizard'. Supported values are: 'developer', 'system', 'user'",
        ),
        (
            {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "messages[0].content[0].text",
            "missing_required_parameter",
            "Missing required parameter: 'messages[0].content[0].text'.",
        ),
        (
            {"model": "gpt-4o", "messages": HELLO, "response_format": {"type": "xml"}},
            "response_format.type",
            "invalid_value",
            "Invalid value: 'xml'.",
        ),
    ],
)
def test_schema_violations_name_the_field(
    http: httpx2.Client, body: dict[str, Any], param: str, code: str, wording: str
) -> None:
    """A body breaking the official schema gets a 400 naming the failing field."""
    response = post(http, body)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    assert error["message"].startswith(wording)


def test_schema_violation_raises_bad_request_in_the_sdk(client: OpenAI) -> None:
    """Through the SDK a schema violation is a BadRequestError with the field as `param`."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=HELLO, temperature=3)
    assert caught.value.param == "temperature"
    assert caught.value.code == "integer_above_max_value"


def test_unknown_argument_is_unrecognized(client: OpenAI) -> None:
    """A top-level field the API does not define is refused by name."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=HELLO, extra_body={"colour": 1})
    assert caught.value.message.endswith("Unrecognized request argument supplied: colour")


def test_invalid_json_body(http: httpx2.Client) -> None:
    """A body that is not JSON gets the API's parse error."""
    response = http.post(
        "/v1/chat/completions", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("We could not parse the JSON body")


def test_unknown_model_is_not_found(client: OpenAI) -> None:
    """An unknown model is a 404 model_not_found with the API's wording."""
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-9-ultra", messages=HELLO)
    assert caught.value.code == "model_not_found"
    assert caught.value.body["message"] == (
        "The model `gpt-9-ultra` does not exist or you do not have access to it."
    )


def test_prompt_over_the_context_window(client: OpenAI) -> None:
    """A prompt longer than the model's window gets context_length_exceeded, real wording."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[user("lorem " * 130_000)])
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.param == "messages"
    message = caught.value.body["message"]
    assert message.startswith("This model's maximum context length is 128000 tokens. However, ")
    assert message.endswith("Please reduce the length of the messages.")
    tokens = int(message.split("resulted in ")[1].split(" tokens")[0])
    assert tokens > 128_000


def test_prompt_plus_completion_over_the_window(client: OpenAI) -> None:
    """A fitting prompt whose max_tokens overflows the window names both counts."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="gpt-4o", messages=[user("lorem " * 120_000)], max_tokens=16_000
        )
    assert caught.value.code == "context_length_exceeded"
    assert "in the completion" in caught.value.message


@pytest.mark.parametrize(
    ("params", "param", "code", "wording"),
    [
        (
            {"max_tokens": 100},
            "max_tokens",
            "unsupported_parameter",
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
        ),
        (
            {"temperature": 0.5},
            "temperature",
            "unsupported_value",
            "Unsupported value: 'temperature' does not support 0.5 with this model. "
            "Only the default (1) value is supported.",
        ),
        (
            {"top_p": 0.9},
            "top_p",
            "unsupported_value",
            "Unsupported value: 'top_p' does not support 0.9 with this model.",
        ),
        (
            {"presence_penalty": 0.5},
            "presence_penalty",
            "unsupported_value",
            "Unsupported value: 'presence_penalty' does not support 0.5 with this model. "
            "Only the default (0) value is supported.",
        ),
        (
            {"logprobs": True},
            "logprobs",
            "unsupported_parameter",
            "Unsupported parameter: 'logprobs' is not supported with this model.",
        ),
        (
            {"reasoning_effort": "minimal"},
            "reasoning_effort",
            "unsupported_value",
            "Unsupported value: 'reasoning_effort' does not support 'minimal' with this model.",
        ),
    ],
)
def test_reasoning_models_refuse_sampling_parameters(
    client: OpenAI, params: dict[str, Any], param: str, code: str, wording: str
) -> None:
    """o-series models refuse what they do not support, as the API words it."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="o1", messages=HELLO, **params)
    assert (caught.value.param, caught.value.code) == (param, code)
    assert caught.value.message.endswith(wording) or wording in caught.value.message


def test_reasoning_models_accept_default_sampling_values(client: OpenAI) -> None:
    """temperature=1 and top_p=1 (the defaults) are accepted by o-series models."""
    reply = client.chat.completions.create(model="o1", messages=HELLO, temperature=1, top_p=1)
    assert reply.choices[0].finish_reason == "stop"


def test_o1_mini_refuses_a_system_message(client: OpenAI) -> None:
    """o1-mini refuses system messages with unsupported_value on messages[0].role."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="o1-mini", messages=[{"role": "system", "content": "Be brief."}, *HELLO]
        )
    assert caught.value.param == "messages[0].role"
    assert caught.value.code == "unsupported_value"
    assert "does not support 'system' with this model." in caught.value.message


def test_json_object_needs_the_word_json(client: OpenAI) -> None:
    """json_object mode without "json" in any message is refused with the API's sentence."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="gpt-4o", messages=HELLO, response_format={"type": "json_object"}
        )
    assert caught.value.param == "messages"
    assert caught.value.message.endswith(
        "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
        "'json_object'."
    )


def test_images_to_a_model_without_vision(client: OpenAI) -> None:
    """An image sent to a text-only model is refused, naming the content part."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="o3-mini", messages=[user("see", png_data_url())])
    assert caught.value.param == "messages.[0].content.[1].type"
    assert "image_url is only supported by certain models" in caught.value.message


def test_undecodable_image_is_refused(client: OpenAI) -> None:
    """A data URL that is not a supported image format gets invalid_image_format."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="gpt-4o", messages=[user("see", "data:image/png;base64,aGVsbG8=")]
        )
    assert caught.value.code == "invalid_image_format"


def test_top_logprobs_needs_logprobs(client: OpenAI) -> None:
    """top_logprobs without logprobs=true is refused."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=HELLO, top_logprobs=3)
    assert caught.value.param == "top_logprobs"
    assert "only allowed when 'logprobs' is enabled" in caught.value.message


def test_stream_options_need_stream(client: OpenAI) -> None:
    """stream_options on a non-streamed request is refused."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="gpt-4o", messages=HELLO, stream_options={"include_usage": True}
        )
    assert caught.value.param == "stream_options"


def test_max_tokens_above_the_model_limit(client: OpenAI) -> None:
    """max_tokens above the model's output ceiling is refused with both numbers."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=20_000)
    assert caught.value.message.endswith(
        "max_tokens is too large: 20000. This model supports at most 16384 completion tokens, "
        "whereas you provided 20000."
    )


def test_unknown_path_is_an_invalid_url(http: httpx2.Client) -> None:
    """An unknown endpoint answers 404 with the API's "Invalid URL" error."""
    response = http.get("/v1/engines")
    assert response.status_code == 404
    assert error_of(response)["message"] == "Invalid URL (GET /v1/engines)"
