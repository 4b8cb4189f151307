"""Helpers shared by the simulator tests: message builders, SSE parsing, schema checks."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import httpx2

from app.simulator.schema import schema_validator

API_KEY = "sk-test-0123456789abcdefghij"
# A hang guard only: every test finishes far sooner, and none asserts on elapsed time.
HANG_GUARD_SECONDS = 30.0


def user(text: str, *images: str, detail: str = "auto") -> dict[str, Any]:
    """A wire-format user message, with image parts when URLs are given."""
    if not images:
        return {"role": "user", "content": text}
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": u, "detail": detail}} for u in images]
    return {"role": "user", "content": parts}


def png_data_url(width: int = 64, height: int = 48) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def sse_events(response: httpx2.Response) -> list[str]:
    """The `data:` payloads of a streamed response, in order."""
    return [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


def stream_chunks(http: httpx2.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    """POST a streamed request and return every chunk, checking the stream ends with [DONE]."""
    with http.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as response:
        assert response.status_code == 200
        events = sse_events(response)
    assert events[-1] == "[DONE]"
    return [json.loads(event) for event in events[:-1]]


def validate(schema_name: str, instance: object) -> None:
    """Assert `instance` matches the official schema `components/schemas/<schema_name>`."""
    errors = sorted(schema_validator(schema_name).iter_errors(instance), key=str)
    assert not errors, "\n".join(e.message for e in errors[:5])
