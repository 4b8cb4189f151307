"""One conversation's state in the window, whether it is on screen or streaming behind it.

The chat controller shows one session at a time. Opening another conversation, starting a new
chat or opening Compare does not stop a reply: its session goes on streaming in the background,
into its own messages and its own history row, and is shown live again when the user returns.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from app.core.as_code import SentRequest
from app.core.messages import ChatMessage, Role
from app.core.params import ChatParams
from app.core.reply import Reply
from app.core.reproduce import RerunSubject
from app.core.store.records import MessageState
from app.core.store.saved_conversation import ConversationSettings, SavedConversation
from app.ui.attachments.area import Attachment

# How many replies may stream at once, on screen and behind it.
MAX_STREAMING = 4


@dataclass(frozen=True)
class FailedTurn:
    """A turn that failed with its partial answer kept, for Retry to withdraw and ask again."""

    prompt: str
    start: int
    images: tuple[Attachment, ...] = ()


@dataclass
class ChatSession:
    """A conversation being continued: its messages, settings, history row and current turn.

    The system prompt is kept apart from `messages` so that it can change mid-chat.
    """

    model: str
    params: ChatParams
    system_prompt: str = ""
    saved: SavedConversation | None = None
    messages: list[ChatMessage] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    reply: Reply | None = None
    failed_turn: FailedTurn | None = None
    # How the last reply was stored, when it was cut off and can be continued.
    cut_off: tuple[MessageState, str] | None = None
    # What View as code shows: the body of this conversation's last request, as sent.
    last_request: SentRequest | None = None
    # The request behind the last reply, when it sent a seed: "Re-run with same seed".
    answered: RerunSubject | None = None
    # Images of the turn being sent (they go back with the draft if it is withdrawn).
    sending: tuple[Attachment, ...] = ()
    # The message being written, not sent yet: the composer shows and edits it, the
    # controller reads it from here, and a withdrawn turn's prompt comes back into it.
    draft: str = ""

    @property
    def conversation_id(self) -> int | None:
        return self.saved.conversation_id if self.saved is not None else None

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def with_system_prompt(self) -> list[ChatMessage]:
        head = [ChatMessage.system(self.system_prompt)] if self.system_prompt else []
        return head + self.messages

    def settings(self) -> ConversationSettings:
        return ConversationSettings(self.model, self.system_prompt, self.params)

    def last_exchange(self) -> tuple[int, ChatMessage] | None:
        """Where the last user message is in the conversation, and that message."""
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index].role is Role.USER:
                return index, self.messages[index]
        return None

    def forget_from(self, start: int) -> None:
        """Drop messages `start`… from the conversation and from the history."""
        del self.messages[start:]
        self.cut_off = None
        self.answered = None
        if self.saved is not None:
            self.saved.remove_from(start)

    def save_settings(self) -> None:
        if self.saved is not None:
            self.saved.update_settings(self.settings())
