"""The keyring edge: real Secret Service round trips, and refusal of anything insecure."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail
from keyring.compat import properties
from keyring.errors import KeyringLocked

from app.core.secrets import (
    ENV_VAR,
    SERVICE_NAME,
    KeyResolver,
    KeySource,
    SecretStoreUnavailable,
    account_for,
)
from app.platform.keyring_store import (
    KeyringSecretStore,
    NullSecretStore,
    open_secret_store,
    usable_backend,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def project_key() -> str:
    return "sk-proj-" + secrets.token_urlsafe(117)


class PlaintextTestKeyring(KeyringBackend):
    """Keeps passwords in a dict and rates itself as keyrings.alt's plaintext file does."""

    # Not viable: keyring's own backend discovery must never pick this class up.
    viable = False

    @properties.classproperty
    def priority(cls) -> float:
        return 0.5

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


class TrustedTestKeyring(PlaintextTestKeyring):
    """The same dict, claiming the priority of a real OS keyring."""

    @properties.classproperty
    def priority(cls) -> float:
        return 5


class AltModuleTestKeyring(TrustedTestKeyring):
    """Claims a high priority but comes from keyrings.alt."""


AltModuleTestKeyring.__module__ = "keyrings.alt.file"


class LockedTestKeyring(TrustedTestKeyring):
    """Fails the way a keyring does when the user dismisses the unlock prompt."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


class BrokenBusTestKeyring(TrustedTestKeyring):
    """Fails the way a backend does when the D-Bus connection drops."""

    def get_password(self, service: str, username: str) -> str | None:
        raise ConnectionResetError(104, "Connection reset by peer")


def chain_of(*backends: KeyringBackend) -> chainer.ChainerBackend:
    class FixedChain(chainer.ChainerBackend):
        viable = False

    FixedChain.backends = list(backends)  # type: ignore[assignment]
    return FixedChain()  # type: ignore[no-untyped-call]


@pytest.fixture
def configured_keyring() -> Iterator[None]:
    """Restores keyring's process-wide backend after a test sets its own."""
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


@pytest.mark.keyring
def test_round_trip_on_the_real_secret_service(
    secret_service: KeyringSecretStore, keyring_base_url: str
) -> None:
    """A key set in the Secret Service reads back, deletes once, then is gone."""
    account = account_for(keyring_base_url)
    key = project_key()
    assert secret_service.get(account) is None
    secret_service.set(account, key)
    assert secret_service.get(account) == key
    assert secret_service.delete(account) is True
    assert secret_service.get(account) is None
    assert secret_service.delete(account) is False


@pytest.mark.keyring
def test_entry_is_visible_to_libsecret(
    secret_service: KeyringSecretStore, keyring_base_url: str, secret_tool: str
) -> None:
    """secret-tool finds the entry under service `chatdesk`: it is in the real Secret Service."""
    account = account_for(keyring_base_url)
    key = project_key()
    secret_service.set(account, key)
    found = subprocess.run(
        [secret_tool, "lookup", "service", SERVICE_NAME, "username", account],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout == key


@pytest.mark.keyring
def test_one_entry_per_base_url(secret_service: KeyringSecretStore, keyring_base_url: str) -> None:
    """Spellings of one base URL share a key; another base URL has its own."""
    keys = KeyResolver(secret_service, {})
    first, second = project_key(), project_key()
    keys.store_key(keyring_base_url + "/", first)
    other_url = keyring_base_url.replace("https://test-", "https://other-")
    try:
        keys.store_key(other_url, second)
        shouting = keyring_base_url.replace("https://test-", "HTTPS://TEST-")
        resolved = keys.resolve(shouting)
        assert resolved is not None and resolved.value == first
        resolved_other = keys.resolve(other_url)
        assert resolved_other is not None and resolved_other.value == second
    finally:
        keys.delete_key(other_url)


@pytest.mark.keyring
def test_environment_key_wins_over_the_keyring(
    secret_service: KeyringSecretStore, keyring_base_url: str
) -> None:
    """OPENAI_API_KEY is used instead of the stored key, and the stored key is untouched."""
    stored, from_env = project_key(), project_key()
    secret_service.set(account_for(keyring_base_url), stored)
    resolved = KeyResolver(secret_service, {ENV_VAR: from_env}).resolve(keyring_base_url)
    assert resolved is not None
    assert (resolved.value, resolved.source) == (from_env, KeySource.ENVIRONMENT)
    assert secret_service.get(account_for(keyring_base_url)) == stored


@pytest.mark.keyring
def test_open_secret_store_picks_the_secret_service(
    secret_service: KeyringSecretStore, configured_keyring: None
) -> None:
    """With a Secret Service on the session bus, keyring's own detection leads to it."""
    keyring.core.init_backend()
    store = open_secret_store()
    assert isinstance(store, KeyringSecretStore)
    assert store.backend_name == "Secret Service"


def test_dismissed_unlock_prompt_is_reported_as_locked(
    tmp_path: Path, keyring_daemon_tools: tuple[str, str]
) -> None:
    """A Secret Service whose prompt nobody can answer gives a clear 'locked' error, no hang."""
    dbus_run_session, daemon = keyring_daemon_tools
    script = textwrap.dedent(
        """
        from keyring.backends.SecretService import Keyring
        from app.core.secrets import SecretStoreUnavailable
        from app.platform.keyring_store import KeyringSecretStore
        try:
            KeyringSecretStore(Keyring()).set("https://x.invalid/v1", "not-a-real-key-123")
        except SecretStoreUnavailable as exc:
            print(exc.headline)
            print(exc.remedy)
        else:
            print("STORED")
        """
    )
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    # A fresh home: no login keyring exists, and without --unlock creating one needs a prompt.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_RUNTIME_DIR": str(runtime),
        "PYTHONPATH": str(REPO_ROOT),
    }
    shell = f'"{daemon}" --components=secrets >/dev/null 2>&1; exec "{sys.executable}" -c "$0"'
    result = subprocess.run(
        [dbus_run_session, "--", "sh", "-c", shell, script],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    headline, remedy, *_ = [*result.stdout.splitlines(), "", ""]
    assert headline.startswith("The system keyring is locked"), result.stdout + result.stderr
    assert "Unlock" in remedy and ENV_VAR in remedy


def test_null_store_reports_the_reason_it_was_given() -> None:
    """Every operation of the null store raises the reason, with a remedy naming the way out."""
    store = NullSecretStore(SecretStoreUnavailable("No system keyring found"))
    assert store.backend_name == "none"
    for operation in (
        lambda: store.get("https://api.openai.com/v1"),
        lambda: store.set("https://api.openai.com/v1", project_key()),
        lambda: store.delete("https://api.openai.com/v1"),
    ):
        with pytest.raises(SecretStoreUnavailable) as raised:
            operation()
        assert raised.value.headline == "No system keyring found"
        assert ENV_VAR in raised.value.remedy
        assert "Secret Service" in raised.value.remedy or "Keychain" in raised.value.remedy


def test_null_store_accepts_a_plain_reason() -> None:
    """A reason given as text becomes the headline of the error."""
    with pytest.raises(SecretStoreUnavailable, match="keyring disabled for this run"):
        NullSecretStore("keyring disabled for this run").get("https://api.openai.com/v1")


def test_environment_key_needs_no_keyring() -> None:
    """With OPENAI_API_KEY set, a missing keyring is never consulted."""
    key = project_key()
    store = NullSecretStore(SecretStoreUnavailable("No system keyring found"))
    resolved = KeyResolver(store, {ENV_VAR: key}).resolve("https://api.openai.com/v1")
    assert resolved is not None and resolved.value == key


def test_plaintext_backend_is_refused(configured_keyring: None) -> None:
    """A backend keyring rates as insecure is never used, even when it is configured."""
    plaintext = PlaintextTestKeyring()
    keyring.set_keyring(plaintext)
    store = open_secret_store()
    assert isinstance(store, NullSecretStore)
    assert "insecure" in store.reason.headline
    with pytest.raises(SecretStoreUnavailable):
        store.set("https://api.openai.com/v1", project_key())
    with pytest.raises(SecretStoreUnavailable, match="insecure"):
        KeyringSecretStore(plaintext)
    assert plaintext.passwords == {}


def test_keyrings_alt_backend_is_refused_whatever_its_priority() -> None:
    """Anything from keyrings.alt is refused, as it keeps keys in a file."""
    with pytest.raises(SecretStoreUnavailable) as raised:
        KeyringSecretStore(AltModuleTestKeyring())
    assert "keeps them in a file" in raised.value.headline
    assert "keyrings.alt" in raised.value.remedy


def test_chainer_of_only_insecure_backends_is_refused() -> None:
    """keyring's chainer holding only plaintext backends is refused like them."""
    with pytest.raises(SecretStoreUnavailable, match="insecure"):
        KeyringSecretStore(chain_of(PlaintextTestKeyring()))


def test_chainer_uses_only_its_secure_backend() -> None:
    """From a mixed chain, keys go to and come from the secure backend alone."""
    trusted, plaintext = TrustedTestKeyring(), PlaintextTestKeyring()
    plaintext.set_password(SERVICE_NAME, "https://api.openai.com/v1", "left-over-plaintext-key")
    store = KeyringSecretStore(chain_of(trusted, plaintext))
    assert store.get("https://api.openai.com/v1") is None
    key = project_key()
    store.set("https://api.openai.com/v1", key)
    assert trusted.passwords == {(SERVICE_NAME, "https://api.openai.com/v1"): key}
    assert usable_backend(chain_of(trusted, plaintext)) is trusted


def test_fail_backend_means_no_keyring(configured_keyring: None) -> None:
    """keyring's fail backend (headless Linux without a Secret Service) yields the null store."""
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    store = open_secret_store()
    assert isinstance(store, NullSecretStore)
    assert store.reason.headline == "No system keyring found"


def test_locked_keyring_becomes_secret_store_unavailable() -> None:
    """A locked keyring is reported with a remedy to unlock it."""
    store = KeyringSecretStore(LockedTestKeyring())
    for operation in (
        lambda: store.get("https://api.openai.com/v1"),
        lambda: store.set("https://api.openai.com/v1", project_key()),
        lambda: store.delete("https://api.openai.com/v1"),
    ):
        with pytest.raises(SecretStoreUnavailable) as raised:
            operation()
        assert "locked" in raised.value.headline
        assert "Unlock" in raised.value.remedy


def test_backend_transport_error_becomes_secret_store_unavailable() -> None:
    """A dropped D-Bus connection is a store failure, with the cause kept for the log."""
    with pytest.raises(SecretStoreUnavailable, match="Could not read from") as raised:
        KeyringSecretStore(BrokenBusTestKeyring()).get("https://api.openai.com/v1")
    assert isinstance(raised.value.__cause__, ConnectionResetError)
