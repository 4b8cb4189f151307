"""GET /v1/models and /v1/models/{id} in the API's list and object shapes."""

from __future__ import annotations

import httpx2
import openai
import pytest
from openai import OpenAI

from app.core.catalog import CATALOG
from app.simulator import SimulatorServer
from tests.simulator.helpers import API_KEY


def test_list_has_the_catalog_and_their_snapshots(client: OpenAI) -> None:
    """The list holds every catalog model plus dated snapshots, as model objects."""
    models = client.models.list().data
    ids = [model.id for model in models]
    assert set(CATALOG) <= set(ids)
    assert "gpt-4o-2024-08-06" in ids
    assert all(model.object == "model" and model.owned_by == "system" for model in models)
    assert all(model.created > 1_600_000_000 for model in models)


def test_list_wire_shape(http: httpx2.Client) -> None:
    """The raw body is {"object": "list", "data": [{id, object, created, owned_by}, …]}."""
    body = http.get("/v1/models").json()
    assert body["object"] == "list"
    assert set(body["data"][0]) == {"id", "object", "created", "owned_by"}


def test_extra_models_are_listed() -> None:
    """extra_models appear in the list after the catalog's models."""
    with (
        SimulatorServer(extra_models=["llama3:8b", "qwen2.5"]) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        ids = [model.id for model in sdk.models.list().data]
        assert ids[-2:] == ["llama3:8b", "qwen2.5"]
        assert sdk.models.retrieve("llama3:8b").owned_by == "user"


def test_retrieve_one_model(client: OpenAI) -> None:
    """GET /v1/models/{id} returns that model."""
    model = client.models.retrieve("o3-mini")
    assert (model.id, model.object) == ("o3-mini", "model")


def test_retrieve_unknown_model_is_not_found(client: OpenAI) -> None:
    """An unknown model id is a 404 model_not_found."""
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-nope")
    assert caught.value.code == "model_not_found"
