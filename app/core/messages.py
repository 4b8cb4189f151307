"""Chat messages and their image attachments, independent of how they are sent or stored."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class Detail(StrEnum):
    """How closely the model looks at an image (and how many tokens it costs)."""

    AUTO = "auto"
    LOW = "low"
    HIGH = "high"


@dataclass(frozen=True)
class ImagePart:
    """An image as sent: a base64 `data:` URL of prepared bytes, or an http(s) URL passed through.

    `width`/`height` are the dimensions actually sent (after downscaling); they are None for
    remote URLs, whose size the app does not know.
    """

    url: str
    detail: Detail = Detail.AUTO
    width: int | None = None
    height: int | None = None
    source: str = ""  # what the user attached (file path or URL), for display only

    @property
    def is_remote(self) -> bool:
        return not self.url.startswith("data:")


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation."""

    role: Role
    text: str
    images: tuple[ImagePart, ...] = ()
    name: str | None = None

    @classmethod
    def system(cls, text: str) -> ChatMessage:
        return cls(Role.SYSTEM, text)

    @classmethod
    def user(cls, text: str, images: tuple[ImagePart, ...] = ()) -> ChatMessage:
        return cls(Role.USER, text, images)

    @classmethod
    def assistant(cls, text: str) -> ChatMessage:
        return cls(Role.ASSISTANT, text)
