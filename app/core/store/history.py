"""Conversation history in SQLite: conversations, messages (with their images), and search.

Every call is one short transaction, safe from any thread. A reply is written while it
streams (`begin_reply`, then `save_partial` as text arrives, then `finish_reply`): a message
still marked streaming when the app starts again was cut off by a crash or a kill, and
`recover_interrupted` marks it so.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.core import endings
from app.core.messages import ChatMessage, Role
from app.core.params import ChatParams
from app.core.paths import IMAGES_DIRNAME
from app.core.store.database import open_database
from app.core.store.image_files import ImageFiles
from app.core.store.message_rows import (
    choices_json,
    conversation_from,
    image_row,
    select_conversation,
    usage_dict,
)
from app.core.store.params_json import params_to_json
from app.core.store.provenance_json import with_provenance
from app.core.store.records import (
    ConversationSummary,
    MessageState,
    SearchHit,
    StoredConversation,
)
from app.core.store.search_query import search_messages
from app.core.store.titles import UNTITLED, prompt_title
from app.core.usage import Usage

# Deleted conversations can be brought back (Undo) until they are purged at a later start.
PURGE_AFTER_S = 7 * 24 * 3600


class ConversationNotFound(LookupError):
    """The conversation was deleted (perhaps in another window) or never existed."""


class History:
    """The conversation store of one data directory."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        images: ImageFiles,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._connection = connection
        self.images = images
        self._clock = clock
        self._lock = threading.RLock()

    @classmethod
    def open(cls, database: Path, *, clock: Callable[[], float] = time.time) -> History:
        """The history in `database`, with its images in a directory beside it."""
        return cls(
            open_database(database), ImageFiles(database.parent / IMAGES_DIRNAME), clock=clock
        )

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        with self._lock:
            return self._connection.execute(sql, args).fetchall()

    # Conversations

    def create_conversation(
        self,
        *,
        title: str = UNTITLED,
        model: str,
        system_prompt: str = "",
        params: ChatParams | None = None,
    ) -> int:
        now = self._clock()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO conversations (title, created_at, updated_at, model, system_prompt,"
                " params) VALUES (?, ?, ?, ?, ?, ?)",
                (title, now, now, model, system_prompt, params_to_json(params or ChatParams())),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def update_settings(
        self, conversation_id: int, *, model: str, system_prompt: str, params: ChatParams
    ) -> None:
        """What the conversation is continued with: its model, system prompt and parameters."""
        with self._transaction() as db:
            db.execute(
                "UPDATE conversations SET model = ?, system_prompt = ?, params = ? WHERE id = ?",
                (model, system_prompt, params_to_json(params), conversation_id),
            )

    def rename(self, conversation_id: int, title: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE conversations SET title = ? WHERE id = ?",
                (title.strip() or UNTITLED, conversation_id),
            )

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE conversations SET pinned = ? WHERE id = ?", (int(pinned), conversation_id)
            )

    def delete(self, conversation_id: int) -> None:
        """Hide the conversation; `restore` brings it back until `purge_deleted` runs."""
        with self._transaction() as db:
            db.execute(
                "UPDATE conversations SET deleted_at = ? WHERE id = ?",
                (self._clock(), conversation_id),
            )

    def restore(self, conversation_id: int) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE conversations SET deleted_at = NULL WHERE id = ?", (conversation_id,)
            )

    def purge_deleted(self, *, older_than_s: float = PURGE_AFTER_S) -> int:
        """Remove conversations deleted more than `older_than_s` ago, and unused image files."""
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?",
                (self._clock() - older_than_s,),
            )
            # Inside the write lock: `add_message` (perhaps in another process) stores its
            # files under the same lock, so a file cannot be removed between being found
            # present there and its row being committed.
            used = {
                str(row[0])
                for row in db.execute(
                    "SELECT DISTINCT sha256 FROM message_images WHERE sha256 IS NOT NULL"
                )
            }
            self.images.remove_unused(used)
        return cursor.rowcount

    def conversation_count(self) -> int:
        rows = self._query("SELECT count(*) FROM conversations WHERE deleted_at IS NULL")
        return int(rows[0][0])

    def list_conversations(self, limit: int = 200, offset: int = 0) -> list[ConversationSummary]:
        """Pinned conversations first, then the most recently active."""
        rows = self._query(
            "SELECT id, title, updated_at, pinned, model FROM conversations"
            " WHERE deleted_at IS NULL ORDER BY pinned DESC, updated_at DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [
            ConversationSummary(int(i), str(t), float(u), bool(p), str(m)) for i, t, u, p, m in rows
        ]

    def summary(self, conversation_id: int) -> ConversationSummary:
        rows = self._query(
            "SELECT id, title, updated_at, pinned, model FROM conversations"
            " WHERE id = ? AND deleted_at IS NULL",
            (conversation_id,),
        )
        if not rows:
            raise ConversationNotFound(conversation_id)
        i, t, u, p, m = rows[0]
        return ConversationSummary(int(i), str(t), float(u), bool(p), str(m))

    def load(self, conversation_id: int) -> StoredConversation:
        """The conversation with every message and image, in order."""
        with self._lock:
            rows = select_conversation(self._connection, conversation_id)
        if rows is None:
            raise ConversationNotFound(conversation_id)
        return conversation_from(conversation_id, rows, self.images)

    # Messages

    def add_message(
        self,
        conversation_id: int,
        message: ChatMessage,
        *,
        state: MessageState = MessageState.COMPLETE,
        model: str = "",
    ) -> int:
        """Append `message` (with its images) to the conversation; its id."""
        now = self._clock()
        with self._transaction() as db:
            # Files are written under the write lock so `purge_deleted` cannot remove one
            # that this message is about to reference.
            stored_images = [image_row(self.images, image) for image in message.images]
            message_id = self._insert(
                db, conversation_id, message.role, message.text, state, model, now
            )
            db.executemany(
                "INSERT INTO message_images (message_id, position, sha256, mime, url, detail,"
                " width, height, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(message_id, index, *row) for index, row in enumerate(stored_images)],
            )
            self._touch(db, conversation_id, now, message if message.role is Role.USER else None)
        return message_id

    def begin_reply(self, conversation_id: int, *, model: str) -> int:
        """An empty assistant message marked as streaming; its id for `save_partial`."""
        now = self._clock()
        with self._transaction() as db:
            message_id = self._insert(
                db, conversation_id, Role.ASSISTANT, "", MessageState.STREAMING, model, now
            )
            self._touch(db, conversation_id, now, None)
        return message_id

    def save_partial(self, message_id: int, content: str, choices: Sequence[str] = ()) -> None:
        """What has arrived of a streaming reply so far."""
        with self._transaction() as db:
            db.execute(
                "UPDATE messages SET content = ?, choices = ? WHERE id = ?",
                (content, choices_json(choices), message_id),
            )

    def finish_reply(
        self,
        message_id: int,
        content: str,
        *,
        state: MessageState = MessageState.COMPLETE,
        note: str = "",
        model: str | None = None,
        finish_reason: str = "",
        choices: Sequence[str] = (),
        logprobs: object = None,
        usage: Usage | None = None,
        system_fingerprint: str | None = None,
        seed: int | None = None,
    ) -> None:
        """The reply as it ended; `state` says how, `seed` is the one its request sent."""
        with self._transaction() as db:
            db.execute(
                "UPDATE messages SET content = ?, state = ?, note = ?, model = COALESCE(?, model),"
                " finish_reason = ?, choices = ?, logprobs = ?, usage = ? WHERE id = ?",
                (
                    content,
                    state.value,
                    note,
                    model,
                    finish_reason,
                    choices_json(choices),
                    None if logprobs is None else json.dumps(logprobs),
                    with_provenance(
                        None if usage is None else usage_dict(usage), system_fingerprint, seed
                    ),
                    message_id,
                ),
            )

    def resume_reply(self, conversation_id: int, position: int) -> int:
        """Mark the reply at `position` streaming again (it is being continued); its id."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT id FROM messages WHERE conversation_id = ? AND position = ?",
                (conversation_id, position),
            ).fetchone()
            if row is None:
                raise ConversationNotFound(conversation_id)
            db.execute(
                "UPDATE messages SET state = ?, note = '' WHERE id = ?",
                (MessageState.STREAMING.value, row[0]),
            )
            db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?",
                (self._clock(), conversation_id),
            )
        return int(row[0])

    def set_message_content(self, conversation_id: int, position: int, content: str) -> None:
        """Replace the text of the message at `position` (another choice was picked)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE messages SET content = ? WHERE conversation_id = ? AND position = ?",
                (content, conversation_id, position),
            )

    def remove_messages_from(self, conversation_id: int, position: int) -> None:
        """Delete the conversation's messages at `position` and after (regenerate, edit)."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND position >= ?",
                (conversation_id, position),
            )

    def streaming_conversations(self) -> list[int]:
        """Conversations with a reply marked streaming, most recently active first."""
        rows = self._query(
            "SELECT DISTINCT c.id, c.updated_at FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.state = ? AND c.deleted_at IS NULL ORDER BY c.updated_at DESC",
            (MessageState.STREAMING.value,),
        )
        return [int(row[0]) for row in rows]

    def recover_interrupted(self) -> list[tuple[int, int]]:
        """Mark replies left streaming by a process that died as interrupted.

        Their (conversation id, message id) pairs, for their usage to be estimated.
        """
        with self._transaction() as db:
            rows = db.execute(
                "SELECT conversation_id, id FROM messages WHERE state = ?",
                (MessageState.STREAMING.value,),
            ).fetchall()
            db.execute(
                "UPDATE messages SET state = ?, note = ? WHERE state = ?",
                (
                    MessageState.INTERRUPTED.value,
                    endings.INTERRUPTED,
                    MessageState.STREAMING.value,
                ),
            )
        return [(int(conversation), int(message)) for conversation, message in rows]

    def set_usage(self, message_id: int, usage: Usage) -> None:
        """Give a reply that has none (an interrupted one) its estimated usage."""
        with self._transaction() as db:
            db.execute(
                "UPDATE messages SET usage = ? WHERE id = ? AND usage IS NULL",
                (with_provenance(usage_dict(usage), None, None), message_id),
            )

    # Search

    def search(self, text: str, limit: int = 50) -> list[SearchHit]:
        """Messages matching every word of `text` (the last as a prefix), newest first."""
        with self._lock:
            return search_messages(self._connection, text, limit)

    # Internals

    def _insert(
        self,
        db: sqlite3.Connection,
        conversation_id: int,
        role: Role,
        content: str,
        state: MessageState,
        model: str,
        now: float,
    ) -> int:
        exists = db.execute(
            "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if exists is None:
            raise ConversationNotFound(conversation_id)
        cursor = db.execute(
            "INSERT INTO messages (conversation_id, position, role, content, state, model,"
            " created_at) VALUES (?, (SELECT COALESCE(MAX(position) + 1, 0) FROM messages"
            " WHERE conversation_id = ?), ?, ?, ?, ?, ?)",
            (conversation_id, conversation_id, role.value, content, state.value, model, now),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _touch(
        self, db: sqlite3.Connection, conversation_id: int, now: float, prompt: ChatMessage | None
    ) -> None:
        db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        if prompt is not None:
            # The first prompt names the conversation, unless the user renamed it already.
            db.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND title = ?",
                (prompt_title(prompt), conversation_id, UNTITLED),
            )
