"""API keys: kinds, masking, validation, per-URL accounts, and where a key comes from."""

from __future__ import annotations

import secrets

import pytest

from app.core.problems import UserFacingError
from app.core.redact import SecretRegistry
from app.core.secrets import (
    ENV_VAR,
    MAX_KEY_LENGTH,
    InvalidKey,
    KeyKind,
    KeyResolver,
    KeySource,
    SecretStoreUnavailable,
    account_for,
    describe_key,
    keyring_remedy,
    validate_new_key,
)
from app.core.settings_checks import InvalidSetting

OPENAI = "https://api.openai.com/v1"


def key(prefix: str = "sk-proj-") -> str:
    return prefix + secrets.token_urlsafe(117)


class DictSecretStore:
    """An in-memory stand-in for the system keyring, the one true edge here."""

    backend_name = "memory"

    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    def get(self, account: str) -> str | None:
        return self.entries.get(account)

    def set(self, account: str, secret: str) -> None:
        self.entries[account] = secret

    def delete(self, account: str) -> bool:
        return self.entries.pop(account, None) is not None


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("sk-proj-", KeyKind.PROJECT),
        ("sk-svcacct-", KeyKind.SERVICE_ACCOUNT),
        ("sk-admin-", KeyKind.ADMIN),
        ("sk-", KeyKind.USER),
        ("sk-None-", KeyKind.USER),
        ("gsk_", KeyKind.OTHER),
        ("", KeyKind.OTHER),
    ],
)
def test_kind_is_told_by_the_prefix(prefix: str, kind: KeyKind) -> None:
    """Each documented prefix maps to its kind; anything else is a compatible server's key."""
    assert KeyKind.of(key(prefix)) is kind
    assert kind.label


def test_only_admin_keys_cannot_chat() -> None:
    """Admin keys are flagged as unable to call chat completions."""
    assert [k for k in KeyKind if not k.can_chat] == [KeyKind.ADMIN]


def test_description_shows_kind_and_a_masked_form_only() -> None:
    """describe_key gives the kind and at most the prefix and last four characters."""
    value = key()
    description = describe_key(value)
    assert description.kind is KeyKind.PROJECT
    assert description.masked == f"sk-proj-…{value[-4:]}"
    assert str(description) == f"project key sk-proj-…{value[-4:]}"
    assert value[8:-4] not in str(description)


def test_new_key_is_trimmed() -> None:
    """Whitespace and the newline from a paste or a pipe are removed."""
    value = key()
    assert validate_new_key(f"  {value}\r\n") == value


@pytest.mark.parametrize(
    ("raw", "headline"),
    [
        ("", "No API key entered"),
        (" \n\t", "No API key entered"),
        ("sk-proj-abc def", "spaces"),
        ("sk-proj-abc\ndef", "line breaks"),
        ("sk-proj-abc\x00def", "control characters"),
        ("“sk-proj-abcdef”", "non-ASCII"),
        (key("sk-admin-"), "Admin keys cannot call Chat Completions"),
        ("x" * (MAX_KEY_LENGTH + 1), "too long"),
    ],
)
def test_new_key_is_rejected_with_a_clear_message(raw: str, headline: str) -> None:
    """Unusable keys raise a user-facing error that says what is wrong and never repeats it."""
    with pytest.raises(InvalidKey) as raised:
        validate_new_key(raw)
    assert headline in raised.value.headline
    assert raised.value.remedy
    if raw.strip():
        assert raw.strip() not in str(raised.value)


def test_keys_for_compatible_servers_are_accepted() -> None:
    """A key of any other shape is fine: OpenAI-compatible servers choose their own."""
    assert validate_new_key("gsk_local-TOKEN.123") == "gsk_local-TOKEN.123"


@pytest.mark.parametrize(
    "spelling",
    [
        "https://api.openai.com/v1",
        "https://api.openai.com/v1/",
        "https://API.OpenAI.com/v1//",
        "HTTPS://api.openai.com:443/v1",
        "  https://api.openai.com/v1  ",
    ],
)
def test_spellings_of_one_base_url_share_an_account(spelling: str) -> None:
    """Trailing slashes, host case, scheme case and the default port do not matter."""
    assert account_for(spelling) == OPENAI


def test_accounts_keep_what_distinguishes_servers() -> None:
    """Different ports, paths (with their case) and schemes are different accounts."""
    accounts = {
        account_for(url)
        for url in (
            "http://localhost:11434/v1",
            "http://localhost:8080/v1",
            "http://localhost:8080/V1",
            "https://localhost:8080/v1",
            "http://[::1]:8080/v1",
        )
    }
    assert len(accounts) == 5
    assert "http://[::1]:8080/v1" in accounts


def test_invalid_base_url_has_no_account() -> None:
    """A base URL that is not http(s) raises the same user-facing error as in settings."""
    with pytest.raises(InvalidSetting) as raised:
        account_for("localhost:11434")
    assert isinstance(raised.value, UserFacingError)


@pytest.mark.parametrize(
    ("platform", "names"),
    [
        ("linux", ("Secret Service", "GNOME Keyring", "KWallet")),
        ("darwin", ("Keychain",)),
        ("win32", ("Credential Manager",)),
    ],
)
def test_keyring_remedy_names_the_platform_store_and_the_env_var(
    platform: str, names: tuple[str, ...]
) -> None:
    """The remedy says what to install or unlock, and that OPENAI_API_KEY needs no keyring."""
    remedy = keyring_remedy(platform)
    assert all(name in remedy for name in names)
    assert ENV_VAR in remedy and "chatdesk ask" in remedy


def test_secret_store_unavailable_is_user_facing() -> None:
    """The error has a headline and, by default, this platform's remedy."""
    error = SecretStoreUnavailable("No system keyring found")
    assert isinstance(error, UserFacingError)
    assert error.headline == "No system keyring found"
    assert ENV_VAR in error.remedy


def test_environment_key_wins_and_is_never_stored() -> None:
    """OPENAI_API_KEY is used for every base URL and never written to the store."""
    store = DictSecretStore()
    store.set(OPENAI, key())
    env_key = key()
    resolver = KeyResolver(store, {ENV_VAR: f"{env_key}\n"})
    for base_url in (OPENAI, "http://localhost:11434/v1"):
        resolved = resolver.resolve(base_url)
        assert resolved is not None
        assert (resolved.value, resolved.source) == (env_key, KeySource.ENVIRONMENT)
    assert env_key not in store.entries.values()


def test_blank_environment_variable_is_ignored() -> None:
    """An empty OPENAI_API_KEY does not hide the stored key."""
    store = DictSecretStore()
    stored = key()
    store.set(OPENAI, stored)
    resolved = KeyResolver(store, {ENV_VAR: "  "}).resolve(OPENAI + "/")
    assert resolved is not None
    assert (resolved.value, resolved.source, resolved.kind) == (
        stored,
        KeySource.KEYRING,
        KeyKind.PROJECT,
    )


def test_no_key_anywhere_resolves_to_none() -> None:
    """Without environment or stored key there is nothing to use."""
    assert KeyResolver(DictSecretStore(), {}).resolve(OPENAI) is None


def test_resolved_key_never_shows_its_value() -> None:
    """repr and str of a resolved key show the kind, masked form and source only."""
    value = key("sk-svcacct-")
    resolved = KeyResolver(DictSecretStore(), {ENV_VAR: value}).resolve(OPENAI)
    assert resolved is not None
    for text in (repr(resolved), str(resolved), f"{resolved}", repr([resolved])):
        assert value not in text
        assert value[11:-4] not in text
    assert str(resolved) == (
        f"service account key sk-svcacct-…{value[-4:]} from the environment variable {ENV_VAR}"
    )


def test_resolved_and_stored_keys_are_registered_for_redaction() -> None:
    """Every key the resolver hands out or stores is masked in logs from then on."""
    registry = SecretRegistry()
    store = DictSecretStore()
    local_key = "local-server-token-5e1f0a"
    resolver = KeyResolver(store, {}, registry)
    resolver.store_key("http://localhost:8080/v1", local_key)
    assert local_key not in registry.redact(f"using {local_key}")
    env_key = "env-local-token-99a1b2c3"
    KeyResolver(store, {ENV_VAR: env_key}, registry).resolve(OPENAI)
    assert env_key not in registry.redact(env_key)


def test_store_key_validates_then_stores_under_the_account() -> None:
    """store_key trims and stores under the normalised URL; an invalid key stores nothing."""
    store = DictSecretStore()
    resolver = KeyResolver(store, {})
    value = key()
    description = resolver.store_key("https://API.openai.com/v1/", f"{value}\n")
    assert store.entries == {OPENAI: value}
    assert description.kind is KeyKind.PROJECT
    with pytest.raises(InvalidKey):
        resolver.store_key("http://localhost:1234/v1", key("sk-admin-"))
    assert list(store.entries) == [OPENAI]


def test_delete_key_reports_whether_there_was_one() -> None:
    """delete_key removes the entry for the URL and says if there was none."""
    store = DictSecretStore()
    resolver = KeyResolver(store, {})
    resolver.store_key(OPENAI, key())
    assert resolver.delete_key(OPENAI + "/") is True
    assert resolver.delete_key(OPENAI) is False
    assert store.entries == {}
