"""Authentication: bearer keys, the API's 401 bodies, masking, and organization headers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import openai
import pytest
from openai import OpenAI

from app.simulator import SimulatorServer
from app.simulator.errors import mask_key
from tests.simulator.helpers import API_KEY, user, validate

SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"
HELLO = [user("hello")]


@pytest.fixture
def locked() -> Iterator[SimulatorServer]:
    with SimulatorServer(api_key=SECRET) as server:
        yield server


def test_the_right_key_is_accepted(locked: SimulatorServer) -> None:
    """With api_key set, requests bearing that key succeed."""
    with OpenAI(base_url=locked.base_url, api_key=SECRET, max_retries=0) as sdk:
        assert sdk.chat.completions.create(model="gpt-4o", messages=HELLO).choices


def test_a_wrong_key_gets_invalid_api_key_masked(locked: SimulatorServer) -> None:
    """Another key gets 401 invalid_api_key, echoing only the key's prefix and last 4 chars."""
    wrong = "sk-proj-ZYXWVUTSRQPONMLKJIHGFEDCBAwxyz"
    with (
        OpenAI(base_url=locked.base_url, api_key=wrong, max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        sdk.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert caught.value.code == "invalid_api_key"
    assert caught.value.type == "invalid_request_error"
    assert caught.value.body["message"] == (
        "Incorrect API key provided: sk-proj-****wxyz. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )
    assert wrong not in str(caught.value.body)


def test_missing_authorization_is_refused(locked: SimulatorServer) -> None:
    """No Authorization header gets a 401 explaining how to send the key."""
    response = httpx2.post(
        locked.base_url + "/chat/completions", json={"model": "gpt-4o", "messages": HELLO}
    )
    assert response.status_code == 401
    validate("ErrorResponse", response.json())
    assert response.json()["error"]["message"].startswith("You didn't provide an API key.")


def test_models_endpoint_needs_the_key_too(locked: SimulatorServer) -> None:
    """GET /v1/models is authenticated like chat completions."""
    with (
        OpenAI(base_url=locked.base_url, api_key="sk-wrong-000000000000000", max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError),
    ):
        sdk.models.list()


def test_any_bearer_key_works_without_api_key(client: OpenAI) -> None:
    """A server without api_key accepts whatever key the client sends."""
    assert client.chat.completions.create(model="gpt-4o", messages=HELLO).choices


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("sk-proj-abcdefghijklmnopqrstuvwxyz0123", "sk-proj-****0123"),
        ("sk-abcdefghijklmnop1234", "sk-****1234"),
        ("sk-short", "sk-****"),
        ("plain-token-value-9876", "****9876"),
        ("", "****"),
    ],
)
def test_mask_key_never_reveals_the_key(key: str, masked: str) -> None:
    """Masking keeps at most the sk- prefix and the last four characters, never a short key."""
    assert mask_key(key) == masked


def test_organization_and_project_headers_are_recorded(sim: SimulatorServer) -> None:
    """OpenAI-Organization / OpenAI-Project sent by the SDK are recorded and echoed."""
    with OpenAI(
        base_url=sim.base_url,
        api_key=API_KEY,
        organization="org-test123",
        project="proj_test456",
        max_retries=0,
    ) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(model="gpt-4o", messages=HELLO)
    (received,) = sim.requests
    assert received.organization == "org-test123"
    assert received.project == "proj_test456"
    assert received.headers["authorization"] == f"Bearer {API_KEY}"
    assert received.body["messages"] == HELLO
    assert raw.headers["openai-organization"] == "org-test123"
    assert raw.headers["openai-project"] == "proj_test456"
