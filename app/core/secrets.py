"""API keys: what kind a key is, where it comes from, and the interface to the store that keeps it.

A key is stored per base URL (one for api.openai.com, another for a local server) in the
system keyring, behind the `SecretStore` protocol; `app.platform.keyring_store` implements it.
`OPENAI_API_KEY` in the environment takes precedence for the session and is never stored.
No key is ever written to settings, logs or messages: only `describe_key(...).masked`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from app.core.problems import UserFacingError
from app.core.redact import SecretRegistry, mask_secret
from app.core.settings_checks import check_base_url

ENV_VAR = "OPENAI_API_KEY"
SERVICE_NAME = "chatdesk"
API_KEYS_PAGE = "https://platform.openai.com/api-keys"
# Real keys are a few hundred characters at most; anything far longer is a paste gone wrong.
MAX_KEY_LENGTH = 4096
_DEFAULT_PORTS = {"http": 80, "https": 443}


class KeyKind(StrEnum):
    """What an API key is, told by its prefix."""

    PROJECT = "project"
    SERVICE_ACCOUNT = "service_account"
    ADMIN = "admin"
    USER = "user"
    OTHER = "other"

    @classmethod
    def of(cls, key: str) -> KeyKind:
        # Most specific prefix first: every OpenAI key starts with "sk-".
        for prefix, kind in (
            ("sk-proj-", cls.PROJECT),
            ("sk-svcacct-", cls.SERVICE_ACCOUNT),
            ("sk-admin-", cls.ADMIN),
            ("sk-", cls.USER),
        ):
            if key.startswith(prefix):
                return kind
        return cls.OTHER

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]

    @property
    def can_chat(self) -> bool:
        """Admin keys manage an organization; the API refuses them for chat completions."""
        return self is not KeyKind.ADMIN


_KIND_LABELS = {
    KeyKind.PROJECT: "project key",
    KeyKind.SERVICE_ACCOUNT: "service account key",
    KeyKind.ADMIN: "admin key",
    KeyKind.USER: "user key (legacy)",
    KeyKind.OTHER: "key for an OpenAI-compatible server",
}


@dataclass(frozen=True)
class KeyDescription:
    """What may be shown about a key: its kind and a masked form such as `sk-proj-…abcd`."""

    kind: KeyKind
    masked: str

    def __str__(self) -> str:
        return f"{self.kind.label} {self.masked}"


def describe_key(key: str) -> KeyDescription:
    return KeyDescription(KeyKind.of(key), mask_secret(key))


class InvalidKey(UserFacingError):
    """A key the user entered that cannot be stored or used."""


def validate_new_key(key: str) -> str:
    """The key as it should be stored (surrounding whitespace trimmed), or `InvalidKey`."""
    cleaned = key.strip()
    if not cleaned:
        raise InvalidKey("No API key entered", f"Paste a key from {API_KEYS_PAGE}")
    if len(cleaned) > MAX_KEY_LENGTH:
        raise InvalidKey(
            "That is too long to be an API key", f"Paste only the key from {API_KEYS_PAGE}"
        )
    if any(ch.isspace() for ch in cleaned):
        raise InvalidKey(
            "The API key contains spaces or line breaks",
            "Paste only the key itself, on one line (it starts with sk- for OpenAI)",
        )
    if any(not ch.isprintable() for ch in cleaned):
        raise InvalidKey(
            "The API key contains control characters",
            "Copy the key again from where it was created and paste it as plain text",
        )
    if not cleaned.isascii():
        # Keys travel in an HTTP header; typographic quotes or dashes from a document break it.
        raise InvalidKey(
            "The API key contains non-ASCII characters (such as typographic quotes)",
            "Copy the key again as plain text",
        )
    if KeyKind.of(cleaned) is KeyKind.ADMIN:
        raise InvalidKey(
            "Admin keys cannot call Chat Completions",
            f"Create a project key (sk-proj-…) at {API_KEYS_PAGE} and use that instead",
        )
    return cleaned


def account_for(base_url: str) -> str:
    """The keyring account for `base_url`: one entry however the URL is spelled.

    Scheme and host are lowercased, a default port and trailing slashes dropped; the path keeps
    its case (servers may distinguish it). Raises `InvalidSetting` for a URL that is not one.
    """
    parts = urlsplit(check_base_url(base_url))
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def keyring_remedy(platform: str) -> str:
    """What to install or unlock so the system keyring works on `platform` (`sys.platform`)."""
    if platform == "darwin":
        store = "Open Keychain Access and unlock your login keychain."
    elif platform.startswith(("win32", "cygwin")):
        store = "Make sure Windows Credential Manager is available for your user account."
    else:
        store = (
            "Install and unlock a Secret Service provider, such as GNOME Keyring "
            "(gnome-keyring) or KWallet, in a desktop session with D-Bus running."
        )
    return (
        f"{store} Or set {ENV_VAR} in the environment: Chatdesk and `chatdesk ask` use it "
        "without a keyring."
    )


class SecretStoreUnavailable(UserFacingError):
    """The system keyring cannot be used (missing, locked, refused as insecure, or failing)."""

    def __init__(self, headline: str, remedy: str | None = None) -> None:
        super().__init__(headline, keyring_remedy(sys.platform) if remedy is None else remedy)


class SecretStore(Protocol):
    """Where keys are kept, one per account (a normalised base URL, see `account_for`).

    Implementations raise `SecretStoreUnavailable` for any failure of the store itself, and may
    block (a keyring unlock prompt, D-Bus): call them off the GUI thread.
    """

    @property
    def backend_name(self) -> str: ...

    def get(self, account: str) -> str | None: ...

    def set(self, account: str, secret: str) -> None: ...

    def delete(self, account: str) -> bool:
        """Remove the entry; False if there was none."""
        ...


class KeySource(Enum):
    ENVIRONMENT = "environment"
    KEYRING = "keyring"

    @property
    def label(self) -> str:
        if self is KeySource.ENVIRONMENT:
            return f"the environment variable {ENV_VAR}"
        return "the system keyring"


@dataclass(frozen=True)
class ResolvedKey:
    """A key ready for use, and where it came from. Its repr and str never show the value."""

    value: str = field(repr=False)
    source: KeySource
    kind: KeyKind

    @property
    def masked(self) -> str:
        return mask_secret(self.value)

    def __str__(self) -> str:
        return f"{self.kind.label} {self.masked} from {self.source.label}"


class KeyResolver:
    """Finds the key for a base URL: the environment first, then the store.

    Every key it resolves or stores is added to `registry`, so logs mask it even when it does
    not look like an OpenAI key.
    """

    def __init__(
        self,
        store: SecretStore,
        environ: Mapping[str, str],
        registry: SecretRegistry | None = None,
    ) -> None:
        self._store = store
        self._environ = environ
        self._registry = registry

    @property
    def store(self) -> SecretStore:
        return self._store

    def from_environment(self) -> ResolvedKey | None:
        """The key in `OPENAI_API_KEY`, if set; it applies to every base URL this session."""
        value = self._environ.get(ENV_VAR, "").strip()
        if not value:
            return None
        return self._resolved(value, KeySource.ENVIRONMENT)

    def from_store(self, base_url: str) -> ResolvedKey | None:
        """The stored key for `base_url`; raises `SecretStoreUnavailable` if the store fails."""
        value = self._store.get(account_for(base_url))
        if not value:
            return None
        return self._resolved(value, KeySource.KEYRING)

    def resolve(self, base_url: str) -> ResolvedKey | None:
        """The key to use for `base_url`, or None if there is none anywhere."""
        return self.from_environment() or self.from_store(base_url)

    def store_key(self, base_url: str, key: str) -> KeyDescription:
        """Validate and store `key` for `base_url`; never stored anywhere but the store."""
        cleaned = validate_new_key(key)
        self._register(cleaned)
        self._store.set(account_for(base_url), cleaned)
        return describe_key(cleaned)

    def delete_key(self, base_url: str) -> bool:
        """Forget the stored key for `base_url`; False if there was none."""
        return self._store.delete(account_for(base_url))

    def _resolved(self, value: str, source: KeySource) -> ResolvedKey:
        self._register(value)
        return ResolvedKey(value, source, KeyKind.of(value))

    def _register(self, value: str) -> None:
        if self._registry is not None:
            self._registry.add(value)
