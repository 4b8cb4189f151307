"""Fixtures for tests against a real Secret Service (gnome-keyring in a D-Bus session).

Run them inside one:

    dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock \
        --components=secrets >/dev/null; .venv/bin/pytest tests/platform tests/cli'

Without a reachable Secret Service they skip, or fail when CHATDESK_REQUIRE_SECRET_SERVICE=1
(the project's test command sets it, so a broken setup cannot pass silently).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest

from app.core.secrets import SecretStoreUnavailable, account_for
from app.platform.keyring_store import KeyringSecretStore

REQUIRE_ENV = "CHATDESK_REQUIRE_SECRET_SERVICE"
HOW_TO_RUN = (
    "run inside: dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock "
    "--components=secrets >/dev/null; .venv/bin/pytest tests/platform tests/cli' "
    "(needs apt packages gnome-keyring dbus-x11 libsecret-tools)"
)


def secret_service_missing(reason: str) -> None:
    """Fail when the environment demands a Secret Service, skip otherwise."""
    message = f"No usable Secret Service: {reason}. {HOW_TO_RUN}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(message)


def _probe() -> KeyringSecretStore:
    from keyring.backends.SecretService import Keyring as SecretServiceKeyring

    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        secret_service_missing("DBUS_SESSION_BUS_ADDRESS is not set (no D-Bus session)")
    try:
        store = KeyringSecretStore(SecretServiceKeyring())  # type: ignore[no-untyped-call]
        account = f"https://probe-{uuid.uuid4().hex}.chatdesk.invalid/v1"
        store.set(account, "probe-value-not-a-key")
        if store.get(account) != "probe-value-not-a-key" or not store.delete(account):
            secret_service_missing("a probe entry did not round-trip")
    except SecretStoreUnavailable as exc:
        secret_service_missing(f"{exc.headline}")
    return store


@pytest.fixture(scope="session", name="secret_service_probe")
def secret_service_probe_fixture() -> KeyringSecretStore:
    return _probe()


# Fixtures carry explicit names so other test packages can import them without shadowing.
@pytest.fixture(name="secret_service")
def secret_service_fixture(secret_service_probe: KeyringSecretStore) -> KeyringSecretStore:
    """A `KeyringSecretStore` on the real Secret Service of this D-Bus session."""
    return secret_service_probe


@pytest.fixture(name="keyring_base_url")
def keyring_base_url_fixture(secret_service: KeyringSecretStore) -> Iterator[str]:
    """A base URL no other test uses; its keyring entry is removed afterwards."""
    base_url = f"https://test-{uuid.uuid4().hex}.chatdesk.invalid/v1"
    yield base_url
    secret_service.delete(account_for(base_url))


@pytest.fixture(name="secret_tool")
def secret_tool_fixture() -> str:
    """Path of libsecret's `secret-tool`, to look at the Secret Service from outside Python."""
    path = shutil.which("secret-tool")
    if path is None:
        secret_service_missing("secret-tool is not installed (apt package libsecret-tools)")
    assert path is not None
    return path


@pytest.fixture(name="keyring_daemon_tools")
def keyring_daemon_tools_fixture() -> tuple[str, str]:
    """Paths of `dbus-run-session` and `gnome-keyring-daemon`, to start a private session."""
    tools = (shutil.which("dbus-run-session"), shutil.which("gnome-keyring-daemon"))
    if None in tools:
        secret_service_missing("dbus-run-session or gnome-keyring-daemon is not installed")
    return tools[0] or "", tools[1] or ""
