"""API keys in the operating system's keyring (Secret Service, Keychain, Credential Manager).

`open_secret_store()` returns a `KeyringSecretStore` when a secure backend is available and a
`NullSecretStore` explaining why not otherwise. A plaintext backend (anything from
`keyrings.alt`, or one keyring itself rates as not recommended) is refused: a key silently
written base64-encoded to a file is worse than asking the user to fix their keyring or use
`OPENAI_API_KEY`.

Every call here may block, for D-Bus round trips or an unlock prompt the user has not answered
yet; `open_secret_store()` too, as backend detection talks to D-Bus. Callers on the GUI thread
must run them in an executor: `await loop.run_in_executor(None, store.get, account)`.
"""

from __future__ import annotations

import logging
import re

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail
from keyring.backends import null as null_backend
from keyring.errors import InitError, KeyringLocked, NoKeyringError, PasswordDeleteError

from app.core.redact import redact
from app.core.secrets import ENV_VAR, SERVICE_NAME, SecretStore, SecretStoreUnavailable

log = logging.getLogger(__name__)

# keyring's own threshold: backends below priority 1 are "not recommended" (plaintext files,
# obfuscation, the null and fail backends).
MIN_PRIORITY = 1
_FRIENDLY_NAMES = {
    "keyring.backends.SecretService": "Secret Service",
    "keyring.backends.libsecret": "Secret Service (libsecret)",
    "keyring.backends.kwallet": "KWallet",
    "keyring.backends.macOS": "macOS Keychain",
    "keyring.backends.Windows": "Windows Credential Manager",
}
_ENV_FALLBACK = (
    f"Or set {ENV_VAR} in the environment: Chatdesk and `chatdesk ask` use it without a keyring."
)
# How secretstorage and the backends word an unanswered or refused unlock prompt.
_LOCKED_WORDS = re.compile(r"\b(locked|dismissed)\b", re.IGNORECASE)
_LOCKED_REMEDY = (
    "Unlock the keyring (log in to the desktop session, or open Passwords and Keys, KWallet "
    "Manager or Keychain Access) and try again; if it asks for a new keyring, create one. "
    + _ENV_FALLBACK
)


def backend_label(backend: KeyringBackend) -> str:
    """A name a user recognises for `backend`."""
    module = type(backend).__module__
    return _FRIENDLY_NAMES.get(module, f"{module}.{type(backend).__name__}")


def _refusal(backend: KeyringBackend) -> SecretStoreUnavailable | None:
    """Why `backend` must not hold keys, or None if it may."""
    name = backend_label(backend)
    if isinstance(backend, fail.Keyring):
        return SecretStoreUnavailable("No system keyring found")
    if isinstance(backend, null_backend.Keyring):
        return SecretStoreUnavailable(
            "The system keyring is turned off (keyring is configured with its null backend)",
            "Remove `default-keyring=keyring.backends.null.Keyring` from keyringrc.cfg or unset "
            "PYTHON_KEYRING_BACKEND. " + _ENV_FALLBACK,
        )
    insecure_remedy = (
        "Uninstall keyrings.alt, or remove the keyring configuration (keyringrc.cfg, "
        "PYTHON_KEYRING_BACKEND) that selects it, so the system keyring is used. " + _ENV_FALLBACK
    )
    if type(backend).__module__.startswith("keyrings.alt"):
        return SecretStoreUnavailable(
            f"Refusing to store API keys with {name}: keyrings.alt keeps them in a file, "
            "outside the system keyring",
            insecure_remedy,
        )
    try:
        priority = backend.priority
    except Exception as exc:
        return SecretStoreUnavailable(f"The system keyring is not available: {_detail(exc)}")
    if priority < MIN_PRIORITY:
        return SecretStoreUnavailable(
            f"Refusing to store API keys with {name}: keyring rates it as insecure",
            insecure_remedy,
        )
    return None


def usable_backend(backend: KeyringBackend) -> KeyringBackend:
    """The backend keys may be kept in, or `SecretStoreUnavailable` saying why there is none.

    For keyring's chainer, the most preferred secure backend in the chain; the insecure ones
    are never consulted, not even for reading.
    """
    if isinstance(backend, chainer.ChainerBackend):
        refusals = []
        candidates: list[KeyringBackend] = list(backend.backends)
        for candidate in candidates:
            refusal = _refusal(candidate)
            if refusal is None:
                return candidate
            refusals.append(refusal)
        raise refusals[0] if refusals else SecretStoreUnavailable("No system keyring found")
    refusal = _refusal(backend)
    if refusal is not None:
        raise refusal
    return backend


def _detail(exc: BaseException) -> str:
    return redact(str(exc)).strip() or type(exc).__name__


def _unavailable(exc: Exception, action: str) -> SecretStoreUnavailable:
    """The user-facing form of a keyring backend failure."""
    detail = _detail(exc)
    if isinstance(exc, NoKeyringError):
        return SecretStoreUnavailable("No system keyring found")
    if isinstance(exc, KeyringLocked | InitError) or _LOCKED_WORDS.search(detail):
        return SecretStoreUnavailable(f"The system keyring is locked ({detail})", _LOCKED_REMEDY)
    return SecretStoreUnavailable(f"Could not {action} the system keyring: {detail}")


class KeyringSecretStore:
    """Keys in the system keyring under service `chatdesk`, one entry per base URL (account).

    Any failure of the keyring (missing, locked, a dismissed prompt, a D-Bus error) becomes
    `SecretStoreUnavailable`. Calls block: see the module docstring.
    """

    def __init__(self, backend: KeyringBackend) -> None:
        self._backend = usable_backend(backend)

    @property
    def backend_name(self) -> str:
        return backend_label(self._backend)

    # Backends raise a zoo of exception types (keyring's own, secretstorage, jeepney D-Bus
    # errors, pywin32 errors): every one of them means the store failed, so all are mapped.
    def get(self, account: str) -> str | None:
        try:
            return self._backend.get_password(SERVICE_NAME, account)
        except Exception as exc:
            raise _unavailable(exc, "read from") from exc

    def set(self, account: str, secret: str) -> None:
        try:
            self._backend.set_password(SERVICE_NAME, account, secret)
        except Exception as exc:
            raise _unavailable(exc, "save to") from exc

    def delete(self, account: str) -> bool:
        try:
            self._backend.delete_password(SERVICE_NAME, account)
        except PasswordDeleteError as exc:
            # Backends raise this both for "no such entry" and for real failures.
            if self.get(account) is None:
                return False
            raise _unavailable(exc, "delete from") from exc
        except Exception as exc:
            raise _unavailable(exc, "delete from") from exc
        return True


class NullSecretStore:
    """Stands in when there is no usable keyring: every operation reports why."""

    backend_name = "none"

    def __init__(self, reason: SecretStoreUnavailable | str) -> None:
        self._reason = (
            reason if isinstance(reason, SecretStoreUnavailable) else SecretStoreUnavailable(reason)
        )

    @property
    def reason(self) -> SecretStoreUnavailable:
        return self._reason

    def _fail(self) -> SecretStoreUnavailable:
        # A fresh exception per call, so tracebacks do not pile up on one shared instance.
        return SecretStoreUnavailable(self._reason.headline, self._reason.remedy)

    def get(self, account: str) -> str | None:
        raise self._fail()

    def set(self, account: str, secret: str) -> None:
        raise self._fail()

    def delete(self, account: str) -> bool:
        raise self._fail()


def open_secret_store() -> SecretStore:
    """The keyring store if keyring has a secure backend here, else a `NullSecretStore`."""
    try:
        return KeyringSecretStore(keyring.get_keyring())
    except SecretStoreUnavailable as exc:
        log.info("No usable keyring: %s", exc)
        return NullSecretStore(exc)
    except Exception as exc:
        # keyring raises while loading a backend named in its configuration.
        log.info("Keyring could not be loaded", exc_info=True)
        return NullSecretStore(_unavailable(exc, "open"))
