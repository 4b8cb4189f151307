"""`chatdesk key set|delete|status`: the API key kept in the system keyring for one base URL.

The key is read from stdin, never from the command line, where other users see it in `ps` and
the shell keeps it in its history; at a terminal it is read without echo. Only the kind and a
masked form (`sk-proj-…abcd`) are ever printed.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from typing import TextIO

from app.core.problems import UserFacingError
from app.core.redact import SecretRegistry, redact
from app.core.secrets import (
    ENV_VAR,
    MAX_KEY_LENGTH,
    KeyResolver,
    ResolvedKey,
    SecretStore,
    SecretStoreUnavailable,
    account_for,
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
ACTIONS = ("set", "delete", "status")
USAGE = "usage: chatdesk key {set,delete,status} [--base-url URL]"


def run_key_command(
    action: str,
    *,
    base_url: str,
    store: SecretStore,
    environ: Mapping[str, str],
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
    registry: SecretRegistry | None = None,
) -> int:
    """Run one `chatdesk key` action; returns the exit code (0, 1 on failure, 2 on misuse)."""
    if action not in ACTIONS:
        stderr.write(f"{USAGE}\nchatdesk key: unknown action {redact(action)!r}\n")
        return EXIT_USAGE
    try:
        account = account_for(base_url)
    except UserFacingError as failure:
        _report(stderr, failure)
        return EXIT_USAGE
    keys = KeyResolver(store, environ, registry)
    try:
        if action == "set":
            return _set(keys, account, stdin, stdout, stderr)
        if action == "delete":
            return _delete(keys, account, stdout)
        return _status(keys, account, stdout, stderr)
    except UserFacingError as failure:
        _report(stderr, failure)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        stderr.write("\nCancelled.\n")
        return EXIT_INTERRUPTED


def _report(stderr: TextIO, failure: UserFacingError) -> None:
    stderr.write(f"Error: {redact(failure.headline)}\n")
    if failure.remedy:
        stderr.write(f"{redact(failure.remedy)}\n")


def _read_key(stdin: TextIO, stderr: TextIO, account: str) -> str:
    if stdin.isatty():
        try:
            return getpass.getpass(f"API key for {account} (input is hidden): ", stream=stderr)
        except EOFError:
            return ""
    # One byte more than any acceptable key, so an overlong input is rejected, not truncated.
    return stdin.read(MAX_KEY_LENGTH + 1)


def _set(keys: KeyResolver, account: str, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    description = keys.store_key(account, _read_key(stdin, stderr, account))
    stdout.write(f"Stored {description} for {account} in {keys.store.backend_name}.\n")
    if keys.from_environment() is not None:
        stdout.write(f"Note: {ENV_VAR} is set here and takes precedence over the stored key.\n")
    return EXIT_OK


def _delete(keys: KeyResolver, account: str, stdout: TextIO) -> int:
    backend = keys.store.backend_name
    if keys.delete_key(account):
        stdout.write(f"Deleted the key for {account} from {backend}.\n")
    else:
        stdout.write(f"No key was stored for {account} in {backend}; nothing to delete.\n")
    if keys.from_environment() is not None:
        stdout.write(f"Note: {ENV_VAR} is still set here and will be used.\n")
    return EXIT_OK


def _status(keys: KeyResolver, account: str, stdout: TextIO, stderr: TextIO) -> int:
    from_env = keys.from_environment()
    stored: ResolvedKey | None = None
    store_failure: SecretStoreUnavailable | None = None
    try:
        stored = keys.from_store(account)
    except SecretStoreUnavailable as failure:
        store_failure = failure

    active = from_env or stored
    stdout.write(f"Base URL: {account}\n")
    if active is None:
        stdout.write("Source:   none\n")
    elif active is from_env:
        stdout.write(f"Source:   environment ({ENV_VAR})\n")
    else:
        stdout.write("Source:   keyring\n")
    if active is not None:
        stdout.write(f"Key:      {active.kind.label} {active.masked}\n")
    if store_failure is None:
        stdout.write(f"Keyring:  {keys.store.backend_name}\n")
    else:
        stdout.write(f"Keyring:  unavailable ({redact(store_failure.headline)})\n")

    if active is not None and not active.kind.can_chat:
        stdout.write("Warning:  admin keys cannot call Chat Completions; use a project key.\n")
    if from_env is not None and stored is not None:
        stdout.write(
            f"Also stored in the keyring: {stored.kind.label} {stored.masked}, used when "
            f"{ENV_VAR} is unset.\n"
        )
    if active is None:
        if store_failure is not None:
            _report(stderr, store_failure)
            return EXIT_FAILURE
        stdout.write("Set one with: chatdesk key set (the key is read from stdin).\n")
    return EXIT_OK
