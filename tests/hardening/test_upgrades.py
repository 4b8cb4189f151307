"""Upgrade safety: a database left by any earlier Chatdesk opens in this one with nothing lost.

For every earlier schema version N, a database is written as the release at version N wrote it
(its own tables and columns, by plain SQL: released migrations never change), once closed
cleanly and once by a writer killed with its last transactions still only in the WAL file and an
unfinished one spilled into it. The current `open_database` then migrates it, and every row is
read back through today's APIs: the usage ledger, `History.load` and `History.search`.
"""

from __future__ import annotations

import base64
import json
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from app.core.messages import ChatMessage, Detail, ImagePart, Role
from app.core.paths import IMAGES_DIRNAME
from app.core.store.database import SCHEMA_VERSION, migrate, open_database, schema_version
from app.core.store.history import ConversationNotFound, History
from app.core.store.image_files import ImageFiles
from app.core.store.ledger import UsageLedger
from app.core.store.params_json import params_from_json
from app.core.store.records import MessageState
from app.core.usage import Usage
from tests.support.evidence import Evidence

pytestmark = pytest.mark.hardening

REPO_ROOT = Path(__file__).resolve().parents[2]
DATABASE_NAME = "chatdesk.db"
# Ample for a slow machine; the child says when it is ready, so this is only a hang guard.
PATIENCE_S = 60.0
# Schema versions and the first one with each kind of row.
LEDGER_SINCE = 1
HISTORY_SINCE = 2
# A 1×1 PNG, as the app stores a prepared image: its bytes in images/, named by SHA-256.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
REMOTE_IMAGE = "https://example.com/photos/harbour.jpg"
LEDGER_COLUMNS = (
    "at, source, model, prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens,"
    " cost_usd, estimated"
)


@dataclass(frozen=True)
class OldImage:
    detail: str
    data: bytes = b""
    url: str = ""
    width: int | None = None
    height: int | None = None
    source: str = ""


@dataclass(frozen=True)
class OldMessage:
    role: str
    content: str
    state: str = "complete"
    note: str = ""
    model: str = ""
    finish_reason: str = ""
    choices: tuple[str, ...] = ()
    logprobs: object = None
    usage: dict[str, object] | None = None
    images: tuple[OldImage, ...] = ()
    # A word only this message holds, to find it again by search.
    marker: str = ""


@dataclass(frozen=True)
class OldConversation:
    title: str
    model: str
    created_at: float
    system_prompt: str = ""
    params: str = "{}"
    pinned: bool = False
    deleted_at: float | None = None
    messages: tuple[OldMessage, ...] = ()


@dataclass(frozen=True)
class OldData:
    """What a user of the release at `version` had in their database."""

    version: int
    ledger: tuple[tuple[object, ...], ...] = ()
    conversations: tuple[OldConversation, ...] = field(default_factory=tuple)


def old_data(version: int) -> OldData:
    """Deterministic, varied content for a database at schema `version`."""
    ledger: tuple[tuple[object, ...], ...] = ()
    conversations: tuple[OldConversation, ...] = ()
    if version >= LEDGER_SINCE:
        ledger = (
            (1_700_000_000.5, "window", "gpt-4o", 1200, 200, 300, 0, "0.005500", 0),
            (1_700_000_100.0, "cli", "o1", 50, 0, 900, 600, "0.054750", 0),
            (1_700_000_200.0, "quick-ask", "llama3", 10, 0, 10, 0, None, 1),
            (1_700_086_400.0, "window", "gpt-4o-mini", 5000, 4096, 1, 0, "0.000444", 0),
        )
    if version >= HISTORY_SINCE:
        conversations = (
            OldConversation(
                "Kept as it was",
                "gpt-4o",
                1_700_000_000.0,
                system_prompt="Answer like a ship's captain.",
                params='{"seed": 7, "stop": ["END"], "temperature": 0.3}',
                pinned=True,
                messages=(
                    OldMessage("user", "Which knots hold best? lighthousewords", marker="light"),
                    OldMessage(
                        "assistant",
                        "The bowline, aye — **always** the bowline.",
                        model="gpt-4o-2024-08-06",
                        finish_reason="stop",
                        usage={
                            "prompt_tokens": 30,
                            "completion_tokens": 12,
                            "cached_tokens": 0,
                            "reasoning_tokens": 0,
                            "estimated": False,
                        },
                        marker="bowline",
                    ),
                ),
            ),
            OldConversation(
                "Pictures and choices",
                "gpt-4o-mini",
                1_700_000_500.0,
                params='{"logprobs": true, "n": 2, "top_logprobs": 2}',
                messages=(
                    OldMessage(
                        "user",
                        "What is in these? harbourscene",
                        images=(
                            OldImage("high", data=PIXEL_PNG, width=1, height=1, source="a.png"),
                            OldImage("low", url=REMOTE_IMAGE, source=REMOTE_IMAGE),
                        ),
                        marker="harbourscene",
                    ),
                    OldMessage(
                        "assistant",
                        "A single teal pixel.",
                        model="gpt-4o-mini",
                        finish_reason="stop",
                        choices=("A single teal pixel.", "One pixel, teal."),
                        logprobs=[{"token": "A", "logprob": -0.01, "top_logprobs": []}],
                        marker="teal",
                    ),
                ),
            ),
            OldConversation(
                "Café crème and a cut-off answer",
                "gpt-4o",
                1_700_001_000.0,
                messages=(
                    OldMessage("user", "Un café crème, s'il vous plaît", marker="cafe"),
                    OldMessage("assistant", "Voilà, un café", state="stopped", note="Stopped."),
                    OldMessage("user", "Encore une fois: zephyrine", marker="zephyrine"),
                    # The app died while this streamed: the next start marks it interrupted.
                    OldMessage(
                        "assistant",
                        "Half an answer about quokkasong",
                        state="streaming",
                        model="gpt-4o",
                        marker="quokkasong",
                    ),
                ),
            ),
            OldConversation(
                "Deleted, awaiting undo",
                "o3-mini",
                1_700_002_000.0,
                params='{"reasoning_effort": "high"}',
                deleted_at=1_700_002_100.0,
                messages=(OldMessage("user", "Forget this please"),),
            ),
        )
    return OldData(version, ledger, conversations)


def write_old_database(path: Path, data: OldData, *, hold: bool = False) -> None:
    """Write `data` as the release at `data.version` did, with its own SQL.

    With `hold`, the file stays open in WAL mode with no checkpoint: after saying so on stdout
    this process starts a transaction it never commits and waits to be killed.
    """
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    if hold:
        # Keep every committed page in the WAL, as a writer killed before a checkpoint leaves it.
        connection.execute("PRAGMA wal_autocheckpoint = 0")
    migrate(connection, target=data.version)
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        f"INSERT INTO usage_ledger ({LEDGER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        data.ledger,
    )
    images = ImageFiles(path.parent / IMAGES_DIRNAME)
    for conversation in data.conversations:
        _write_conversation(connection, images, conversation)
    connection.execute("COMMIT")
    if not hold:
        connection.close()
        return
    # A large transaction that never commits: a small cache makes SQLite spill its pages into
    # the WAL before the commit that never comes.
    connection.execute("PRAGMA cache_size = 1")
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        f"INSERT INTO usage_ledger ({LEDGER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(1_800_000_000.0 + n, "cli", "gpt-4o", 1, 0, 1, 0, None, 0) for n in range(20_000)],
    )
    print("written", flush=True)
    signal.pause()


def _write_conversation(
    db: sqlite3.Connection, images: ImageFiles, conversation: OldConversation
) -> None:
    updated = conversation.created_at + len(conversation.messages)
    cursor = db.execute(
        "INSERT INTO conversations (title, created_at, updated_at, pinned, deleted_at, model,"
        " system_prompt, params) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            conversation.title,
            conversation.created_at,
            updated,
            int(conversation.pinned),
            conversation.deleted_at,
            conversation.model,
            conversation.system_prompt,
            conversation.params,
        ),
    )
    conversation_id = cursor.lastrowid
    for position, message in enumerate(conversation.messages):
        cursor = db.execute(
            "INSERT INTO messages (conversation_id, position, role, content, state, note, model,"
            " finish_reason, choices, logprobs, usage, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation_id,
                position,
                message.role,
                message.content,
                message.state,
                message.note,
                message.model,
                message.finish_reason,
                json.dumps(list(message.choices)) if message.choices else None,
                None if message.logprobs is None else json.dumps(message.logprobs),
                None if message.usage is None else json.dumps(message.usage),
                conversation.created_at + position,
            ),
        )
        for index, image in enumerate(message.images):
            sha256: str | None = None
            mime = ""
            if image.data:
                data_url = f"data:image/png;base64,{base64.b64encode(image.data).decode()}"
                sha256, mime = images.store_data_url(data_url)
            db.execute(
                "INSERT INTO message_images (message_id, position, sha256, mime, url, detail,"
                " width, height, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cursor.lastrowid,
                    index,
                    sha256,
                    mime,
                    image.url,
                    image.detail,
                    image.width,
                    image.height,
                    image.source,
                ),
            )


def killed_writer(path: Path, data: OldData) -> None:
    """Write `data` in a child process and kill it with its work still in the WAL file."""
    code = (
        "import sys; from pathlib import Path; "
        "from tests.hardening.test_upgrades import old_data, write_old_database; "
        "write_old_database(Path(sys.argv[1]), old_data(int(sys.argv[2])), hold=True)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(data.version)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "written"
    finally:
        child.kill()
        child.wait(PATIENCE_S)
    assert child.returncode == -signal.SIGKILL


def expected_image(image: OldImage) -> ImagePart:
    url = image.url or f"data:image/png;base64,{base64.b64encode(image.data).decode()}"
    return ImagePart(url, Detail(image.detail), image.width, image.height, image.source)


def check_everything_is_there(path: Path, data: OldData) -> int:
    """Open `path` as today's Chatdesk does and read back every row of `data`; how many rows."""
    connection = open_database(path)
    assert schema_version(connection) == SCHEMA_VERSION
    ledger_rows = connection.execute(
        f"SELECT {LEDGER_COLUMNS} FROM usage_ledger ORDER BY id"
    ).fetchall()
    assert [tuple(row) for row in ledger_rows] == [tuple(row) for row in data.ledger]
    spend = UsageLedger(connection).spend_since(0)
    assert spend.requests == len(data.ledger)
    assert spend.cost_usd == sum((Decimal(str(r[7])) for r in data.ledger if r[7]), Decimal(0))
    assert spend.unpriced_requests == sum(1 for r in data.ledger if r[7] is None)
    assert spend.estimated_requests == sum(1 for r in data.ledger if r[8])
    connection.close()

    history = History.open(path)
    try:
        rows = len(data.ledger) + check_history(history, data, path)
        # The upgraded file takes new writes, found by search like the old ones.
        conversation = history.create_conversation(model="gpt-4o")
        history.add_message(conversation, ChatMessage.user("after the upgrade: xylophonist"))
        assert [hit.conversation_id for hit in history.search("xylophonist")] == [conversation]
    finally:
        history.close()
    return rows


def check_history(history: History, data: OldData, path: Path) -> int:
    shown = [c for c in data.conversations if c.deleted_at is None]
    listed = history.list_conversations()
    # Pinned first, then the most recently active, as the sidebar shows them.
    order = sorted(shown, key=lambda c: (not c.pinned, -(c.created_at + len(c.messages))))
    assert [c.title for c in listed] == [c.title for c in order]
    ids = {summary.title: summary.id for summary in listed}
    rows = 0
    for old in data.conversations:
        if old.deleted_at is not None:
            # Hidden as before, and Undo still brings it back.
            with pytest.raises(ConversationNotFound):
                history.load(_id_of(path, old.title))
            history.restore(_id_of(path, old.title))
            ids[old.title] = _id_of(path, old.title)
        stored = history.load(ids[old.title])
        assert (stored.title, stored.model, stored.system_prompt, stored.pinned) == (
            old.title,
            old.model,
            old.system_prompt,
            old.pinned,
        )
        assert stored.params == params_from_json(old.params)
        assert len(stored.messages) == len(old.messages)
        for message, before in zip(stored.messages, old.messages, strict=True):
            assert message.role is Role(before.role)
            assert message.content == before.content
            assert message.state is MessageState(before.state)
            assert (message.note, message.model, message.finish_reason) == (
                before.note,
                before.model,
                before.finish_reason,
            )
            assert message.choices == before.choices
            assert message.logprobs == before.logprobs
            if before.usage is None:
                assert message.usage is None
            else:
                assert message.usage == Usage(
                    prompt_tokens=int(str(before.usage["prompt_tokens"])),
                    completion_tokens=int(str(before.usage["completion_tokens"])),
                )
            assert message.images == tuple(expected_image(i) for i in before.images)
            if before.marker:
                hits = history.search(before.marker)
                assert message.id in [hit.message_id for hit in hits], before.marker
            rows += 1 + len(before.images)
        rows += 1
    # The answer cut off by the old app's death is offered as interrupted, as after any crash.
    streaming = sum(m.state == "streaming" for c in data.conversations for m in c.messages)
    assert len(history.recover_interrupted()) == streaming
    return rows


def _id_of(path: Path, title: str) -> int:
    connection = sqlite3.connect(path)
    try:
        row = connection.execute(
            "SELECT id FROM conversations WHERE title = ?", (title,)
        ).fetchone()
    finally:
        connection.close()
    assert row is not None
    return int(row[0])


EARLIER_VERSIONS = list(range(1, SCHEMA_VERSION))


@pytest.mark.parametrize("version", EARLIER_VERSIONS)
def test_a_cleanly_closed_database_from_an_earlier_release_keeps_every_row(
    tmp_path: Path, version: int, evidence: Evidence
) -> None:
    """A database the release at schema N closed normally opens with every row readable."""
    path = tmp_path / DATABASE_NAME
    data = old_data(version)
    write_old_database(path, data)

    rows = check_everything_is_there(path, data)

    evidence.record(
        "Upgrades",
        f"schema {version} → {SCHEMA_VERSION}, closed cleanly",
        f"all {rows} rows kept and readable (ledger, conversations, messages, images, search)",
    )


@pytest.mark.parametrize("version", EARLIER_VERSIONS)
def test_a_database_left_in_the_wal_by_a_killed_writer_keeps_every_committed_row(
    tmp_path: Path, version: int, evidence: Evidence
) -> None:
    """Killed with its data only in the WAL and a transaction half spilled, nothing is lost."""
    path = tmp_path / DATABASE_NAME
    data = old_data(version)
    killed_writer(path, data)
    wal = path.with_name(path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0

    rows = check_everything_is_there(path, data)

    evidence.record(
        "Upgrades",
        f"schema {version} → {SCHEMA_VERSION}, writer killed (WAL left, uncommitted spill)",
        f"all {rows} committed rows kept and readable; the unfinished transaction is gone",
    )
