"""A reply's provenance (system fingerprint, seed) kept in the history with the reply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.messages import ChatMessage
from app.core.store.history import History
from app.core.store.records import MessageState, StoredMessage
from app.core.usage import Usage


def reply(history: History, **ending: Any) -> History:
    conversation = history.create_conversation(model="gpt-4o")
    history.add_message(conversation, ChatMessage.user("Pick a number"))
    message_id = history.begin_reply(conversation, model="gpt-4o")
    history.finish_reply(message_id, "Seven.", **ending)
    return history


def last_reply(history: History) -> StoredMessage:
    (summary,) = history.list_conversations()
    return history.load(summary.id).messages[-1]


def test_fingerprint_and_seed_are_read_back_with_the_reply(
    history: History, database: Path
) -> None:
    """After reopening the database the reply still says which build answered and the seed."""
    usage = Usage(prompt_tokens=12, completion_tokens=3)
    reply(history, usage=usage, system_fingerprint="fp_44709d6fcb", seed=42)
    history.close()
    reopened = History.open(database)
    stored = last_reply(reopened)
    assert stored.system_fingerprint == "fp_44709d6fcb"
    assert stored.seed == 42
    assert stored.usage == usage
    reopened.close()


def test_a_stopped_reply_keeps_its_provenance_without_inventing_usage(history: History) -> None:
    """A reply stopped before usage arrived has no usage, yet its fingerprint and seed stay."""
    reply(history, state=MessageState.STOPPED, system_fingerprint="fp_1", seed=0)
    stored = last_reply(history)
    assert stored.usage is None
    assert (stored.system_fingerprint, stored.seed) == ("fp_1", 0)


def test_a_reply_without_provenance_reads_as_unknown(history: History) -> None:
    """Replies from before provenance was kept (or from servers without it) show none."""
    reply(history, usage=Usage(prompt_tokens=1, completion_tokens=1))
    stored = last_reply(history)
    assert (stored.system_fingerprint, stored.seed) == (None, None)
