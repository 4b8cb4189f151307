"""Request building: every body the app can build is schema-valid; bad input never leaves."""

from __future__ import annotations

import itertools

import pytest

from app.core.catalog import CATALOG, lookup
from app.core.messages import ChatMessage, Detail, ImagePart
from app.core.params import ChatParams, ReasoningEffort
from app.core.request import InvalidRequest, build_request, validate
from tests.support.schema import schema_errors

PNG_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4"
    "DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)


def conversation(*, images: bool = False, system: bool = True) -> list[ChatMessage]:
    parts = (
        (
            ImagePart(PNG_URL, Detail.LOW, 1, 1),
            ImagePart("https://example.com/cat.jpg", Detail.HIGH),
        )
        if images
        else ()
    )
    messages = [ChatMessage.system("You answer in JSON.")] if system else []
    messages += [
        ChatMessage.user("Hello"),
        ChatMessage.assistant("Hi! How can I help?"),
        ChatMessage.user("What is in these pictures?", parts),
    ]
    return messages


FULL_CHAT_PARAMS = ChatParams(
    temperature=0.7,
    top_p=0.9,
    presence_penalty=-0.5,
    frequency_penalty=1.5,
    max_output_tokens=500,
    n=3,
    seed=42,
    stop=("END", "###"),
    json_mode=True,
    logprobs=True,
    top_logprobs=5,
    user="user-123",
)
FULL_REASONING_PARAMS = ChatParams(
    max_output_tokens=2000,
    n=2,
    seed=7,
    json_mode=True,
    reasoning_effort=ReasoningEffort.HIGH,
)


@pytest.mark.parametrize("model_id", sorted(CATALOG))
@pytest.mark.parametrize("stream", [True, False])
def test_every_catalog_model_builds_a_schema_valid_request(model_id: str, stream: bool) -> None:
    """For each model, the fullest request it accepts validates against the official schema."""
    model = lookup(model_id)
    params = (FULL_REASONING_PARAMS if model.reasoning else FULL_CHAT_PARAMS).without_unsupported(
        model
    )
    body = build_request(model_id, conversation(images=model.vision), params, stream=stream)
    assert schema_errors(body) == []


def test_request_contains_only_what_the_user_set() -> None:
    """With default parameters the body holds the model, messages and streaming options only."""
    body = build_request("gpt-4o", [ChatMessage.user("Hi")], ChatParams())
    assert body == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_text_messages_use_plain_string_content_and_images_use_parts() -> None:
    """Text-only content stays a string (widest server support); images become content parts."""
    body = build_request("gpt-4o", conversation(images=True), ChatParams())
    assert body["messages"][1] == {"role": "user", "content": "Hello"}
    parts = body["messages"][3]["content"]
    assert parts[0] == {"type": "text", "text": "What is in these pictures?"}
    assert parts[1] == {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "low"}}
    assert parts[2]["image_url"] == {"url": "https://example.com/cat.jpg", "detail": "high"}


def test_output_limit_uses_the_parameter_the_model_takes() -> None:
    """Chat models get max_tokens (widely supported); o-series get max_completion_tokens."""
    params = ChatParams(max_output_tokens=100)
    assert build_request("gpt-4o", [ChatMessage.user("x")], params)["max_tokens"] == 100
    o1 = build_request("o1", [ChatMessage.user("x")], params)
    assert o1["max_completion_tokens"] == 100 and "max_tokens" not in o1


def test_single_stop_sequence_is_sent_as_a_string() -> None:
    """One stop sequence goes as a plain string, several as a list."""
    one = build_request("gpt-4o", [ChatMessage.user("x")], ChatParams(stop=("END",)))
    two = build_request("gpt-4o", [ChatMessage.user("x")], ChatParams(stop=("a", "b")))
    assert one["stop"] == "END" and two["stop"] == ["a", "b"]


def test_n_of_one_is_not_sent() -> None:
    """n=1 is the API default, so it is left out."""
    assert "n" not in build_request("gpt-4o", [ChatMessage.user("x")], ChatParams(n=1))


def test_system_prompt_is_folded_into_the_first_message_for_o1_mini() -> None:
    """o1-mini takes no system message: the instructions lead the first user message instead."""
    body = build_request("o1-mini", conversation(), ChatParams())
    roles = [m["role"] for m in body["messages"]]
    assert "system" not in roles
    assert body["messages"][0]["content"] == "You answer in JSON.\n\nHello"
    assert schema_errors(body) == []


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (ChatParams(temperature=2.5), "Temperature must be between 0 and 2"),
        (ChatParams(temperature=float("nan")), "Temperature"),
        (ChatParams(top_p=1.1), "Top P must be between 0 and 1"),
        (ChatParams(presence_penalty=-3), "Presence penalty must be between -2 and 2"),
        (ChatParams(frequency_penalty=2.01), "Frequency penalty"),
        (ChatParams(n=0), "number of choices"),
        (ChatParams(stop=("a", "b", "c", "d", "e")), "At most 4 stop sequences"),
        (ChatParams(stop=("",)), "stop sequence cannot be empty"),
        (ChatParams(logprobs=True, top_logprobs=21), "Top logprobs must be between 0 and 20"),
        (ChatParams(top_logprobs=3), "needs logprobs"),
        (ChatParams(max_output_tokens=0), "at least 1"),
        (ChatParams(max_output_tokens=100_000), "at most 16,384"),
        (ChatParams(seed=2**64), "64-bit"),
    ],
)
def test_invalid_values_are_refused_with_a_clear_message(params: ChatParams, fragment: str) -> None:
    """Out-of-range parameters raise InvalidRequest naming the parameter and its range."""
    with pytest.raises(InvalidRequest) as caught:
        build_request("gpt-4o", [ChatMessage.user("hello")], params)
    assert any(fragment in problem for problem in caught.value.problems), caught.value.problems


def test_json_mode_without_the_word_json_is_refused_before_sending() -> None:
    """The API rejects json_object unless a message mentions JSON; the app says so first."""
    with pytest.raises(InvalidRequest, match="JSON"):
        build_request("gpt-4o", [ChatMessage.user("List three fruits")], ChatParams(json_mode=True))
    body = build_request(
        "gpt-4o", [ChatMessage.user("Three fruits as json")], ChatParams(json_mode=True)
    )
    assert body["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("name", ["temperature", "top_p", "presence_penalty", "frequency_penalty"])
def test_reasoning_models_refuse_sampling_parameters(name: str) -> None:
    """o-series models reject sampling parameters; the message says why and what to do."""
    with pytest.raises(InvalidRequest) as caught:
        build_request("o3-mini", [ChatMessage.user("x")], ChatParams(**{name: 0.5}))
    assert "reasoning models" in caught.value.problems[0] and "reset it" in caught.value.problems[0]


def test_logprobs_are_refused_for_reasoning_models() -> None:
    """Logprobs are not available on o-series models."""
    assert validate(lookup("o1"), [ChatMessage.user("x")], ChatParams(logprobs=True))


def test_images_to_a_model_without_vision_are_refused() -> None:
    """o3-mini cannot see images: refused with the models that can."""
    with pytest.raises(InvalidRequest, match="cannot see images"):
        build_request("o3-mini", conversation(images=True), ChatParams())


def test_a_conversation_without_a_prompt_is_refused() -> None:
    """A system prompt alone is not a request."""
    with pytest.raises(InvalidRequest, match="no message"):
        build_request("gpt-4o", [ChatMessage.system("Be brief")], ChatParams())


def test_several_problems_are_reported_together() -> None:
    """All problems are listed at once so the user fixes them in one go."""
    with pytest.raises(InvalidRequest) as caught:
        build_request("gpt-4o", [ChatMessage.user("x")], ChatParams(temperature=5, top_p=5))
    assert len(caught.value.problems) == 2
    assert "2 problems" in caught.value.headline


def test_without_unsupported_clears_what_a_new_model_rejects() -> None:
    """Switching to an o-series model drops the sampling settings it would reject."""
    cleared = FULL_CHAT_PARAMS.without_unsupported(lookup("o1"))
    assert (
        cleared.temperature is None and cleared.logprobs is False and cleared.top_logprobs is None
    )
    assert cleared.seed == 42 and cleared.max_output_tokens == 500


def test_unknown_models_from_compatible_servers_build_valid_requests() -> None:
    """A model the catalog does not know (e.g. from Ollama) gets chat parameters and validates."""
    body = build_request("llama3.1:8b", conversation(), FULL_CHAT_PARAMS)
    assert body["model"] == "llama3.1:8b" and schema_errors(body) == []


@pytest.mark.parametrize(
    ("temperature", "top_p"), list(itertools.product([0.0, 1.0, 2.0], [0.0, 0.5, 1.0]))
)
def test_boundary_values_are_accepted(temperature: float, top_p: float) -> None:
    """Range boundaries are valid values and pass the schema."""
    body = build_request(
        "gpt-4o", [ChatMessage.user("x")], ChatParams(temperature=temperature, top_p=top_p)
    )
    assert schema_errors(body) == []


def test_the_schema_check_itself_catches_invalid_bodies() -> None:
    """Guard: the validator used above does reject a body that breaks the schema."""
    bad = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": 5}
    assert schema_errors(bad)
    assert schema_errors({"model": "gpt-4o", "messages": []})
    assert schema_errors({"model": "gpt-4o", "messages": [{"role": "wizard", "content": "x"}]})
