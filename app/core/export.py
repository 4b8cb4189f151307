"""Conversations exported as Markdown (to read and share) and as JSON (to keep and re-import).

Both are built from a `StoredConversation` alone, with no Qt and no database, so they are pure
and run in a worker thread. Markdown links its images as files in a folder beside it (remote
images by their URL); JSON carries everything the history keeps, images as `data:` URLs, and
`read_conversation_json` reads it back. Files are written completely under a temporary name
before being renamed into place, so a failed export never leaves half a file under a real name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from app.core import endings
from app.core.catalog import lookup
from app.core.messages import Detail, ImagePart, Role
from app.core.params import ChatParams
from app.core.problems import UserFacingError
from app.core.store.image_files import split_data_url
from app.core.store.params_json import params_from_json, params_to_json
from app.core.store.records import MessageState, StoredConversation, StoredMessage
from app.core.usage import Usage, cost, format_usd

FORMAT_NAME = "chatdesk-conversation"
FORMAT_VERSION = 1

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
# Characters Windows, macOS or Linux refuse in a file name, and control characters.
_UNSAFE_IN_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')
_RESERVED_NAMES = {"con", "prn", "aux", "nul"} | {
    f"{p}{n}" for p in ("com", "lpt") for n in "123456789"
}
_NAME_LENGTH = 80


class NotAnExport(UserFacingError):
    """A file that is not a conversation exported by Chatdesk (or is damaged)."""


class ExportFailed(UserFacingError):
    """An export that could not be written."""


# --- File names ---------------------------------------------------------------------------------


def export_file_name(title: str, extension: str) -> str:
    """A file name for `title` that every desktop system accepts, e.g. `Trip plans.md`."""
    name = _UNSAFE_IN_NAME.sub(" ", title)
    name = " ".join(name.split())[:_NAME_LENGTH].strip(" .")
    if not name or name.lower() in _RESERVED_NAMES:
        name = "Conversation"
    return f"{name}.{extension.lstrip('.')}"


def image_folder(markdown_path: Path) -> Path:
    """Where a Markdown export's images go: a folder beside it, named after it."""
    return markdown_path.with_name(f"{markdown_path.stem} images")


# --- Markdown -----------------------------------------------------------------------------------


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
    if image.is_remote:
        name = PurePath(urlsplit(image.url).path).name
    else:
        name = _source_name(image.source)
    name = name or "image"
    return re.sub(r"([\[\]\\])", r"\\\1", name)


# --- JSON ---------------------------------------------------------------------------------------


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
                "source": _source_name(image.source),
            }
            for image in message.images
        ],
    }


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


# --- Writing ------------------------------------------------------------------------------------


def write_markdown_export(conversation: StoredConversation, path: Path) -> list[Path]:
    """Write the conversation to `path` and its images to `image_folder(path)`; every file."""
    folder = image_folder(path)
    export = conversation_markdown(conversation, folder.name)
    written = [folder / name for name in export.images]
    # Images first: the Markdown never links to a picture that is not there yet.
    for target, data in zip(written, export.images.values(), strict=True):
        _write(target, data)
    _write(path, export.text.encode("utf-8"))
    return [path, *written]


def write_json_export(conversation: StoredConversation, path: Path) -> None:
    """Write the conversation to `path` as JSON."""
    _write(path, conversation_json(conversation).encode("utf-8"))


def _write(path: Path, data: bytes) -> None:
    try:
        write_atomically(path, data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ExportFailed(
            f"Could not write {path.name}",
            f"{reason} ({path.parent}). Choose another folder, or free some space.",
        ) from exc


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


# --- Small helpers ------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _source_name(source: str) -> str:
    """A file's name without its folder; a URL or a bare name as it is."""
    if source.startswith(("http://", "https://", "data:")):
        return source if not source.startswith("data:") else ""
    return PurePath(source.replace("\\", "/")).name


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="microseconds")


def _readable_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
