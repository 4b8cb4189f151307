"""What a request's messages say: the prompt, the system prompt, and the attached images."""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.simulator.errors import ApiError

# The formats the API accepts for image input (Pillow's names).
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")


@dataclass(frozen=True)
class ImageInfo:
    """One attached image. Remote (http) images are described, never fetched."""

    url: str
    detail: str
    format: str | None = None
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None

    @property
    def remote(self) -> bool:
        return self.format is None


@dataclass(frozen=True)
class PromptView:
    """The parts of a conversation the simulated answer talks about."""

    prompt: str
    system: str | None
    images: tuple[ImageInfo, ...]
    turns: int


def message_text(message: dict[str, Any]) -> str:
    """The text of a message: its string content, or its text parts joined."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        ]
        return "\n".join(part for part in parts if isinstance(part, str))
    return ""


def image_parts(messages: Sequence[dict[str, Any]]) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(message index, part index, `image_url` object) of every image in the conversation."""
    for m_index, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for p_index, part in enumerate(content):
            if isinstance(part, dict) and part.get("type") == "image_url":
                yield m_index, p_index, part["image_url"]


def read_prompt(messages: Sequence[dict[str, Any]]) -> PromptView:
    """Summarise the conversation; raises ApiError for an image the API would refuse."""
    system = next(
        (message_text(m) for m in messages if m.get("role") in ("system", "developer")), None
    )
    last_index = next(
        (i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "user"), -1
    )
    images: list[ImageInfo] = []
    for m_index, p_index, image in image_parts(messages):
        info = describe_image(image, f"messages[{m_index}].content[{p_index}].image_url.url")
        if m_index == last_index:
            images.append(info)
    prompt = message_text(messages[last_index]) if last_index >= 0 else ""
    return PromptView(prompt=prompt, system=system, images=tuple(images), turns=len(messages))


def describe_image(image: dict[str, Any], param: str) -> ImageInfo:
    url = str(image.get("url", ""))
    detail = str(image.get("detail", "auto"))
    if url.startswith(("http://", "https://")):
        return ImageInfo(url=url, detail=detail)
    if not url.startswith("data:"):
        raise ApiError(
            400,
            f"Invalid '{param}'. Expected a valid URL, but got a value with an invalid format.",
            param=param,
            code="invalid_value",
        )
    header, _, payload = url.partition(",")
    if not header.endswith(";base64") or not header[5:].startswith("image/"):
        raise ApiError(
            400,
            f"Invalid '{param}'. Expected a base64-encoded data URL with an image MIME type "
            "(e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got a value with an "
            "invalid format.",
            param=param,
            code="invalid_image_url",
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _unsupported_image() from None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as picture:
            kind = picture.format
            width, height = picture.size
    except (UnidentifiedImageError, OSError, ValueError):
        raise _unsupported_image() from None
    if kind not in ACCEPTED_FORMATS:
        raise _unsupported_image()
    return ImageInfo(
        url=url, detail=detail, format=kind, width=width, height=height, size_bytes=len(data)
    )


def _unsupported_image() -> ApiError:
    return ApiError(
        400,
        "You uploaded an unsupported image. Please make sure your image has of one the following "
        "formats: ['png', 'jpeg', 'gif', 'webp'].",
        code="invalid_image_format",
    )
