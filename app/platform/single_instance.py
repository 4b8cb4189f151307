"""One Chatdesk per data folder: a later launch hands its request to the running one and exits.

The first process takes a `QLockFile` beside the data and listens on a `QLocalServer`; a later
one fails to take the lock, connects as a `QLocalSocket` and sends one JSON line such as
`{"command": "quick-ask"}`, which the first answers with `{"ok": true}`. The lock decides who
is first, not the server: on Unix a second `listen()` on the same name can silently take the
socket over from a process still using it. A lock left by a process that died is stale (its
process is gone) and is taken over.

Where no lock can be made at all (a read-only data folder), Chatdesk runs without the
single-instance guarantee rather than not at all; the log says so.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import logging
import time
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.core.problems import UserFacingError

log = logging.getLogger(__name__)

SHOW = "show"
QUICK_ASK = "quick-ask"
COMMANDS = frozenset({SHOW, QUICK_ASK})
LOCK_FILENAME = "chatdesk.lock"
# How long a later launch keeps trying to reach the first: it may still be starting up.
CONNECT_PATIENCE_S = 5.0
_REPLY_TIMEOUT_MS = 2000
_MAX_LINE_BYTES = 4096


class InstanceUnreachable(UserFacingError):
    """Another Chatdesk holds the lock but does not answer."""


def server_name(lock_path: Path) -> str:
    """The local socket name for the instance owning `lock_path` (per user, per data folder)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    digest = hashlib.sha256(f"{user}\0{lock_path.resolve()}".encode()).hexdigest()
    return f"chatdesk-{digest[:20]}"


def encode(command: str) -> bytes:
    return json.dumps({"command": command}).encode() + b"\n"


def decode(line: bytes) -> str | None:
    """The command in one message line, or None when it is not one this version knows."""
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    command = message.get("command") if isinstance(message, dict) else None
    return command if command in COMMANDS else None


class SingleInstance(QObject):
    """The running instance's side: holds the lock and receives later launches' commands.

    `command_received` carries SHOW or QUICK_ASK.
    """

    command_received = Signal(str)

    def __init__(self, lock_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lock_path = lock_path
        self.name = server_name(lock_path)
        self._lock = QLockFile(str(lock_path))
        # Stale only when its process is gone: a busy first instance must keep its lock.
        self._lock.setStaleLockTime(0)
        self._server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytes] = {}

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.isListening()

    def claim(self) -> bool:
        """Become the running instance; False if another one holds the lock."""
        if not self._lock.tryLock(0):
            if self._lock.error() == QLockFile.LockError.LockFailedError:
                return False
            log.warning(
                "no single-instance lock at %s (%s): later launches will start their own window",
                self.lock_path,
                self._lock.error().name,
            )
            return True
        # Holding the lock, any socket of that name is a leftover of a crashed instance.
        QLocalServer.removeServer(self.name)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            log.warning("cannot listen as %s: %s", self.name, server.errorString())
            return True
        server.newConnection.connect(self.on_server_new_connection)
        self._server = server
        return True

    def close(self) -> None:
        """Stop listening and release the lock (a later launch then starts afresh)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()

    def on_server_new_connection(self) -> None:
        server = self._server
        while server is not None and server.hasPendingConnections():
            socket = server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._on_ready_read(s))
            socket.disconnected.connect(lambda s=socket: self._forget(s))
            if socket.bytesAvailable():
                self._on_ready_read(socket)

    def _on_ready_read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        while b"\n" in data:
            line, data = data.split(b"\n", 1)
            command = decode(line)
            socket.write(json.dumps({"ok": command is not None}).encode() + b"\n")
            socket.flush()
            if command is None:
                log.warning("ignored an unknown message from another launch: %r", line[:200])
            else:
                log.info("another launch asked for %s", command)
                self.command_received.emit(command)
        if len(data) > _MAX_LINE_BYTES:
            socket.abort()
            data = b""
        self._buffers[socket] = data

    def _forget(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()


def send_command(name: str, command: str, *, patience_s: float = CONNECT_PATIENCE_S) -> bool:
    """Deliver `command` to the instance listening as `name`; False if none answered in time."""
    deadline = time.monotonic() + patience_s
    while True:
        socket = QLocalSocket()
        socket.connectToServer(name)
        if socket.waitForConnected(500):
            try:
                return _exchange(socket, command)
            finally:
                socket.disconnectFromServer()
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _exchange(socket: QLocalSocket, command: str) -> bool:
    socket.write(encode(command))
    if not socket.waitForBytesWritten(_REPLY_TIMEOUT_MS):
        return False
    reply = b""
    while b"\n" not in reply:
        if not socket.waitForReadyRead(_REPLY_TIMEOUT_MS):
            return False
        reply += bytes(socket.readAll().data())
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        answer = json.loads(reply.split(b"\n", 1)[0])
        return isinstance(answer, dict) and answer.get("ok") is True
    return False


def become_primary(data_dir: Path, command: str) -> SingleInstance | None:
    """The lock and server of this launch if it is the first; None once `command` was handed on.

    Raises `InstanceUnreachable` when another instance holds the lock but never answers.
    """
    instance = SingleInstance(data_dir / LOCK_FILENAME)
    if instance.claim():
        return instance
    if send_command(instance.name, command):
        log.info("handed %r to the running Chatdesk", command)
        return None
    # It may have exited meanwhile, leaving the lock to us.
    if instance.claim():
        return instance
    raise InstanceUnreachable(
        "Chatdesk is already running but does not answer",
        "Close the other Chatdesk window (or end its process), then start Chatdesk again.",
    )
