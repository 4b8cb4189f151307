"""Logging: no key reaches the log file or stderr, however it is logged."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest

from app.core.connection import resolve_base_url
from app.core.logs import (
    LOG_FILENAME,
    RedactingFilter,
    RedactingFormatter,
    setup_logging,
    teardown_logging,
)
from app.core.paths import AppPaths
from app.core.redact import SecretRegistry, mask_secret
from app.core.settings import Settings
from app.core.settings_checks import InvalidSetting

KEY = "sk-proj-" + secrets.token_urlsafe(117)
LOCAL_SECRET = "local-server-secret-0d9f8e7c6b5a"
log = logging.getLogger("chatdesk.test")


class Logged:
    """What a test's logging produced: the log file(s) and stderr."""

    def __init__(self, paths: AppPaths, stderr: io.StringIO) -> None:
        self.paths = paths
        self.stderr = stderr

    def file_text(self) -> str:
        for handler in logging.getLogger().handlers:
            handler.flush()
        return "".join(p.read_text("utf-8") for p in sorted(self.paths.log_dir.iterdir()))

    def everything(self) -> str:
        return self.file_text() + self.stderr.getvalue()


@pytest.fixture(autouse=True)
def _restore_root_level() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    teardown_logging()
    root.setLevel(level)


@pytest.fixture
def registry() -> SecretRegistry:
    registry = SecretRegistry()
    registry.add(LOCAL_SECRET)
    return registry


@pytest.fixture
def logged(tmp_path: Path, registry: SecretRegistry) -> Iterator[Logged]:
    """Chatdesk logging set up at DEBUG under a private data directory."""
    paths = AppPaths.under(tmp_path / "data").ensure()
    stderr = io.StringIO()
    setup_logging(paths, logging.DEBUG, registry=registry, stderr=stderr)
    yield Logged(paths, stderr)
    teardown_logging()


def test_key_in_an_fstring_is_masked(logged: Logged) -> None:
    """A key interpolated into the message is masked in the file and on stderr."""
    log.warning(f"request failed with key {KEY}")
    assert KEY not in logged.everything()
    assert f"request failed with key {mask_secret(KEY)}" in logged.file_text()
    assert mask_secret(KEY) in logged.stderr.getvalue()


def test_key_passed_as_an_argument_is_masked(logged: Logged) -> None:
    """logger.info("%s", key) masks the argument."""
    log.info("%s", KEY)
    log.error("key=%(key)s", {"key": KEY})
    assert KEY not in logged.everything()
    assert logged.file_text().count(mask_secret(KEY)) == 2


def test_exception_message_and_traceback_are_masked(logged: Logged) -> None:
    """An exception carrying the key, chained to another, is masked throughout the traceback."""

    def fail_with_key() -> None:
        try:
            raise ConnectionError(f"Authorization: Bearer {KEY}")
        except ConnectionError as exc:
            raise RuntimeError(f"request with {KEY} failed") from exc

    try:
        fail_with_key()
    except RuntimeError:
        log.exception("while sending")
    text = logged.everything()
    assert KEY not in text
    assert "Traceback" in text and "fail_with_key" in text
    assert "ConnectionError: Authorization: Bearer sk-proj-…" in logged.file_text()


def test_key_in_a_url_query_or_json_is_masked(logged: Logged) -> None:
    """Keys embedded in URLs and JSON bodies are masked."""
    log.warning("GET https://example.com/v1/models?api_key=%s&limit=1", KEY)
    log.debug("body %s", json.dumps({"messages": [], "api_key": KEY}))
    text = logged.everything()
    assert KEY not in text
    assert "&limit=1" in text


def test_registered_secret_for_a_compatible_server_is_masked(logged: Logged) -> None:
    """A registered secret that does not look like an OpenAI key is masked too."""
    log.warning("connecting with %s", LOCAL_SECRET)
    assert LOCAL_SECRET not in logged.everything()
    assert mask_secret(LOCAL_SECRET) in logged.file_text()


def test_secret_registered_after_setup_is_masked(logged: Logged, registry: SecretRegistry) -> None:
    """Secrets resolved later (a key typed in Settings) are masked from then on."""
    later = "another-local-secret-71c2e9aa"
    registry.add(later)
    log.warning("now using %s", later)
    assert later not in logged.everything()


def test_extra_fields_are_masked_by_the_filter() -> None:
    """`extra` values reach any handler that carries the filter already masked."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(SecretRegistry()))
    handler.setFormatter(logging.Formatter("%(message)s | %(api_key)s | %(headers)s"))
    logger = logging.getLogger("chatdesk.test.extra")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("sent", extra={"api_key": KEY, "headers": {"Authorization": KEY}})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert KEY not in stream.getvalue()
    assert stream.getvalue().startswith(f"sent | {mask_secret(KEY)} | ")


def test_extra_fields_used_by_the_format_are_masked_by_the_formatter() -> None:
    """The formatter masks the finished text, including extras its format string uses."""
    formatter = RedactingFormatter(SecretRegistry(), "%(message)s %(token)s")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token:", None, None)
    record.token = KEY
    assert formatter.format(record) == f"token: {mask_secret(KEY)}"


def test_stderr_shows_only_warnings_and_the_file_everything(logged: Logged) -> None:
    """Info goes to the file only; warnings go to both."""
    log.info("routine detail")
    log.warning("something to see")
    assert "routine detail" in logged.file_text()
    assert "routine detail" not in logged.stderr.getvalue()
    assert "something to see" in logged.stderr.getvalue()


def test_normal_text_is_logged_unchanged(logged: Logged) -> None:
    """Ordinary words near the patterns pass through intact."""
    log.warning("task-list is risk-free; the sk- prefix marks keys")
    assert "task-list is risk-free; the sk- prefix marks keys" in logged.file_text()


def test_setup_is_idempotent(tmp_path: Path, registry: SecretRegistry) -> None:
    """Setting up twice leaves one file handler and one stderr handler: no duplicate lines."""
    paths = AppPaths.under(tmp_path).ensure()
    stderr = io.StringIO()
    try:
        setup_logging(paths, logging.INFO, registry=registry, stderr=stderr)
        log_file = setup_logging(paths, logging.INFO, registry=registry, stderr=stderr)
        log.warning("exactly once")
        for handler in logging.getLogger().handlers:
            handler.flush()
        assert log_file == paths.log_dir / LOG_FILENAME
        assert log_file.read_text("utf-8").count("exactly once") == 1
        assert stderr.getvalue().count("exactly once") == 1
    finally:
        teardown_logging()


def test_log_file_rotates_with_a_small_cap(logged: Logged) -> None:
    """The file handler rotates at a small size and keeps a few backups."""
    (handler,) = [h for h in logging.getLogger().handlers if isinstance(h, RotatingFileHandler)]
    assert 0 < handler.maxBytes <= 5_000_000
    assert 1 <= handler.backupCount <= 5
    assert Path(handler.baseFilename) == logged.paths.log_dir / LOG_FILENAME


def test_teardown_removes_only_chatdesk_handlers(tmp_path: Path, registry: SecretRegistry) -> None:
    """teardown_logging leaves handlers installed by others in place."""
    other = logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(other)
    try:
        setup_logging(AppPaths.under(tmp_path), registry=registry, stderr=io.StringIO())
        teardown_logging()
        assert other in root.handlers
        assert not any(h.get_name() and h.get_name().startswith("chatdesk") for h in root.handlers)
    finally:
        root.removeHandler(other)


def test_credentials_in_a_base_url_never_reach_the_log(logged: Logged) -> None:
    """A URL with user:password is logged with its userinfo masked, its refusal too."""
    url = "http://alice:hunter2-password@llm.example.com:8080/v1"
    log.info("could not list the models of %s", url)
    try:
        resolve_base_url(Settings(), {"OPENAI_BASE_URL": url}, None)
    except InvalidSetting:
        log.exception("connection refused for %s", url)
    text = logged.everything()
    assert "hunter2" not in text and "alice" not in text
    assert "http://…@llm.example.com:8080/v1" in text
    assert "Put the key in the keyring, not in the URL" in text


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_log_files_are_owner_only_whatever_the_umask(
    tmp_path: Path, registry: SecretRegistry
) -> None:
    """With umask 022 a new log is 0600, an old 0644 one is fixed, and rotation keeps it so."""
    paths = AppPaths.under(tmp_path / "data")
    paths.log_dir.mkdir(parents=True)
    paths.log_dir.chmod(0o755)
    old = paths.log_dir / LOG_FILENAME
    old.write_text("from an older version\n")
    old.chmod(0o644)
    previous = os.umask(0o022)
    try:
        setup_logging(paths, registry=registry, stderr=io.StringIO())
        log.warning("first")
        (handler,) = [h for h in logging.getLogger().handlers if isinstance(h, RotatingFileHandler)]
        handler.doRollover()
        log.warning("after rotation")
        handler.flush()
    finally:
        os.umask(previous)
    assert stat.S_IMODE(paths.log_dir.stat().st_mode) == 0o700
    files = sorted(paths.log_dir.iterdir())
    assert [f.name for f in files] == [LOG_FILENAME, f"{LOG_FILENAME}.1"]
    assert [stat.S_IMODE(f.stat().st_mode) for f in files] == [0o600, 0o600]
