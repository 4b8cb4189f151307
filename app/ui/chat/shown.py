"""A stored message as the chat view is given it to show (see `ChatView.show_messages`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.ui.chat.transcript import Act, Message, Speaker, Transcript


@dataclass(frozen=True)
class ShownMessage:
    """A finished message to show as it was stored: its text per choice and any note."""

    speaker: Speaker
    title: str
    texts: Sequence[str]
    selected: int = 0
    note: str = ""
    # Inspector links in the header, and what they open (see `ChatView.set_tools`).
    tools: tuple[Act, ...] = ()
    details: object = None
    # What answered, on which build, with which seed; and the reproducibility link offered.
    info: str = ""
    reproduce: Act | None = None


def add_shown(transcript: Transcript, shown: ShownMessage) -> Message:
    """Add `shown` at the end of `transcript`, finished, with the choice it had selected."""
    count = max(1, len(shown.texts))
    message = transcript.add(shown.speaker, shown.title, choices=count, tools=shown.tools)
    message.details = shown.details
    message.reproduce = shown.reproduce
    transcript.set_info(message, shown.info)
    for choice, text in enumerate(shown.texts):
        transcript.write(message, text, choice)
    message.selected = min(max(shown.selected, 0), count - 1)
    transcript.draw(message, message.text())
    message.note = shown.note
    transcript.finish(message)
    return message
