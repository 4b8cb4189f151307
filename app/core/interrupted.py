"""Replies cut off by a kill: found at the next start, marked interrupted, and paid for.

A reply still marked streaming when Chatdesk starts was being written by a process that died
(a crash, a kill, a power cut). The provider billed what it generated, but nobody recorded it:
its usage is estimated from the prompt and the text that reached the disk, stored with the
message, and recorded in the ledger (as `Source.RECOVERED`, marked estimated).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from app.core import usage_estimate
from app.core.messages import ChatMessage
from app.core.store.history import History
from app.core.store.ledger import Source, UsageLedger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Unbilled:
    message_id: int
    model: str
    prompt: tuple[ChatMessage, ...]
    texts: tuple[str, ...]


async def settle_interrupted(
    history: History,
    ledger: UsageLedger | None,
    found: Sequence[tuple[int, int]],
    *,
    before_counting: Callable[[str], Awaitable[None]] | None = None,
) -> int:
    """Estimate and record the usage of the interrupted replies `found` (conversation id,
    message id pairs, from `History.recover_interrupted`); how many were recorded."""
    loop = asyncio.get_running_loop()
    recorded = 0
    for conversation_id, message_id in found:
        try:
            unbilled = await loop.run_in_executor(
                None, _unbilled, history, conversation_id, message_id
            )
            if unbilled is None:
                continue
            if before_counting is not None:
                await before_counting(unbilled.model)
            await loop.run_in_executor(None, _record, history, ledger, unbilled)
        except (sqlite3.Error, LookupError):
            log.exception("could not estimate the usage of interrupted reply %d", message_id)
            continue
        recorded += 1
    return recorded


def _unbilled(history: History, conversation_id: int, message_id: int) -> _Unbilled | None:
    conversation = history.load(conversation_id)
    message = next((m for m in conversation.messages if m.id == message_id), None)
    # A continued reply keeps the usage of its first part; the rest is not known.
    if message is None or message.usage is not None:
        return None
    prompt = [m.as_chat_message() for m in conversation.messages if m.position < message.position]
    if conversation.system_prompt:
        prompt.insert(0, ChatMessage.system(conversation.system_prompt))
    texts = tuple(message.choices) or (message.content,)
    return _Unbilled(message_id, message.model or conversation.model, tuple(prompt), texts)


def _record(history: History, ledger: UsageLedger | None, unbilled: _Unbilled) -> None:
    usage = usage_estimate.from_messages(unbilled.model, unbilled.prompt, unbilled.texts)
    history.set_usage(unbilled.message_id, usage)
    if ledger is not None:
        ledger.record(unbilled.model, usage, Source.RECOVERED)
