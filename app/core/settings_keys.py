"""What the settings dialog knows and says about API keys and connection tests.

Qt-free: reading the key's status and building a test connection block on the keyring, so the
dialog runs them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.core.client import ConnectionConfig
from app.core.connection import NO_KEY_PLACEHOLDER, is_openai
from app.core.failures import ApiFailure, FailureKind
from app.core.problems import UserFacingError
from app.core.secrets import (
    API_KEYS_PAGE,
    ENV_VAR,
    KeyResolver,
    ResolvedKey,
    SecretStoreUnavailable,
)

# A connection test is a quick yes or no; the chat timeout (minutes, for slow reasoning models)
# would leave the user waiting far too long on an unreachable server.
TEST_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class KeyStatus:
    """What the dialog knows about the key for one base URL."""

    base_url: str
    environment: ResolvedKey | None = None
    stored: ResolvedKey | None = None
    backend: str = ""
    unavailable: SecretStoreUnavailable | None = None


def read_key_status(keys: KeyResolver, base_url: str) -> KeyStatus:
    """Look the key up (blocking: the keyring may talk D-Bus); run it in a worker thread."""
    environment = keys.from_environment()
    try:
        stored = keys.from_store(base_url)
        backend = keys.store.backend_name
    except SecretStoreUnavailable as unavailable:
        return KeyStatus(base_url, environment, unavailable=unavailable)
    return KeyStatus(base_url, environment, stored, backend)


def key_status_text(status: KeyStatus) -> str:
    lines = []
    if status.environment is not None:
        key = status.environment
        lines.append(
            f"In use: {key.kind.label} {key.masked}, from the environment variable {ENV_VAR}, "
            "which takes precedence over the keyring."
        )
    if status.unavailable is not None:
        lines.append(
            f"{status.unavailable.headline}, so a key cannot be stored here. "
            f"{status.unavailable.remedy}"
        )
    elif status.stored is not None:
        key = status.stored
        lines.append(f"Stored in {status.backend}: {key.kind.label} {key.masked}.")
    else:
        lines.append(f"No key is stored for {status.base_url}.")
    return "\n".join(lines)


def connection_to_test(
    keys: KeyResolver, entered_key: str, values: Mapping[str, object], timeout_s: float
) -> ConnectionConfig | None:
    """What a connection test uses: the entered key, else the one a session would use.

    None when OpenAI itself would get no key. Blocking (it may read the keyring).
    """
    base_url = str(values["base_url"])
    key = entered_key
    if not key:
        try:
            resolved = keys.resolve(base_url)
        except SecretStoreUnavailable:
            if is_openai(base_url):
                raise
            resolved = None
        if resolved is not None:
            key = resolved.value
        elif is_openai(base_url):
            return None
        else:
            key = NO_KEY_PLACEHOLDER  # local servers rarely check; a 401 says if this one does
    return ConnectionConfig(
        api_key=key,
        base_url=base_url,
        organization=str(values["organization"]),
        project=str(values["project"]),
        timeout_s=timeout_s,
        connect_timeout_s=min(timeout_s, 10.0),
        max_retries=0,
    )


def problem_text(problem: UserFacingError) -> str:
    """A problem as one message: its headline, then its remedy."""
    return f"{problem.headline}. {problem.remedy}" if problem.remedy else problem.headline


def failure_text(failure: ApiFailure, base_url: str) -> str:
    """Why a connection test failed, worded for someone already in the settings."""
    if failure.kind is FailureKind.AUTH:
        # The generic remedy says "open Settings": the user is already there.
        where = f"; create one at {API_KEYS_PAGE}" if is_openai(base_url) else ""
        return (
            f"{failure.headline}. The server refused this key: check that it is complete and "
            f"meant for this base URL{where}."
        )
    return problem_text(failure)


def success_text(base_url: str, models: list[str], default_model: str) -> str:
    """What a successful connection test found, and whether the default model is among it."""
    where = urlsplit(base_url).netloc or base_url
    count = f"{len(models)} model" + ("" if len(models) == 1 else "s")
    text = f"Connection OK: {where} offers {count}."
    default = default_model.strip()
    if models and default and default not in models:
        text += f" The default model “{default}” is not among them."
    return text
