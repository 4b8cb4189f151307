"""Messages and their images as rows of the history's tables, and those rows as records.

The queries reading a conversation live beside the code unpacking their rows: the order of
a SELECT's columns is the order `_message` takes them in.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any, NamedTuple

from app.core.messages import Detail, ImagePart, Role
from app.core.store.image_files import ImageFiles
from app.core.store.params_json import params_from_json
from app.core.store.provenance_json import provenance_from
from app.core.store.records import MessageState, StoredConversation, StoredMessage
from app.core.usage import Usage


class ConversationRows(NamedTuple):
    """One conversation as read from the database, before any image file is read."""

    head: Any
    messages: list[Any]
    images: list[Any]


def select_conversation(
    connection: sqlite3.Connection, conversation_id: int
) -> ConversationRows | None:
    """The rows of a conversation that is not deleted, or None."""
    head = connection.execute(
        "SELECT title, model, system_prompt, params, created_at, updated_at, pinned"
        " FROM conversations WHERE id = ? AND deleted_at IS NULL",
        (conversation_id,),
    ).fetchone()
    if head is None:
        return None
    rows = connection.execute(
        "SELECT id, position, role, content, state, note, model, finish_reason, choices,"
        " logprobs, usage, created_at FROM messages WHERE conversation_id = ?"
        " ORDER BY position",
        (conversation_id,),
    ).fetchall()
    image_rows = connection.execute(
        "SELECT i.message_id, i.sha256, i.mime, i.url, i.detail, i.width, i.height,"
        " i.source FROM message_images i JOIN messages m ON m.id = i.message_id"
        " WHERE m.conversation_id = ? ORDER BY i.message_id, i.position",
        (conversation_id,),
    ).fetchall()
    return ConversationRows(head, rows, image_rows)


def conversation_from(
    conversation_id: int, rows: ConversationRows, files: ImageFiles
) -> StoredConversation:
    """The conversation in `rows`, its stored images read from `files`."""
    images: dict[int, list[ImagePart]] = {}
    for message_id, sha256, mime, url, detail, width, height, source in rows.images:
        if sha256 is not None:
            url = files.data_url(sha256, mime)
            if url is None:
                continue  # the file was removed by hand; the message still opens
        images.setdefault(message_id, []).append(
            ImagePart(url, Detail(detail), width, height, source)
        )
    title, model, system_prompt, params, created_at, updated_at, pinned = rows.head
    return StoredConversation(
        id=conversation_id,
        title=title,
        model=model,
        system_prompt=system_prompt,
        params=params_from_json(params),
        created_at=created_at,
        updated_at=updated_at,
        pinned=bool(pinned),
        messages=tuple(_message(row, tuple(images.get(row[0], ()))) for row in rows.messages),
    )


def image_row(files: ImageFiles, image: ImagePart) -> tuple[object, ...]:
    """The `message_images` columns after the message and position; stores a local image."""
    if image.is_remote:
        sha256, mime, url = None, "", image.url
    else:
        sha256, mime = files.store_data_url(image.url)
        url = ""
    return (sha256, mime, url, image.detail.value, image.width, image.height, image.source)


def choices_json(choices: Sequence[str]) -> str | None:
    return json.dumps(list(choices)) if len(choices) > 1 else None


def usage_dict(usage: Usage) -> dict[str, object]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_tokens": usage.cached_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "estimated": usage.estimated,
    }


def _usage_from(text: str | None) -> Usage | None:
    if not text:
        return None
    try:
        raw = json.loads(text)
        if "prompt_tokens" not in raw:
            return None  # provenance only: the reply stopped before its usage arrived
        return Usage(
            prompt_tokens=int(raw.get("prompt_tokens", 0)),
            completion_tokens=int(raw.get("completion_tokens", 0)),
            cached_tokens=int(raw.get("cached_tokens", 0)),
            reasoning_tokens=int(raw.get("reasoning_tokens", 0)),
            estimated=bool(raw.get("estimated", False)),
        )
    except (ValueError, TypeError, AttributeError):
        return None


def _message(row: Any, images: tuple[ImagePart, ...]) -> StoredMessage:
    (
        message_id,
        position,
        role,
        content,
        state,
        note,
        model,
        finish,
        choices,
        logprobs,
        usage,
        created_at,
    ) = row
    usage_text = usage if isinstance(usage, str) else None
    fingerprint, seed = provenance_from(usage_text)
    return StoredMessage(
        id=int(message_id),
        position=int(position),
        role=Role(str(role)),
        content=str(content),
        state=MessageState(str(state)),
        images=images,
        note=str(note),
        model=str(model),
        finish_reason=str(finish),
        choices=tuple(json.loads(str(choices))) if choices else (),
        logprobs=json.loads(str(logprobs)) if logprobs else None,
        usage=_usage_from(usage_text),
        created_at=float(created_at),
        system_fingerprint=fingerprint,
        seed=seed,
    )
