"""Reading back a conversation exported as JSON, saying exactly what is wrong with a bad file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from app.core.export.to_json import FORMAT_NAME, FORMAT_VERSION
from app.core.messages import Detail, ImagePart, Role
from app.core.problems import UserFacingError
from app.core.store.image_files import split_data_url
from app.core.store.params_json import params_from_json
from app.core.store.records import MessageState, StoredConversation, StoredMessage
from app.core.usage import Usage


class NotAnExport(UserFacingError):
    """A file that is not a conversation exported by Chatdesk (or is damaged)."""


def read_conversation_json(text: str) -> StoredConversation:
    """The conversation in an exported JSON file, not yet in any history (its ids are 0).

    Raises `NotAnExport`, saying what is wrong, for anything else.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotAnExport(
            "This file is not a Chatdesk conversation",
            f"It is not valid JSON (line {exc.lineno}, column {exc.colno}).",
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise NotAnExport(
            "This file is not a Chatdesk conversation",
            "Choose a file made with Conversation → Export as JSON.",
        )
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _damaged("version", "is missing or not a whole number")
    if version > FORMAT_VERSION:
        raise NotAnExport(
            "This conversation was exported by a newer Chatdesk",
            f"It is format version {version}; this Chatdesk reads up to {FORMAT_VERSION}. "
            "Update Chatdesk to open it.",
        )
    raw_messages = _field(document, "messages", list, "")
    messages = tuple(
        _read_message(_as(raw, dict, f"messages[{index}]"), index)
        for index, raw in enumerate(raw_messages)
    )
    params = _field(document, "params", dict, "", default={})
    return StoredConversation(
        id=0,
        title=_field(document, "title", str, ""),
        model=_field(document, "model", str, ""),
        system_prompt=_field(document, "system_prompt", str, "", default=""),
        params=params_from_json(json.dumps(params)),
        created_at=_read_time(document, "created_at", ""),
        updated_at=_read_time(document, "updated_at", ""),
        pinned=_field(document, "pinned", bool, "", default=False),
        messages=messages,
    )


def _read_message(raw: dict[str, Any], index: int) -> StoredMessage:
    where = f"messages[{index}]."
    role = _enum(Role, _field(raw, "role", str, where), where + "role")
    state = _enum(
        MessageState, _field(raw, "state", str, where, default="complete"), where + "state"
    )
    choices = _field(raw, "choices", list, where, default=[])
    if not all(isinstance(choice, str) for choice in choices):
        raise _damaged(where + "choices", "must be a list of texts")
    raw_usage = _field(raw, "usage", dict, where, default=None)
    raw_images = _field(raw, "images", list, where, default=[])
    return StoredMessage(
        id=0,
        position=index,
        role=role,
        content=_field(raw, "content", str, where),
        state=state,
        images=tuple(
            _read_image(_as(image, dict, f"{where}images[{i}]"), f"{where}images[{i}].")
            for i, image in enumerate(raw_images)
        ),
        note=_field(raw, "note", str, where, default=""),
        model=_field(raw, "model", str, where, default=""),
        finish_reason=_field(raw, "finish_reason", str, where, default=""),
        system_fingerprint=_field(raw, "system_fingerprint", str, where, default=None),
        seed=_field(raw, "seed", int, where, default=None),
        choices=tuple(choices),
        logprobs=raw.get("logprobs"),
        usage=None if raw_usage is None else _read_usage(raw_usage, where + "usage."),
        created_at=_read_time(raw, "created_at", where, default=0.0),
    )


def _read_usage(raw: dict[str, Any], where: str) -> Usage:
    return Usage(
        prompt_tokens=_count(raw, "prompt_tokens", where),
        completion_tokens=_count(raw, "completion_tokens", where),
        cached_tokens=_count(raw, "cached_tokens", where),
        reasoning_tokens=_count(raw, "reasoning_tokens", where),
        estimated=_field(raw, "estimated", bool, where, default=False),
    )


def _read_image(raw: dict[str, Any], where: str) -> ImagePart:
    url = _field(raw, "url", str, where)
    if not url.startswith(("data:", "http://", "https://")):
        raise _damaged(where + "url", "must be a data: or http(s) URL")
    if url.startswith("data:"):
        try:
            split_data_url(url)
        except ValueError:
            raise _damaged(where + "url", "holds damaged image data") from None
    return ImagePart(
        url=url,
        detail=_enum(Detail, _field(raw, "detail", str, where, default="auto"), where + "detail"),
        width=_size(raw, "width", where),
        height=_size(raw, "height", where),
        source=_field(raw, "source", str, where, default=""),
    )


def _count(raw: Mapping[str, Any], key: str, where: str) -> int:
    value: int = _field(raw, key, int, where, default=0)
    if value < 0:
        raise _damaged(where + key, "cannot be negative")
    return value


def _size(raw: Mapping[str, Any], key: str, where: str) -> int | None:
    value: int | None = _field(raw, key, int, where, default=None)
    if value is not None and value < 1:
        raise _damaged(where + key, "must be at least 1")
    return value


_MISSING = object()
_E = TypeVar("_E", Role, MessageState, Detail)


def _field(
    raw: Mapping[str, Any], key: str, kind: type[Any], where: str, default: Any = _MISSING
) -> Any:
    """`raw[key]` checked to be a `kind`; `default` when absent (or null), if one is given."""
    value = raw.get(key)
    if value is None and default is not _MISSING:
        return default
    if value is None:
        raise _damaged(where + key, "is missing")
    return _as(value, kind, where + key)


def _as(value: Any, kind: type[Any], where: str) -> Any:
    # bool is an int subclass: `true` is not a token count.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _damaged(where, f"should be {_KIND_NAMES.get(kind, kind.__name__)}")
    return value


_KIND_NAMES: dict[type[Any], str] = {
    str: "text",
    int: "a whole number",
    bool: "true or false",
    list: "a list",
    dict: "an object",
}


def _enum(kind: type[_E], value: str, where: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise _damaged(where, f"is {value!r}, not one of {allowed}") from None


def _read_time(raw: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> float:
    text = _field(raw, key, str, where, default=default)
    if isinstance(text, float):
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _damaged(where + key, f"{text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _damaged(where: str, problem: str) -> NotAnExport:
    return NotAnExport(
        "This conversation file is damaged",
        f"{where} {problem}. Export the conversation again, or fix the file by hand.",
    )
