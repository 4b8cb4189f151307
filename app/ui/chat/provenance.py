"""What the transcript says about where a reply came from, and the request to re-run it.

A reply header names the model that answered, the server's system fingerprint and the seed
that was sent. The last reply offers "Re-run with same seed" when its request had a seed, and
"Set a seed" when neither it nor the conversation has one (so the next replies can be re-run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from app.core.catalog import lookup
from app.core.messages import ChatMessage, Role
from app.core.params import ChatParams
from app.core.reply import Reply
from app.core.reproduce import RerunSubject, provenance_text
from app.core.request import InvalidRequest, build_request
from app.core.store.records import MessageState, StoredMessage
from app.ui.chat.transcript import Act


def reproduce_offer(reply_seed: int | None, conversation_seed: int | None) -> Act | None:
    """The reproducibility link a finished last reply offers."""
    if reply_seed is not None:
        return Act.RERUN
    return Act.SET_SEED if conversation_seed is None else None


def reply_info(reply: Reply, requested_model: str) -> str:
    """The header line: the model that answered when it is not the one the title names."""
    answered_by = reply.answered_by if reply.answered_by != requested_model else ""
    return provenance_text(answered_by, reply.fingerprint, reply.seed)


def stored_subject(
    last: StoredMessage | None, model: str, messages: Sequence[ChatMessage], params: ChatParams
) -> RerunSubject | None:
    """The request behind an opened conversation's last reply, rebuilt with the seed it sent.

    `messages` are those sent before it (system prompt included), `model` and `params` the
    conversation's. Replies streamed in this window keep their exact body instead.
    """
    if last is None or last.role is not Role.ASSISTANT or last.seed is None:
        return None
    if last.state is not MessageState.COMPLETE:
        return None
    # The conversation may have moved to another model since; the reply names the snapshot
    # that answered, which belongs to the model asked for ("gpt-4o" → "gpt-4o-2024-08-06").
    if last.model and last.model != model and not last.model.startswith(f"{model}-"):
        model = last.model
    sent = replace(params.without_unsupported(lookup(model)), seed=last.seed)
    try:
        body = build_request(model, messages, sent)
    except InvalidRequest:
        return None
    choice = last.choices.index(last.content) if last.content in last.choices else 0
    return RerunSubject(body, last.content, last.system_fingerprint, choice)
