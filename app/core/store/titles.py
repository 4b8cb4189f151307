"""Conversation titles: what a conversation is called until the user renames it."""

from __future__ import annotations

from app.core.messages import ChatMessage

TITLE_LENGTH = 60
UNTITLED = "New chat"


def title_from_prompt(prompt: str) -> str:
    """A sidebar title: the prompt's first non-empty line, cut at a word near 60 characters."""
    line = next((ln.strip() for ln in prompt.splitlines() if ln.strip()), "")
    if not line:
        return UNTITLED
    if len(line) <= TITLE_LENGTH:
        return line
    cut = line[:TITLE_LENGTH].rsplit(" ", 1)[0] or line[:TITLE_LENGTH]
    return cut.rstrip(" ,.;:") + "…"


def prompt_title(prompt: ChatMessage) -> str:
    """The title a conversation takes from its first prompt (which may be images alone)."""
    return title_from_prompt(prompt.text or _image_title(prompt))


def _image_title(message: ChatMessage) -> str:
    count = len(message.images)
    return f"{count} image{'s' if count != 1 else ''}" if count else UNTITLED
