"""The on-disk model list cache and the live refresh that fills it."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from app.core.client import ChatClient, ConnectionConfig
from app.core.model_list_cache import (
    ModelListCache,
    chat_models,
    is_chat_model,
    refresh_model_list,
)
from app.simulator import SimulatorServer

BASE_URL = "http://127.0.0.1:8080/v1"


def test_saved_models_load_again_for_the_same_base_url(tmp_path: Path) -> None:
    """What was saved for a base URL comes back for it (trailing slash or not), sorted."""
    cache = ModelListCache(tmp_path / "models")
    assert cache.save(BASE_URL, ["qwen2.5", "llama3:8b"])
    assert cache.load(BASE_URL + "/") == ["llama3:8b", "qwen2.5"]


def test_each_base_url_has_its_own_list(tmp_path: Path) -> None:
    """Two servers' lists do not mix; an unknown server has nothing cached."""
    cache = ModelListCache(tmp_path)
    cache.save(BASE_URL, ["llama3:8b"])
    cache.save("https://api.openai.com/v1", ["gpt-4o"])
    assert cache.load(BASE_URL) == ["llama3:8b"]
    assert cache.load("https://api.openai.com/v1") == ["gpt-4o"]
    assert cache.load("http://localhost:11434/v1") is None


@pytest.mark.parametrize(
    "content",
    ["not json", "[1, 2]", '{"format": 1, "base_url": "x", "models": ["a"]}', "\udcff"],
)
def test_a_corrupt_file_reads_as_nothing_cached(tmp_path: Path, content: str) -> None:
    """Garbage, another shape or another URL's file in place gives None, not an exception."""
    cache = ModelListCache(tmp_path)
    path = cache.path_for(BASE_URL)
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    assert cache.load(BASE_URL) is None


def test_a_failed_write_is_reported_not_raised(tmp_path: Path) -> None:
    """A cache directory that cannot be created makes save() return False."""
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert not ModelListCache(blocker / "models").save(BASE_URL, ["gpt-4o"])


def test_the_file_holds_the_url_and_models_and_no_temporary_files_remain(tmp_path: Path) -> None:
    """The write is atomic: one JSON file with the URL, nothing else left in the directory."""
    cache = ModelListCache(tmp_path)
    cache.save(BASE_URL, ["gpt-4o"])
    (only,) = list(tmp_path.iterdir())
    data = json.loads(only.read_text(encoding="utf-8"))
    assert data["base_url"] == BASE_URL
    assert data["models"] == ["gpt-4o"]


def test_non_chat_models_are_left_out() -> None:
    """Embedding, speech, image and moderation models are not offered for chat."""
    listed = [
        "gpt-4o",
        "text-embedding-3-small",
        "whisper-1",
        "tts-1-hd",
        "dall-e-3",
        "omni-moderation-latest",
        "gpt-4o-realtime-preview",
        "gpt-4o-mini-transcribe",
        "llama3:8b",
        "gpt-4o",
        " ",
    ]
    assert chat_models(listed) == ["gpt-4o", "llama3:8b"]
    assert is_chat_model("o3-mini")


def test_refresh_lists_the_simulators_models_and_caches_them(tmp_path: Path) -> None:
    """A live refresh returns the server's models, extras included, and writes the cache."""
    cache = ModelListCache(tmp_path)

    async def scenario(server: SimulatorServer) -> list[str] | None:
        client = ChatClient(ConnectionConfig(api_key="sk-test", base_url=server.base_url))
        try:
            return await refresh_model_list(client.list_models, cache, server.base_url)
        finally:
            await client.aclose()

    with SimulatorServer(extra_models=["llama3:8b"]) as server:
        models = asyncio.run(scenario(server))
        assert models is not None
        assert {"gpt-4o", "o3-mini", "llama3:8b"} <= set(models)
        assert cache.load(server.base_url) == models


def test_a_failed_refresh_is_logged_and_keeps_the_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server refusing to list gives None and a log line; the old cached list stays."""
    cache = ModelListCache(tmp_path)

    async def scenario(server: SimulatorServer) -> list[str] | None:
        config = ConnectionConfig(api_key="sk-wrong", base_url=server.base_url, max_retries=0)
        client = ChatClient(config)
        try:
            return await refresh_model_list(client.list_models, cache, server.base_url)
        finally:
            await client.aclose()

    with SimulatorServer(api_key="sk-right") as server:
        cache.save(server.base_url, ["gpt-4o", "llama3:8b"])
        with caplog.at_level(logging.INFO, logger="app.core.model_list_cache"):
            assert asyncio.run(scenario(server)) is None
        assert cache.load(server.base_url) == ["gpt-4o", "llama3:8b"]
    assert "could not list the models" in caplog.text
