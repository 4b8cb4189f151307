"""A conversation's parameters as JSON text, tolerant of fields added or removed over time."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from app.core.params import ChatParams, ReasoningEffort

_FIELDS = {f.name for f in fields(ChatParams)}


def params_to_json(params: ChatParams) -> str:
    """Only what is set is written, so a changed default later applies to old conversations."""
    values: dict[str, Any] = {}
    for name in params.set_names():
        value = getattr(params, name)
        values[name] = list(value) if isinstance(value, tuple) else value
    return json.dumps(values, sort_keys=True)


def params_from_json(text: str) -> ChatParams:
    """The parameters in `text`; unknown or malformed values are dropped, never fatal."""
    try:
        raw = json.loads(text or "{}")
    except json.JSONDecodeError:
        return ChatParams()
    if not isinstance(raw, dict):
        return ChatParams()
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in _FIELDS:
            continue
        if name == "stop" and isinstance(value, list):
            value = tuple(str(item) for item in value)
        elif name == "reasoning_effort":
            try:
                value = ReasoningEffort(value)
            except ValueError:
                continue
        values[name] = value
    try:
        return ChatParams(**values)
    except TypeError:
        return ChatParams()
