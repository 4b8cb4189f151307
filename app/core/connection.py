"""Decide where requests go and with which key, from settings, the environment and the keyring."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from app.core.client import ConnectionConfig
from app.core.problems import UserFacingError
from app.core.secrets import KeyResolver, SecretStoreUnavailable
from app.core.settings import Settings
from app.core.settings_checks import check_no_credentials

# Local OpenAI-compatible servers (llama.cpp, Ollama, LM Studio, vLLM) usually need no key, but
# the SDK insists on one; this placeholder is sent instead and a 401 still says what to do.
NO_KEY_PLACEHOLDER = "no-key"


class MissingApiKey(UserFacingError):
    def __init__(self, base_url: str) -> None:
        super().__init__(
            "No API key",
            f"Set OPENAI_API_KEY, or store a key for {base_url} with `chatdesk key set` "
            "(or in Settings); `--demo` works without one.",
        )


def is_openai(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "openai.com" or host.endswith(".openai.com")


def resolve_base_url(settings: Settings, environ: Mapping[str, str], override: str | None) -> str:
    """`--base-url`, then `OPENAI_BASE_URL`, then the saved setting.

    Raises `InvalidSetting` when the chosen URL carries a user name or password: the saved
    setting is checked on load, but the other two arrive unchecked and would otherwise reach
    logs and error messages.
    """
    if override:
        base_url, label = override, "The --base-url address"
    elif environ.get("OPENAI_BASE_URL"):
        base_url, label = environ["OPENAI_BASE_URL"], "OPENAI_BASE_URL"
    else:
        base_url, label = settings.base_url, "Base URL"
    check_no_credentials(base_url, label)
    return base_url.rstrip("/")


def resolve_connection(
    settings: Settings,
    environ: Mapping[str, str],
    keys: KeyResolver,
    *,
    base_url_override: str | None = None,
) -> ConnectionConfig:
    """The connection for the next request.

    Raises `MissingApiKey` when OpenAI itself has no key, `SecretStoreUnavailable` when the
    keyring cannot be read and nothing else provides one, and `InvalidSetting` when the base
    URL carries credentials.
    """
    base_url = resolve_base_url(settings, environ, base_url_override)
    try:
        resolved = keys.resolve(base_url)
    except SecretStoreUnavailable:
        if is_openai(base_url):
            raise
        resolved = None  # a local server rarely needs a key; it answers 401 if it does
    if resolved is not None:
        api_key = resolved.value
    elif is_openai(base_url):
        raise MissingApiKey(base_url)
    else:
        api_key = NO_KEY_PLACEHOLDER
    return ConnectionConfig(
        api_key=api_key,
        base_url=base_url,
        organization=settings.organization or environ.get("OPENAI_ORG_ID", ""),
        project=settings.project or environ.get("OPENAI_PROJECT_ID", ""),
        timeout_s=settings.request_timeout_s,
        max_retries=settings.max_retries,
    )
