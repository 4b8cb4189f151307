"""What the history holds, as plain values: conversations, their messages and images."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.core.messages import ChatMessage, ImagePart, Role
from app.core.params import ChatParams
from app.core.usage import Usage


class MessageState(StrEnum):
    """How a message ended; everything but COMPLETE is shown with a note."""

    COMPLETE = "complete"
    # Being written as it streams; found at start-up, it means the app died mid-answer.
    STREAMING = "streaming"
    INTERRUPTED = "interrupted"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class ConversationSummary:
    """One sidebar row."""

    id: int
    title: str
    updated_at: float
    pinned: bool
    model: str


@dataclass(frozen=True)
class StoredMessage:
    """A message as kept: the text sent or received and what is known about how it ended."""

    id: int
    position: int
    role: Role
    content: str
    state: MessageState = MessageState.COMPLETE
    images: tuple[ImagePart, ...] = ()
    note: str = ""
    model: str = ""
    finish_reason: str = ""
    # Every choice's text when the request asked for n > 1; `content` is the one continued.
    choices: tuple[str, ...] = ()
    logprobs: object = None
    usage: Usage | None = None
    created_at: float = 0.0
    # What the server said its backend build was, and the seed the request sent.
    system_fingerprint: str | None = None
    seed: int | None = None

    def as_chat_message(self) -> ChatMessage:
        return ChatMessage(self.role, self.content, self.images)


@dataclass(frozen=True)
class StoredConversation:
    """A whole conversation with the settings it is continued with."""

    id: int
    title: str
    model: str
    system_prompt: str
    params: ChatParams
    created_at: float
    updated_at: float
    pinned: bool = False
    messages: tuple[StoredMessage, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SearchHit:
    """A message matching a search; `snippet` marks matches with `HIT_START`/`HIT_END`."""

    conversation_id: int
    conversation_title: str
    message_id: int
    position: int
    role: Role
    snippet: str
    updated_at: float


# Private-use characters: no message contains them, so the UI can turn them into highlighting
# after escaping the text around them.
HIT_START = "\ue000"
HIT_END = "\ue001"
