"""A conversation as Markdown, to read and share, with its images as files beside it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote, urlsplit

from app.core import endings
from app.core.catalog import lookup
from app.core.export.files import export_file_name, image_folder, source_name, write_export_file
from app.core.messages import ImagePart, Role
from app.core.params import ChatParams
from app.core.store.image_files import split_data_url
from app.core.store.params_json import params_to_json
from app.core.store.records import MessageState, StoredConversation, StoredMessage
from app.core.usage import Usage, cost, format_usd

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}
_ROLE_HEADINGS = {Role.USER: "You", Role.ASSISTANT: "Assistant", Role.SYSTEM: "System"}
_STATE_LABELS = {
    MessageState.STREAMING: "Incomplete",
    MessageState.INTERRUPTED: "Interrupted",
    MessageState.STOPPED: "Stopped",
    MessageState.FAILED: "Failed",
}


@dataclass(frozen=True)
class MarkdownExport:
    """The Markdown text, and the image files it links to by name inside its image folder."""

    text: str
    images: dict[str, bytes]


def conversation_markdown(conversation: StoredConversation, image_dir_name: str) -> MarkdownExport:
    """The conversation as Markdown; local images linked as `image_dir_name/<file>`."""
    images = _ImageFiles(image_dir_name)
    lines = [f"# {_one_line(conversation.title) or 'Conversation'}", ""]
    lines += _summary(conversation)
    if conversation.system_prompt:
        lines += ["", "## System prompt", "", conversation.system_prompt.rstrip()]
    for message in conversation.messages:
        lines += ["", *_message_markdown(message, conversation.model, images)]
    return MarkdownExport("\n".join(lines).rstrip() + "\n", images.files)


def _summary(conversation: StoredConversation) -> list[str]:
    lines = [f"- Model: `{conversation.model}`"]
    params = _params_text(conversation.params)
    lines.append(f"- Parameters: {params}" if params else "- Parameters: the server's defaults")
    started = _readable_time(conversation.created_at)
    lines.append(f"- Started: {started}, last active: {_readable_time(conversation.updated_at)}")
    replies = [(m, m.usage) for m in conversation.messages if m.usage is not None]
    if replies:
        total = sum((usage for _, usage in replies), Usage())
        prices = [cost(usage, lookup(m.model or conversation.model)) for m, usage in replies]
        money = (
            format_usd(sum(p.total for p in prices if p is not None))
            if all(p is not None for p in prices)
            else "cost unknown"
        )
        estimated = " (estimated)" if total.estimated else ""
        lines.append(
            f"- Usage: {total.prompt_tokens:,} in · {total.completion_tokens:,} out · "
            f"{money}{estimated}"
        )
    return lines


def _params_text(params: ChatParams) -> str:
    values: dict[str, Any] = json.loads(params_to_json(params))
    return ", ".join(f"`{name}={json.dumps(value)}`" for name, value in values.items())


def _message_markdown(
    message: StoredMessage, conversation_model: str, images: _ImageFiles
) -> list[str]:
    lines = [f"## {_ROLE_HEADINGS.get(message.role, message.role.value.title())}", ""]
    if message.role is Role.ASSISTANT and (message.model or message.usage is not None):
        lines += [f"*{_reply_facts(message, conversation_model)}*", ""]
    if len(message.choices) > 1:
        for index, text in enumerate(message.choices, 1):
            continued = " (continued)" if text == message.content else ""
            lines += [f"### Choice {index} of {len(message.choices)}{continued}", "", text, ""]
    elif message.content:
        lines += [message.content.rstrip(), ""]
    for image in message.images:
        lines += [images.link(image), ""]
    state = _state_text(message)
    if state:
        lines += ["> " + line if line else ">" for line in state.splitlines()]
    return lines[:-1] if lines[-1] == "" else lines


def _reply_facts(message: StoredMessage, conversation_model: str) -> str:
    model_id = message.model or conversation_model
    facts = [model_id]
    usage = message.usage
    if usage is not None:
        reasoning = f" ({usage.reasoning_tokens:,} reasoning)" if usage.reasoning_tokens else ""
        cached = f" ({usage.cached_tokens:,} cached)" if usage.cached_tokens else ""
        price = cost(usage, lookup(model_id))
        facts.append(f"{usage.prompt_tokens:,} in{cached}")
        facts.append(f"{usage.completion_tokens:,} out{reasoning}")
        money = format_usd(price.total) if price is not None else "cost unknown"
        facts.append(f"{money} (estimated)" if usage.estimated else money)
    return " · ".join(facts)


def _state_text(message: StoredMessage) -> str:
    """How the message ended, when that is worth a note: stopped, failed, cut short…"""
    note = message.note.strip()
    label = _STATE_LABELS.get(message.state)
    if label is None:
        return note or endings.finished(message.finish_reason)
    if not note:
        return f"**{label}.**"
    if note.lower().startswith(label.lower()):
        return f"**{note}**"
    return f"**{label}.** {note}"


class _ImageFiles:
    """The image files of one Markdown export, each picture once however often it was sent."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.files: dict[str, bytes] = {}
        self._by_hash: dict[str, str] = {}

    def link(self, image: ImagePart) -> str:
        alt = _alt_text(image)
        if image.is_remote:
            return f"![{alt}]({quote(image.url, safe=_URL_SAFE)})"
        try:
            mime, data = split_data_url(image.url)
        except ValueError:
            return f"*{alt}: the image data is damaged and was not exported.*"
        digest = hashlib.sha256(data).hexdigest()
        name = self._by_hash.get(digest)
        if name is None:
            stem = PurePath(image.source).stem if image.source else ""
            stem = export_file_name(stem, "x")[:-2] if stem else "image"
            name = f"{len(self.files) + 1:02d} {stem}{_EXTENSIONS.get(mime, '.bin')}"
            self.files[name] = data
            self._by_hash[digest] = name
        return f"![{alt}]({quote(f'{self.folder}/{name}')})"


# Left as they are in remote image URLs: everything a URL may contain except what ends a link.
_URL_SAFE = ":/?#[]@!$&'*+,;=%~"


def _alt_text(image: ImagePart) -> str:
    remote = image.is_remote
    name = PurePath(urlsplit(image.url).path).name if remote else source_name(image.source)
    name = name or "image"
    return re.sub(r"([\[\]\\])", r"\\\1", name)


def write_markdown_export(conversation: StoredConversation, path: Path) -> list[Path]:
    """Write the conversation to `path` and its images to `image_folder(path)`; every file."""
    folder = image_folder(path)
    export = conversation_markdown(conversation, folder.name)
    written = [folder / name for name in export.images]
    # Images first: the Markdown never links to a picture that is not there yet.
    for target, data in zip(written, export.images.values(), strict=True):
        write_export_file(target, data)
    write_export_file(path, export.text.encode("utf-8"))
    return [path, *written]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _readable_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
