"""A conversation with everything an export must carry, built in a real history."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image

from app.core.messages import ChatMessage, Detail, ImagePart
from app.core.params import ChatParams
from app.core.store.history import History
from app.core.store.records import MessageState, StoredConversation
from app.core.usage import Usage

REMOTE_IMAGE = "https://example.com/photos/harbour.jpg"
LOGPROBS = {"content": [{"token": "A", "logprob": -0.25, "bytes": [65], "top_logprobs": []}]}


class SteppingClock:
    """Unix time moving a quarter second per call: exact in floats and in ISO 8601."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def png_bytes(colour: tuple[int, int, int], size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def png_part(
    colour: tuple[int, int, int], source: str = "/home/alice/Pictures/red square.png"
) -> ImagePart:
    """A prepared PNG as the composer attaches it, from a file in the user's home."""
    data = base64.b64encode(png_bytes(colour)).decode("ascii")
    return ImagePart(f"data:image/png;base64,{data}", Detail.LOW, 8, 6, source)


def open_history(directory: Path) -> History:
    directory.mkdir(parents=True, exist_ok=True)
    return History.open(directory / "chatdesk.db", clock=SteppingClock())


def rich_conversation(history: History) -> StoredConversation:
    """Images (local and remote), parameters, usage, n > 1, logprobs, a stopped and a failed
    reply: every part of a conversation an export has to keep."""
    params = ChatParams(temperature=0.4, max_output_tokens=300, stop=("END",), logprobs=True)
    conversation = history.create_conversation(
        model="gpt-4o-mini", system_prompt="You are terse.", params=params
    )
    history.add_message(
        conversation,
        ChatMessage.user(
            "What is in these pictures?",
            (png_part((200, 30, 30)), ImagePart(REMOTE_IMAGE, Detail.HIGH, source=REMOTE_IMAGE)),
        ),
    )
    reply = history.begin_reply(conversation, model="gpt-4o-mini")
    history.finish_reply(
        reply,
        "A red square and a harbour.",
        model="gpt-4o-mini-2024-07-18",
        finish_reason="stop",
        choices=("A red square and a harbour.", "A harbour and a red square."),
        logprobs=LOGPROBS,
        usage=Usage(prompt_tokens=1_200, completion_tokens=40, cached_tokens=1_024),
        system_fingerprint="fp_44709d6fcb",
        seed=42,
    )
    history.add_message(
        conversation, ChatMessage.user("Same picture again?", (png_part((200, 30, 30)),))
    )
    reply = history.begin_reply(conversation, model="gpt-4o-mini")
    history.finish_reply(
        reply,
        "Yes, the same red",
        state=MessageState.STOPPED,
        note="Stopped.",
        usage=Usage(prompt_tokens=900, completion_tokens=5, estimated=True),
    )
    history.add_message(conversation, ChatMessage.user("And now?"))
    reply = history.begin_reply(conversation, model="gpt-4o-mini")
    history.finish_reply(
        reply,
        "It is",
        state=MessageState.FAILED,
        note="Cut off: The connection to the server was lost.",
    )
    return history.load(conversation)
