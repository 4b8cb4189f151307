"""Validation against the official OpenAI request/response schema shipped in resources/."""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
import yaml

from app.core.resources import resource_path


@functools.cache
def _spec() -> dict[str, Any]:
    text = resource_path("openai-spec", "chat-completions.yaml").read_text(encoding="utf-8")
    spec: dict[str, Any] = yaml.safe_load(text)
    return spec


@functools.cache
def validator(schema_name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": _spec()["components"]}
    return jsonschema.Draft202012Validator(schema)


def schema_errors(
    body: dict[str, Any], schema_name: str = "CreateChatCompletionRequest"
) -> list[str]:
    """Every way `body` breaks the schema, as readable lines (empty when valid)."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator(schema_name).iter_errors(body)
    ]
