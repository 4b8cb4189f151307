"""A secret store opened on first use."""

from __future__ import annotations

from collections.abc import Callable

from app.core.secrets import SecretStore


class LazySecretStore:
    """Opens the real store on first use, so a session keyed by OPENAI_API_KEY never touches
    the keyring (importing and probing its backends costs tens of milliseconds and D-Bus)."""

    def __init__(self, opener: Callable[[], SecretStore]) -> None:
        self._opener = opener
        self._store: SecretStore | None = None

    def _opened(self) -> SecretStore:
        if self._store is None:
            self._store = self._opener()
        return self._store

    @property
    def backend_name(self) -> str:
        return self._opened().backend_name

    def get(self, account: str) -> str | None:
        return self._opened().get(account)

    def set(self, account: str, secret: str) -> None:
        self._opened().set(account, secret)

    def delete(self, account: str) -> bool:
        return self._opened().delete(account)
