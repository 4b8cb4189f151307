"""`chatdesk key set|delete|status` against the real Secret Service; the key is never shown."""

from __future__ import annotations

import io
import logging
import os
import pty
import secrets
import select
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli.key_command import run_key_command
from app.core.logs import setup_logging, teardown_logging
from app.core.paths import AppPaths
from app.core.redact import SecretRegistry, mask_secret
from app.core.secrets import ENV_VAR, SERVICE_NAME, SecretStore, SecretStoreUnavailable, account_for
from app.core.settings_store import SettingsStore
from app.platform.keyring_store import KeyringSecretStore, NullSecretStore

# The Secret Service fixtures live with the platform tests; the CLI tests share them.
from tests.platform.conftest import (  # noqa: F401
    keyring_base_url_fixture,
    secret_service_fixture,
    secret_service_probe_fixture,
    secret_tool_fixture,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
NO_KEYRING = NullSecretStore(SecretStoreUnavailable("No system keyring found"))


def project_key() -> str:
    return "sk-proj-" + secrets.token_urlsafe(117)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(
    action: str,
    store: SecretStore,
    *,
    base_url: str = "https://api.openai.com/v1",
    stdin: str = "",
    environ: dict[str, str] | None = None,
) -> Run:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_key_command(
        action,
        base_url=base_url,
        store=store,
        environ=environ or {},
        stdin=io.StringIO(stdin),
        stdout=stdout,
        stderr=stderr,
    )
    return Run(code, stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def app_paths(data_dir: Path) -> Iterator[AppPaths]:
    """A data directory with settings and DEBUG logging in it, as the app would have."""
    paths = AppPaths.resolve(data_dir, {}).ensure()
    SettingsStore(paths.settings_file).update(theme="dark")
    root = logging.getLogger()
    level = root.level
    setup_logging(paths, logging.DEBUG, registry=SecretRegistry(), stderr=io.StringIO())
    yield paths
    teardown_logging()
    root.setLevel(level)


def files_containing(directory: Path, needle: str) -> list[Path]:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return [
        path
        for path in directory.rglob("*")
        if path.is_file() and needle.encode() in path.read_bytes()
    ]


def test_unknown_action_is_a_usage_error() -> None:
    """An action other than set, delete or status exits 2 with the usage."""
    result = run("show", NO_KEYRING)
    assert result.code == 2
    assert "usage: chatdesk key" in result.stderr


def test_invalid_base_url_is_a_usage_error() -> None:
    """A base URL that is not http(s) exits 2 with the reason and a remedy."""
    result = run("status", NO_KEYRING, base_url="localhost:8080")
    assert result.code == 2
    assert result.stderr.startswith("Error: Base URL")


def test_set_without_a_keyring_explains_the_way_out() -> None:
    """With no keyring, set fails with the headline and remedy, and never echoes the key."""
    key = project_key()
    result = run("set", NO_KEYRING, stdin=key + "\n")
    assert result.code == 1
    assert "Error: No system keyring found" in result.stderr
    assert ENV_VAR in result.stderr
    assert key not in result.output


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("", "No API key entered"),
        ("\n", "No API key entered"),
        (
            "sk-admin-" + "a1B2c3D4e5F6g7H8i9J0" * 3 + "\n",
            "Admin keys cannot call Chat Completions",
        ),
        ("sk-proj-one two\n", "spaces"),
    ],
)
def test_set_rejects_unusable_input(stdin: str, message: str) -> None:
    """Empty, admin or malformed input is refused before the keyring is touched."""
    result = run("set", NO_KEYRING, stdin=stdin)
    assert result.code == 1
    assert message in result.stderr
    assert "No system keyring" not in result.stderr
    if stdin.strip():
        assert stdin.strip() not in result.output


def test_status_with_environment_key_and_no_keyring() -> None:
    """The environment key is reported (masked) even when the keyring is unavailable."""
    key = project_key()
    result = run("status", NO_KEYRING, environ={ENV_VAR: key})
    assert result.code == 0
    assert f"environment ({ENV_VAR})" in result.stdout
    assert f"project key {mask_secret(key)}" in result.stdout
    assert "Keyring:  unavailable (No system keyring found)" in result.stdout
    assert key not in result.output


def test_status_with_no_key_and_no_keyring_fails() -> None:
    """Without any key and without a keyring, status reports the keyring problem and exits 1."""
    result = run("status", NO_KEYRING)
    assert result.code == 1
    assert "Source:   none" in result.stdout
    assert "Error: No system keyring found" in result.stderr


@pytest.mark.keyring
def test_set_stores_in_the_secret_service_and_nowhere_else(
    secret_service: KeyringSecretStore,
    keyring_base_url: str,
    secret_tool: str,
    app_paths: AppPaths,
) -> None:
    """`key set` reads stdin, stores in the Secret Service, and the key lands in no file."""
    key = project_key()
    result = run("set", secret_service, base_url=keyring_base_url, stdin=key + "\n")
    assert result.code == 0, result.stderr
    assert f"Stored project key {mask_secret(key)}" in result.stdout
    assert "Secret Service" in result.stdout
    assert key not in result.output
    account = account_for(keyring_base_url)
    assert secret_service.get(account) == key
    found = subprocess.run(
        [secret_tool, "lookup", "service", SERVICE_NAME, "username", account],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout == key
    logging.getLogger("chatdesk.test").debug("stored a key for %s", account)
    assert (app_paths.log_dir / "chatdesk.log").exists()
    assert files_containing(app_paths.data_dir, key) == []
    assert files_containing(app_paths.data_dir, key[8:-4]) == []


@pytest.mark.keyring
def test_status_reports_the_keyring_key(
    secret_service: KeyringSecretStore, keyring_base_url: str
) -> None:
    """After set, status names the keyring as the source, the kind, mask and backend."""
    key = "sk-svcacct-" + secrets.token_urlsafe(117)
    assert run("set", secret_service, base_url=keyring_base_url, stdin=key).code == 0
    result = run("status", secret_service, base_url=keyring_base_url)
    assert result.code == 0
    assert "Source:   keyring" in result.stdout
    assert f"Key:      service account key {mask_secret(key)}" in result.stdout
    assert "Keyring:  Secret Service" in result.stdout
    assert key not in result.output


@pytest.mark.keyring
def test_status_shows_the_environment_key_winning(
    secret_service: KeyringSecretStore, keyring_base_url: str
) -> None:
    """With OPENAI_API_KEY set, status says it is used and that a stored key waits behind it."""
    stored, from_env = project_key(), project_key()
    assert run("set", secret_service, base_url=keyring_base_url, stdin=stored).code == 0
    result = run("status", secret_service, base_url=keyring_base_url, environ={ENV_VAR: from_env})
    assert result.code == 0
    assert f"Source:   environment ({ENV_VAR})" in result.stdout
    assert f"Key:      project key {mask_secret(from_env)}" in result.stdout
    assert f"Also stored in the keyring: project key {mask_secret(stored)}" in result.stdout
    assert stored not in result.output and from_env not in result.output


@pytest.mark.keyring
def test_status_without_any_key(secret_service: KeyringSecretStore, keyring_base_url: str) -> None:
    """With nothing stored, status says so and how to set one."""
    result = run("status", secret_service, base_url=keyring_base_url)
    assert result.code == 0
    assert "Source:   none" in result.stdout
    assert "chatdesk key set" in result.stdout


@pytest.mark.keyring
def test_delete_removes_the_key_and_says_when_there_was_none(
    secret_service: KeyringSecretStore, keyring_base_url: str
) -> None:
    """delete removes the stored key; a second delete says there was nothing to delete."""
    assert run("set", secret_service, base_url=keyring_base_url, stdin=project_key()).code == 0
    first = run("delete", secret_service, base_url=keyring_base_url)
    assert (first.code, first.stdout.startswith("Deleted the key")) == (0, True)
    assert secret_service.get(account_for(keyring_base_url)) is None
    second = run("delete", secret_service, base_url=keyring_base_url)
    assert second.code == 0
    assert "No key was stored" in second.stdout


def _read_until(fd: int, marker: bytes) -> bytes:
    """Read the terminal until `marker` appears or the other side closes."""
    seen = b""
    while marker not in seen:
        # A generous guard against hanging forever; never a measure of speed.
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    return seen


@pytest.mark.keyring
def test_set_at_a_terminal_hides_the_key(
    secret_service: KeyringSecretStore, keyring_base_url: str
) -> None:
    """At a terminal the key is read with echo off: it never appears on screen."""
    key = project_key()
    script = textwrap.dedent(
        f"""
        import sys
        from keyring.backends.SecretService import Keyring
        from app.cli.key_command import run_key_command
        from app.platform.keyring_store import KeyringSecretStore
        sys.exit(run_key_command(
            "set", base_url={keyring_base_url!r}, store=KeyringSecretStore(Keyring()),
            environ={{}}, stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr,
        ))
        """
    )
    master, slave = pty.openpty()
    # A new session has no controlling terminal, so getpass works on the pty given as stdin.
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        start_new_session=True,
    )
    os.close(slave)
    try:
        screen = _read_until(master, b"(input is hidden): ")
        os.write(master, key.encode() + b"\n")
        screen += _read_until(master, b"\x00never\x00")
        assert child.wait(timeout=60) == 0, screen.decode(errors="replace")
    finally:
        os.close(master)
        if child.poll() is None:
            child.kill()
            child.wait()
    text = screen.decode("utf-8", errors="replace")
    assert "API key for" in text
    assert f"Stored project key {mask_secret(key)}" in text
    assert key not in text and key[8:-4] not in text
    assert secret_service.get(account_for(keyring_base_url)) == key
