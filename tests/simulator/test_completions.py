"""Non-streamed replies: what the answer says, and the parameters that shape it."""

from __future__ import annotations

import base64
import json
import re

import httpx2
import pytest
from openai import OpenAI

from app.simulator import SimulatorServer
from app.simulator.completion import SYSTEM_FINGERPRINT
from app.simulator.counting import split_tokens
from tests.simulator.helpers import API_KEY, png_data_url, user, validate

MODEL = "gpt-4o-mini"


def ask(client: OpenAI, text: str = "Tell me about otters", **params: object) -> object:
    return client.chat.completions.create(model=MODEL, messages=[user(text)], **params)


def test_response_validates_against_the_official_schema(http: httpx2.Client) -> None:
    """A non-streamed reply, with n and logprobs, is a valid CreateChatCompletionResponse."""
    body = {"model": MODEL, "messages": [user("hi")], "n": 2, "logprobs": True, "top_logprobs": 2}
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    validate("CreateChatCompletionResponse", response.json())


def test_response_shape_matches_the_api(client: OpenAI) -> None:
    """The reply names the model's snapshot, a fingerprint, an assistant message and usage."""
    reply = ask(client)
    assert reply.object == "chat.completion"
    assert reply.id.startswith("chatcmpl-")
    assert reply.model == "gpt-4o-mini-2024-07-18"
    assert reply.system_fingerprint == SYSTEM_FINGERPRINT
    message = reply.choices[0].message
    assert message.role == "assistant" and message.refusal is None
    assert reply.choices[0].finish_reason == "stop"
    usage = reply.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details.reasoning_tokens == 0


def test_answer_quotes_prompt_system_prompt_and_model(client: OpenAI) -> None:
    """The answer repeats the last user prompt, the system prompt and the model name."""
    reply = client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "You are a pirate."},
            user("first question"),
            {"role": "assistant", "content": "first answer"},
            user("What is a parrot?"),
        ],
    )
    text = reply.choices[0].message.content
    assert '"What is a parrot?"' in text
    assert "first question" not in text
    assert "You are a pirate." in text
    assert "gpt-4o" in text
    assert "4 messages" in text


def test_answer_describes_attached_images(client: OpenAI) -> None:
    """Base64 images are decoded (format, size, bytes); remote ones are only named, not fetched."""
    local = png_data_url(64, 48)
    remote = "https://example.invalid/cat.jpg"
    reply = client.chat.completions.create(
        model="gpt-4o", messages=[user("What are these?", local, remote, detail="low")]
    )
    text = reply.choices[0].message.content
    assert "2 images" in text
    size = len(base64.b64decode(local.split(",", 1)[1]))
    assert f"PNG, 64×48 pixels, {size} bytes (detail: low)" in text
    assert f"a remote image at {remote}" in text


def test_answer_words_pads_with_markdown() -> None:
    """`answer_words` pads the answer to that length with headings, lists and code blocks."""
    with (
        SimulatorServer(answer_words=400) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        text = ask(sdk).choices[0].message.content
    assert len(text.split()) == pytest.approx(400, abs=10)
    assert re.search(r"^## ", text, re.MULTILINE)
    assert re.search(r"^- ", text, re.MULTILINE)
    assert re.search(r"^```\w+\n.*?\n```$", text, re.MULTILINE | re.DOTALL)


def test_answer_words_header_overrides_per_request(client: OpenAI) -> None:
    """An X-Simulator-Answer-Words header sets one request's answer length."""
    short = ask(client).choices[0].message.content
    long = ask(client, extra_headers={"X-Simulator-Answer-Words": "250"}).choices[0].message.content
    assert len(short.split()) < 40
    assert len(long.split()) == pytest.approx(250, abs=10)
    assert long.startswith(short.split("\n")[0])


def test_json_object_mode_answers_valid_json(client: OpenAI) -> None:
    """With response_format json_object the answer parses as a JSON object about the prompt."""
    reply = ask(
        client,
        "Reply in JSON about owls",
        response_format={"type": "json_object"},
        extra_headers={"X-Simulator-Answer-Words": "120"},
    )
    document = json.loads(reply.choices[0].message.content)
    assert document["prompt"] == "Reply in JSON about owls"
    assert document["model"] == MODEL


def test_same_seed_same_answer_other_seed_other_answer(client: OpenAI) -> None:
    """Identical requests with the same seed agree; a different seed gives different prose."""
    words = {"extra_headers": {"X-Simulator-Answer-Words": "80"}}
    first = ask(client, seed=1, **words).choices[0].message.content
    again = ask(client, seed=1, **words).choices[0].message.content
    other = ask(client, seed=2, **words).choices[0].message.content
    assert first == again
    assert first != other


def test_n_gives_distinct_choices(client: OpenAI) -> None:
    """n=4 returns four choices, indexed 0..3, with four different answers."""
    reply = ask(client, n=4)
    assert [c.index for c in reply.choices] == [0, 1, 2, 3]
    assert len({c.message.content for c in reply.choices}) == 4
    tokens = sum(len(split_tokens(c.message.content)) for c in reply.choices)
    assert reply.usage.completion_tokens == tokens


def test_logprobs_are_per_token_and_deterministic(client: OpenAI) -> None:
    """logprobs list one entry per completion token, with k alternatives, the same every time."""
    first = ask(client, logprobs=True, top_logprobs=5)
    again = ask(client, logprobs=True, top_logprobs=5)
    entries = first.choices[0].logprobs.content
    assert "".join(e.token for e in entries) == first.choices[0].message.content
    assert len(entries) == first.usage.completion_tokens
    for entry in entries:
        assert entry.logprob <= 0
        assert bytes(entry.bytes) == entry.token.encode()
        assert len(entry.top_logprobs) == 5
        assert entry.top_logprobs[0].token == entry.token
        chances = [alt.logprob for alt in entry.top_logprobs]
        assert chances == sorted(chances, reverse=True)
    assert first.choices[0].logprobs == again.choices[0].logprobs


def test_no_logprobs_unless_asked(client: OpenAI) -> None:
    """Without logprobs the choice's logprobs is null."""
    assert ask(client).choices[0].logprobs is None


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_token_limit_cuts_the_answer_with_length(client: OpenAI, param: str) -> None:
    """A token limit truncates the same answer to that many tokens, finish_reason length."""
    full = ask(client).choices[0].message.content
    cut = ask(client, **{param: 5})
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage.completion_tokens == 5
    assert full.startswith(cut.choices[0].message.content)
    assert len(cut.choices[0].message.content) < len(full)


def test_stop_sequence_cuts_before_the_stop_text(client: OpenAI) -> None:
    """A stop sequence ends the answer just before it, with finish_reason stop."""
    full = ask(client).choices[0].message.content
    reply = ask(client, stop=["You asked", "zzz-not-there"])
    text = reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    assert text == full[: full.index("You asked")]


def test_reasoning_model_reports_reasoning_tokens(client: OpenAI) -> None:
    """o-series usage counts reasoning tokens inside completion_tokens."""
    reply = client.chat.completions.create(model="o3-mini", messages=[user("Think hard")])
    usage = reply.usage
    reasoning = usage.completion_tokens_details.reasoning_tokens
    assert reasoning > 0
    visible = len(split_tokens(reply.choices[0].message.content))
    assert usage.completion_tokens == reasoning + visible


def test_reasoning_can_use_up_the_whole_allowance(client: OpenAI) -> None:
    """When max_completion_tokens is all spent on reasoning the visible answer is empty."""
    reply = client.chat.completions.create(
        model="o1", messages=[user("Think")], max_completion_tokens=10
    )
    assert reply.choices[0].message.content == ""
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == reply.usage.completion_tokens_details.reasoning_tokens
    assert reply.usage.completion_tokens == 10


def test_prompt_tokens_are_counted_like_the_app(client: OpenAI) -> None:
    """prompt_tokens agrees with the app's own tiktoken-based counter."""
    tokens = pytest.importorskip("app.core.tokens")
    messages = [{"role": "system", "content": "Be brief."}, user("How many tokens is this?")]
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    assert reply.usage.prompt_tokens == tokens.count_prompt_tokens(messages, "gpt-4o")


def test_repeated_long_prefix_reports_cached_tokens(client: OpenAI) -> None:
    """Re-sending a conversation of 1024+ tokens reports cached tokens in steps of 128."""
    history = [user("background " * 1500), {"role": "assistant", "content": "Noted."}]
    first = client.chat.completions.create(model="gpt-4o", messages=[*history, user("one")])
    second = client.chat.completions.create(model="gpt-4o", messages=[*history, user("two")])
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert 1024 <= cached < second.usage.prompt_tokens
    assert cached % 128 == 0


def test_extra_models_are_served(client: OpenAI) -> None:
    """A model given in extra_models answers under its own name."""
    with (
        SimulatorServer(extra_models=["llama3:8b"]) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        reply = sdk.chat.completions.create(model="llama3:8b", messages=[user("hi")])
    assert reply.model == "llama3:8b"
    assert "llama3:8b" in reply.choices[0].message.content
