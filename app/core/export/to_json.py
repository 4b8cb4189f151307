"""A conversation as JSON: everything the history keeps, to re-import with `from_json`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.catalog import lookup
from app.core.export.files import source_name, write_export_file
from app.core.store.params_json import params_to_json
from app.core.store.records import StoredConversation, StoredMessage
from app.core.usage import cost

FORMAT_NAME = "chatdesk-conversation"
FORMAT_VERSION = 1


def conversation_json(conversation: StoredConversation) -> str:
    """The whole conversation as JSON text, readable again by `read_conversation_json`.

    Database ids are left out (they mean nothing elsewhere), and so is the folder an image was
    attached from: only its file name is kept, so a shared export does not reveal local paths.
    """
    document: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "title": conversation.title,
        "model": conversation.model,
        "system_prompt": conversation.system_prompt,
        "params": json.loads(params_to_json(conversation.params)),
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
        "pinned": conversation.pinned,
        "messages": [_message_json(m, conversation.model) for m in conversation.messages],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _message_json(message: StoredMessage, conversation_model: str) -> dict[str, Any]:
    usage: dict[str, Any] | None = None
    if message.usage is not None:
        price = cost(message.usage, lookup(message.model or conversation_model))
        usage = {
            "prompt_tokens": message.usage.prompt_tokens,
            "completion_tokens": message.usage.completion_tokens,
            "cached_tokens": message.usage.cached_tokens,
            "reasoning_tokens": message.usage.reasoning_tokens,
            "estimated": message.usage.estimated,
            # Informative only (prices change); not read back.
            "cost_usd": None if price is None else str(price.total),
        }
    return {
        "role": message.role.value,
        "content": message.content,
        "state": message.state.value,
        "note": message.note,
        "model": message.model,
        "finish_reason": message.finish_reason,
        "system_fingerprint": message.system_fingerprint,
        "seed": message.seed,
        "choices": list(message.choices),
        "logprobs": message.logprobs,
        "usage": usage,
        "created_at": _iso(message.created_at),
        "images": [
            {
                "url": image.url,
                "detail": image.detail.value,
                "width": image.width,
                "height": image.height,
                "source": source_name(image.source),
            }
            for image in message.images
        ],
    }


def write_json_export(conversation: StoredConversation, path: Path) -> None:
    """Write the conversation to `path` as JSON."""
    write_export_file(path, conversation_json(conversation).encode("utf-8"))


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="microseconds")
