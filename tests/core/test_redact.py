"""Redaction: key-shaped strings, bearer tokens and registered secrets never survive."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable

import pytest

from app.core.failures import FailureContext, classify
from app.core.redact import (
    MIN_SECRET_LENGTH,
    SecretRegistry,
    mask_secret,
    redact,
    without_userinfo,
)


def key_body(length: int) -> str:
    # token_urlsafe uses the same alphabet as real keys: A-Z a-z 0-9 - _
    return secrets.token_urlsafe(length)[:length]


PROJECT_KEY = "sk-proj-" + key_body(156)
SERVICE_ACCOUNT_KEY = "sk-svcacct-" + key_body(156)
ADMIN_KEY = "sk-admin-" + key_body(72)
LEGACY_KEY = "sk-" + key_body(20) + "T3BlbkFJ" + key_body(20)
ALL_KEYS = [PROJECT_KEY, SERVICE_ACCOUNT_KEY, ADMIN_KEY, LEGACY_KEY]


@pytest.mark.parametrize("key", ALL_KEYS, ids=["project", "svcacct", "admin", "legacy"])
def test_every_openai_key_shape_is_masked(key: str) -> None:
    """Each kind of OpenAI key is replaced by its prefix, an ellipsis and its last four."""
    text = redact(f"using key {key} now")
    assert key not in text
    assert text == f"using key {mask_secret(key)} now"


def test_mask_keeps_only_the_prefix_and_last_four() -> None:
    """The masked form of a project key is `sk-proj-…` plus its last four characters."""
    assert mask_secret(PROJECT_KEY) == f"sk-proj-…{PROJECT_KEY[-4:]}"
    assert mask_secret(LEGACY_KEY) == f"sk-…{LEGACY_KEY[-4:]}"
    assert mask_secret(ADMIN_KEY).startswith("sk-admin-…")


def test_mask_of_a_short_secret_reveals_nothing() -> None:
    """When four characters would be a large share of a secret, none are shown."""
    assert mask_secret("sk-proj-abcdef") == "sk-proj-…"
    assert mask_secret("hunter22") == "…"


def test_bearer_tokens_are_masked() -> None:
    """An Authorization header value is masked whatever the token looks like."""
    opaque = key_body(40)
    assert redact(f"Authorization: Bearer {opaque}") == f"Authorization: Bearer …{opaque[-4:]}"
    assert PROJECT_KEY not in redact(f"authorization: bearer {PROJECT_KEY}")


def test_key_inside_a_url_query_is_masked() -> None:
    """A key in a query string is masked and the rest of the URL survives."""
    text = redact(f"GET https://example.com/v1/models?api_key={PROJECT_KEY}&limit=5")
    assert PROJECT_KEY not in text
    assert text.endswith(f"api_key={mask_secret(PROJECT_KEY)}&limit=5")


def test_key_inside_url_encoded_text_is_masked() -> None:
    """A key right after a percent-escape is still caught."""
    assert LEGACY_KEY not in redact(f"q=%3D{LEGACY_KEY}")


def test_key_inside_json_is_masked() -> None:
    """A key as a JSON string value is masked and the JSON stays valid."""
    text = redact(json.dumps({"api_key": SERVICE_ACCOUNT_KEY, "model": "gpt-4o"}))
    assert json.loads(text) == {"api_key": mask_secret(SERVICE_ACCOUNT_KEY), "model": "gpt-4o"}


def test_several_keys_in_one_text_are_all_masked() -> None:
    """Every key in a text is masked, not only the first."""
    text = redact(" ".join(ALL_KEYS))
    assert not any(key in text for key in ALL_KEYS)


def test_registered_secret_of_any_shape_is_masked() -> None:
    """A key for a compatible server, not shaped like sk-…, is masked once registered."""
    local_key = "llama-local-7f3a9c2e4b1d8a6f0c5e9b2d"
    assert redact(f"key={local_key}") == f"key={local_key}"
    assert redact(f"key={local_key}", [local_key]) == f"key={mask_secret(local_key)}"


def test_short_registered_secret_is_ignored() -> None:
    """Too-short 'secrets' (Ollama's placeholder key) do not mangle ordinary text."""
    assert len("ollama") < MIN_SECRET_LENGTH
    assert redact("pulled with ollama", ["ollama"]) == "pulled with ollama"


@pytest.mark.parametrize(
    "text",
    [
        "task-list",
        "sk-",
        "the sk- prefix",
        "risk-free",
        "chatdesk-settings-dialog-widget-test-suite",
        "https://api.openai.com/v1/chat/completions",
        "Bearer authentication failed",
        "desk-123456789012345678901234",
        "model gpt-4o-mini, 1234 tokens, $0.0012",
    ],
)
def test_normal_text_is_left_alone(text: str) -> None:
    """Text that merely contains `sk-` or `Bearer` is not mangled."""
    assert redact(text) == text


def test_masked_output_is_stable() -> None:
    """Redacting twice changes nothing more: masks are not matched again."""
    once = redact(f"Bearer {PROJECT_KEY} and {LEGACY_KEY}")
    assert redact(once) == once


def test_registry_masks_what_was_added_and_stops_after_discard() -> None:
    """The registry redacts its current secrets only."""
    registry = SecretRegistry()
    secret = "local-" + key_body(24)
    registry.add(secret)
    assert secret not in registry.redact(f"x {secret} y")
    registry.discard(secret)
    assert registry.redact(f"x {secret} y") == f"x {secret} y"


def test_registry_is_safe_to_use_from_many_threads() -> None:
    """Concurrent adds and redactions lose no secret and raise nothing."""
    registry = SecretRegistry()
    added = ["thread-secret-" + key_body(20) for _ in range(64)]
    start = threading.Barrier(8)

    def add_some(chunk: list[str]) -> None:
        start.wait()
        for secret in chunk:
            registry.add(secret)
            registry.redact(secret)

    threads = [threading.Thread(target=add_some, args=(added[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(registry) == len(added)
    assert not any(secret in registry.redact(" ".join(added)) for secret in added)


@pytest.mark.parametrize(
    "echo", [str.upper, str.title, str.swapcase], ids=["upper", "title", "swap"]
)
def test_a_registered_secret_echoed_in_another_case_is_masked(echo: Callable[[str], str]) -> None:
    """A server that upper- or title-cases the key it refused still has it masked."""
    secret = "local-server-secret-0d9f8e7c6b5a"
    text = redact(f"invalid key {echo(secret)}!", [secret])
    assert echo(secret) not in text and secret not in text.lower()
    assert text == f"invalid key …{echo(secret)[-4:]}!"


@pytest.mark.parametrize("echo", [str.upper, str.title], ids=["upper", "title"])
def test_a_key_shaped_string_in_another_case_is_masked(echo: Callable[[str], str]) -> None:
    """SK-PROJ-… and Sk-Proj-… are keys too, masked even when not registered."""
    text = redact(f"Incorrect API key provided: {echo(PROJECT_KEY)}.")
    assert echo(PROJECT_KEY) not in text
    assert text == f"Incorrect API key provided: {echo('sk-proj-')}…{echo(PROJECT_KEY)[-4:]}."


def test_uppercase_words_ending_in_sk_are_not_keys() -> None:
    """TASK-…, DESK-… and ASK-… identifiers are left alone."""
    text = "TASK-2026-0000000000000000000 DESK-AAAAAAAAAAAAAAAAAAAAAAAA ASK-" + "b" * 30
    assert redact(text) == text


def test_the_server_echoing_the_key_upper_cased_is_masked_in_failures() -> None:
    """FailureContext.secrets masks the key sent in any letter case in the failure's detail."""
    key = "gateway-token-9f8e7d6c5b4a"

    class Refused(Exception):
        def __init__(self) -> None:
            super().__init__("401")
            self.status_code = 401
            self.body = {"error": {"message": f"Token {key.upper()} is not valid"}}

    failure = classify(Refused(), FailureContext(secrets=(key,)))
    assert key.upper() not in failure.detail and key not in failure.detail
    assert key.upper() not in str(failure)


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass-word-1@llm.example.com/v1",
        "https://sk-only-a-user@llm.example.com/v1",
        "HTTPS://:secret-password@llm.example.com:8443/v1",
    ],
)
def test_userinfo_of_a_url_is_masked(url: str) -> None:
    """The user name and password of a URL are masked wherever the URL appears."""
    text = redact(f"could not connect to {url}: refused")
    scheme, _, rest = url.partition("://")
    assert text == f"could not connect to {scheme}://…@{rest.partition('@')[2]}: refused"


def test_without_userinfo_masks_only_the_credentials() -> None:
    """For showing an address: credentials go, a key-like host name stays."""
    host = "sk-prod-inference-gateway-eu-west-1.example.com"
    assert without_userinfo(f"http://u:p@{host}/v1") == f"http://…@{host}/v1"
    assert without_userinfo(f"http://{host}/v1") == f"http://{host}/v1"


def test_connection_failures_never_show_the_base_urls_credentials() -> None:
    """A failure naming the server shows its address without user name and password."""
    failure = classify(
        ConnectionRefusedError("refused"),
        FailureContext(base_url="http://alice:hunter2-pass@localhost:9/v1"),
    )
    assert "hunter2" not in str(failure) and "alice" not in str(failure)
    assert "http://…@localhost:9/v1" in failure.remedy
