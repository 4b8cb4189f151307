"""Secrets: after a whole session of setting, using, changing and deleting a key, it is nowhere.

One scripted session on one data folder, with the real Secret Service: `chatdesk key set`, an
`ask` that uses the key, an `ask` whose server rejects the key and echoes it back in full, the
window using it, hitting the same rejection and a bug that carries the key in its message, the
settings dialog replacing it with a second key (one that does not look like an OpenAI key, so
only the app's own record of its secrets can mask it), the rejection again, a Chatdesk running
on its own, a second launch handing over to it, and `chatdesk key delete`. Then every file in
the data folder, everything the processes printed, what was on screen and the environment of
the processes is searched for either key and for its distinctive middle.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from app.application import GuiSession, excepthook_installed
from app.core.logs import LOG_FILENAME, setup_logging, teardown_logging
from app.core.model_list_cache import ModelListCache
from app.core.paths import AppPaths
from app.core.redact import mask_secret
from app.core.secrets import SERVICE_NAME, account_for
from app.platform.keyring_store import KeyringSecretStore
from app.simulator import Fault, SimulatorServer
from app.simulator.errors import KEYS_PAGE
from app.ui.main_window import MainWindow
from app.wiring import build_context
from tests.platform.conftest import (  # noqa: F401
    secret_service_fixture,
    secret_service_probe_fixture,
    secret_tool_fixture,
)
from tests.support.evidence import Evidence
from tests.support.gui_session import is_ready, settle
from tests.support.qt import WAIT_LIMIT_S, Runner, wait_until

pytestmark = [
    pytest.mark.hardening,
    pytest.mark.keyring,
    # Qt's offscreen platform cannot stack windows and says so whenever a dialog is raised.
    pytest.mark.qt_log_ignore("This plugin does not support (raise|propagateSizeHints)"),
]

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Key:
    """A fake key made to be found: a distinctive middle no other text contains."""

    value: str
    middle: str

    @classmethod
    def openai(cls) -> Key:
        middle = f"LEAKPROBEONE{secrets.token_hex(10)}"
        return cls(f"sk-proj-{secrets.token_urlsafe(9)}{middle}{secrets.token_urlsafe(9)}", middle)

    @classmethod
    def local_server(cls) -> Key:
        # Keys of OpenAI-compatible servers need not look like `sk-…`: no pattern masks them.
        middle = f"LEAKPROBETWO{secrets.token_hex(10)}"
        return cls(f"lan{secrets.token_hex(6)}{middle}{secrets.token_hex(6)}", middle)

    def found_in(self, data: bytes) -> bool:
        return any(text.encode() in data for text in (self.value, self.middle))


@dataclass
class Places:
    """Everything searched, by where it came from."""

    texts: dict[str, list[bytes]] = field(default_factory=dict)
    # What else was checked at a place, for the evidence table.
    notes: dict[str, str] = field(default_factory=dict)

    def add(self, place: str, data: bytes | str, note: str = "") -> None:
        self.texts.setdefault(place, []).append(data.encode() if isinstance(data, str) else data)
        if note:
            self.notes[place] = note

    def leaks(self, keys: tuple[Key, ...]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for place, texts in self.texts.items():
            for key in keys:
                if any(key.found_in(text) for text in texts):
                    found.setdefault(place, []).append(key.middle)
        return found


def key_free_environment(**extra: str) -> dict[str, str]:
    """The test's environment (its D-Bus session, so the keyring works) with no OpenAI keys."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return environ | {"QT_QPA_PLATFORM": "offscreen"} | extra


def chatdesk(
    places: Places,
    place: str,
    data_dir: Path,
    *args: str,
    stdin: str = "",
    environ: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `chatdesk` as a user would and keep everything it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
        cwd=REPO_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=WAIT_LIMIT_S * 2,
        env=dict(environ if environ is not None else key_free_environment()),
        check=False,
    )
    places.add(place, result.stdout)
    places.add(place, result.stderr)
    return result


def echoed_rejection(key: Key) -> Fault:
    """A 401 whose message repeats the whole key, as a careless compatible server might."""
    return Fault.status(
        401,
        message=f"Incorrect API key provided: {key.value}. You can find your API key at "
        f"{KEYS_PAGE}.",
    )


def bearer_keys(simulator: SimulatorServer) -> list[str]:
    return [r.headers.get("authorization", "").removeprefix("Bearer ") for r in simulator.requests]


def secret_tool_lookup(secret_tool: str, account: str) -> str:
    found = subprocess.run(
        [secret_tool, "lookup", "service", SERVICE_NAME, "username", account],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout


def screen_texts(*widgets: QWidget) -> str:
    """Every label and field text in these windows, as a person could read them."""
    texts = []
    for widget in widgets:
        texts += [label.text() for label in widget.findChildren(QLabel)]
        texts += [edit.text() for edit in widget.findChildren(QLineEdit)]
        texts.append(widget.accessibleDescription())
        texts.append(widget.windowTitle())
        if isinstance(widget, MainWindow):
            texts.append(widget.chat_view.rendered_text())
    return "\n".join(texts)


def environ_of(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


def children_of(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(p) for p in (task / "children").read_text().split()]
    return children


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    with SimulatorServer() as server:
        yield server


def test_a_key_set_used_changed_echoed_and_deleted_is_found_nowhere(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    simulator: SimulatorServer,
    secret_service: KeyringSecretStore,
    secret_tool: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    evidence: Evidence,
) -> None:
    """Set, used, rejected with itself echoed back, replaced, hit by a bug and deleted: neither
    key is in any file of the data folder, any output, on screen or in any environment."""
    first, second = Key.openai(), Key.local_server()
    keys = (first, second)
    base_url = simulator.base_url
    account = account_for(base_url)
    places = Places()
    picture = tmp_path / "teal.png"
    Image.new("RGB", (48, 32), (0, 128, 128)).save(picture)
    try:
        # `chatdesk key set` reads the key from stdin and keeps it in the Secret Service.
        result = chatdesk(places, "`chatdesk key set` output", data_dir, "key", "set",
                          "--base-url", base_url, stdin=first.value + "\n")  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert secret_tool_lookup(secret_tool, account) == first.value

        # `chatdesk ask` uses it, then meets a server that rejects it and echoes it back.
        result = chatdesk(places, "`chatdesk ask` output (answered, then rejected)", data_dir,
                          "ask", "--base-url", base_url, "--image", str(picture),
                          "What is in this picture?")  # fmt: skip
        assert result.returncode == 0, result.stderr
        simulator.script(echoed_rejection(first))
        result = chatdesk(places, "`chatdesk ask` output (answered, then rejected)", data_dir,
                          "ask", "--base-url", base_url, "And a harbour?")  # fmt: skip
        assert result.returncode == 1 and "API key rejected" in result.stderr
        # The server's message is shown, with the key it echoed masked.
        assert f"server said: Incorrect API key provided: {mask_secret(first.value)}." in (
            result.stderr
        )
        assert bearer_keys(simulator) == [first.value, first.value]

        run_window(qtbot, run, data_dir, simulator, keys, places, capsys)
        assert secret_tool_lookup(secret_tool, account) == second.value
        assert bearer_keys(simulator)[2:] == [first.value, first.value, second.value, second.value]

        simulator.script(echoed_rejection(second))
        result = chatdesk(places, "`chatdesk ask` output (answered, then rejected)", data_dir,
                          "ask", "--base-url", base_url, "Once more?")  # fmt: skip
        assert result.returncode == 1 and "API key rejected" in result.stderr
        # The server's message is shown, with the key it echoed masked.
        assert f"server said: Incorrect API key provided: {mask_secret(second.value)}." in (
            result.stderr
        )
        assert bearer_keys(simulator)[-1] == second.value
        places.notes["`chatdesk ask` output (answered, then rejected)"] = (
            "; the server's message echoing each key is printed with the key masked"
        )

        run_chatdesk_alone(data_dir, simulator, places)

        result = chatdesk(places, "`chatdesk key delete` and `key status` output", data_dir,
                          "key", "delete", "--base-url", base_url)  # fmt: skip
        assert result.returncode == 0 and "Deleted the key" in result.stdout
        result = chatdesk(places, "`chatdesk key delete` and `key status` output", data_dir,
                          "key", "status", "--base-url", base_url)  # fmt: skip
        assert "Source:   none" in result.stdout
        assert secret_tool_lookup(secret_tool, account) == ""
    finally:
        secret_service.delete(account)

    files = scan_data_dir(data_dir, places)
    assert places.leaks(keys) == {}
    # The bugs were logged, with tracebacks, the keys in them masked rather than left out.
    log = (data_dir / "logs" / LOG_FILENAME).read_text(encoding="utf-8")
    assert log.count("RuntimeError: unexpected answer while using") == 2
    assert mask_secret(first.value) in log and mask_secret(second.value) in log
    for place in sorted(places.texts):
        note = places.notes.get(place, "")
        evidence.record("Secrets", place, f"neither key nor its distinctive middle found{note}")
    evidence.record(
        "Secrets",
        "the scripted session: key set, used, rejected with itself echoed back (CLI and "
        "window), replaced in Settings by a key of another shape, a bug carrying it, deleted",
        f"every step checked against the real Secret Service; {len(files)} kinds of file "
        "searched in the data folder",
    )


def run_window(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    simulator: SimulatorServer,
    keys: tuple[Key, Key],
    places: Places,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The window on the same data folder: it uses the stored key, meets the echoed rejection
    and a bug holding the key, and its settings dialog replaces the key with the second one."""
    first, second = keys
    capsys.readouterr()
    context = build_context(data_dir, key_free_environment())
    # As verbose as the log can be: even debug lines must not carry a key.
    setup_logging(context.paths, logging.DEBUG, registry=context.secrets)
    context.settings_store.update(base_url=simulator.base_url)
    session = GuiSession(context)
    window = session.window
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    composer = window.composer

    async def ask(prompt: str) -> None:
        composer.take_text()  # a rejected prompt comes back into the composer
        qtbot.keyClicks(composer, prompt)
        qtbot.keyClick(composer, Qt.Key.Key_Return)
        await wait_until(lambda: session.controller.busy, "the request to start")
        await wait_until(lambda: not session.controller.busy, "the request to end")

    async def bug(key: Key) -> None:
        """A bug whose message holds the key in use reaches the excepthook, log and banner."""

        async def failing() -> None:
            raise RuntimeError(f"unexpected answer while using {key.value}")

        session.track(failing())
        await wait_until(lambda: "RuntimeError" in window.banner.headline_label.text(), "bug")
        assert window.banner.isVisible()

    async def scenario() -> None:
        await session.connect()
        await wait_until(lambda: is_ready(session), "the window to connect")
        await ask("Hello from the window")
        simulator.script(echoed_rejection(first))
        await ask("Rejected, please")
        assert window.banner.headline_label.text() == "API key rejected"
        places.add(
            "the window's screen (transcript, banner, status bar, settings dialog)",
            screen_texts(window),
        )

        await bug(first)

        client = session.client
        session.on_window_settings_requested("api_key")
        dialog = session.settings_dialog
        assert dialog is not None
        await settle(dialog)
        qtbot.keyClicks(dialog.key_edit, second.value)
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        await settle(dialog)
        await wait_until(lambda: session.client is not client, "the new key to be used")
        await wait_until(lambda: is_ready(session), "the window to reconnect")
        await ask("Hello with the new key")
        simulator.script(echoed_rejection(second))
        await ask("Rejected again, please")
        assert window.banner.headline_label.text() == "API key rejected"
        await bug(second)
        places.add(
            "the window's screen (transcript, banner, status bar, settings dialog)",
            screen_texts(window, dialog),
        )
        dialog.close()
        # The key lives in the keyring and in memory, never in the process environment.
        places.add("the window process's own environment", repr(dict(os.environ)))

    try:
        with excepthook_installed(session.report_bug):
            run(scenario())
    finally:
        run(session.shutdown())
        # The rejected prompt went back into the composer, which schedules a token count; with
        # the loop no longer running it must not fire (the app's process would have ended).
        session.controller.estimator.cancel()
        teardown_logging()
    captured = capsys.readouterr()
    places.add("the window process's stdout and stderr", captured.out + captured.err)


def run_chatdesk_alone(data_dir: Path, simulator: SimulatorServer, places: Places) -> None:
    """A Chatdesk started from the desktop (no key in its environment) takes the stored key;
    a second launch hands over to it. Neither environment, nor any child's, holds the key."""
    log_file = data_dir / "logs" / LOG_FILENAME
    seen = log_file.stat().st_size if log_file.exists() else 0
    # The server now accepts only the stored key: the model list Chatdesk fetches once it has
    # connected (and caches) shows that it found and used that key.
    stored_key = bearer_keys(simulator)[-1]
    simulator.api_key = stored_key
    model_list = ModelListCache.in_cache_dir(AppPaths.under(data_dir).cache_dir).path_for(
        simulator.base_url
    )
    model_list.unlink(missing_ok=True)
    primary = subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir)],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=key_free_environment(),
    )
    try:
        deadline = time.monotonic() + WAIT_LIMIT_S * 2
        # "SDK ready" is logged once the client is built; the model list follows.
        while (
            "SDK ready" not in log_file.read_text(encoding="utf-8")[seen:]
            or not model_list.exists()
        ):
            assert primary.poll() is None, "Chatdesk ended early"
            assert time.monotonic() < deadline, "Chatdesk did not connect"
            time.sleep(0.05)
        assert b"OPENAI_API_KEY" not in environ_of(primary.pid)
        children = children_of(primary.pid)
        places.add(
            "/proc/<pid>/environ of a running Chatdesk",
            environ_of(primary.pid),
            "; started without OPENAI_API_KEY, it connected with the stored key (a server "
            "accepting only that key listed its models to it); "
            f"{len(children)} child processes, their environments clean too",
        )
        for child in children:
            places.add("/proc/<pid>/environ of a running Chatdesk", environ_of(child))

        second = subprocess.run(
            [sys.executable, "-m", "app", "--data-dir", str(data_dir)],
            cwd=REPO_ROOT,
            capture_output=True,
            env=key_free_environment(),
            timeout=WAIT_LIMIT_S * 2,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        assert primary.poll() is None, "the second launch must hand over, not take over"
        places.add("the second launch (single instance) output", second.stdout + second.stderr)
        for child in children_of(primary.pid):
            places.add("/proc/<pid>/environ of a running Chatdesk", environ_of(child))
    finally:
        simulator.api_key = None
        primary.send_signal(signal.SIGTERM)
        out, err = primary.communicate(timeout=WAIT_LIMIT_S)
    places.add("a running Chatdesk's stdout and stderr, killed", out + err)


def scan_data_dir(data_dir: Path, places: Places) -> set[str]:
    """Add every file under the data folder (hidden ones, WAL and images included), by kind."""
    kinds = set()
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(data_dir)
        kind = _kind(relative)
        kinds.add(kind)
        places.add(f"data folder: {kind}", path.read_bytes())
    assert {"settings", "history database (with its WAL)", "logs", "history images"} <= kinds
    return kinds


def _kind(relative: Path) -> str:
    name = relative.name
    if relative.parts[0] == "logs":
        return "logs"
    if relative.parts[0] == "images":
        return "history images"
    if name.startswith("chatdesk.db"):
        return "history database (with its WAL)"
    if name == "settings.json":
        return "settings"
    if relative.parts[0] == "cache":
        return "caches"
    return "other files (lock, notices)"
