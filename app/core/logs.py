"""Logging that can never write an API key: every handler Chatdesk installs redacts.

The formatter redacts the finished text (message, arguments, traceback, any `extra` field the
format uses); the filter redacts the record itself, so handlers added by others (pytest's
caplog, a log view in the GUI) receive masked text too.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import TextIO

from app.core.paths import DIR_MODE, FILE_MODE, AppPaths
from app.core.redact import SecretRegistry

LOG_FILENAME = "chatdesk.log"
MAX_LOG_BYTES = 1_000_000
LOG_BACKUPS = 3
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_HANDLER_NAMES = ("chatdesk.file", "chatdesk.stderr")
_PLAIN_TYPES = (int, float, bool, type(None))
# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


class RedactingFormatter(logging.Formatter):
    """A formatter whose output, tracebacks included, has every secret masked."""

    def __init__(
        self, registry: SecretRegistry, fmt: str = LOG_FORMAT, datefmt: str | None = None
    ) -> None:
        super().__init__(fmt, datefmt)
        self._registry = registry

    def format(self, record: logging.LogRecord) -> str:
        return self._registry.redact(super().format(record))


class RedactingFilter(logging.Filter):
    """Masks secrets in the record in place: message and arguments, traceback, stack, extras."""

    def __init__(self, registry: SecretRegistry) -> None:
        super().__init__()
        self._registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self._registry.redact
        try:
            message = record.getMessage()
        except Exception:
            # A malformed log call: leave it to the handler, which reports it as a logging error.
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name in _RECORD_ATTRS or isinstance(value, _PLAIN_TYPES):
                continue
            text = value if isinstance(value, str) else repr(value)
            masked = redact(text)
            if masked != text:
                setattr(record, name, masked)
        return True


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log file that is owner-only whatever the umask: logs name files and servers.

    Rotation renames files, which keeps their mode, so only a newly opened file needs it.
    """

    def _open(self) -> io.TextIOWrapper:
        if os.name == "posix":
            # Created with the mode in one step, so it is never readable by others even briefly;
            # an existing file from an older version is fixed as well.
            os.close(os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT, FILE_MODE))
            if os.stat(self.baseFilename).st_mode & 0o777 != FILE_MODE:
                os.chmod(self.baseFilename, FILE_MODE)
        return super()._open()


def setup_logging(
    paths: AppPaths,
    level: int | str = logging.INFO,
    *,
    registry: SecretRegistry,
    stderr: TextIO | None = None,
) -> Path:
    """Log to `chatdesk.log` in `paths.log_dir` (rotated) and warnings to stderr, both redacted.

    `level` is a `logging` level or its name ("DEBUG"); it applies to the file and the root
    logger, while stderr only ever shows warnings and errors. Calling it again replaces the
    handlers it installed before. Returns the log file's path.
    """
    teardown_logging()
    paths.log_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if os.name == "posix":
        paths.log_dir.chmod(DIR_MODE)  # mkdir's mode applies only to a new directory
    log_file = paths.log_dir / LOG_FILENAME
    file_handler = PrivateRotatingFileHandler(
        log_file, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8", delay=True
    )
    file_handler.setLevel(level)
    stderr_handler = logging.StreamHandler(stderr if stderr is not None else sys.stderr)
    stderr_handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    handlers: tuple[logging.Handler, ...] = (file_handler, stderr_handler)
    for name, handler in zip(_HANDLER_NAMES, handlers, strict=True):
        handler.set_name(name)
        handler.addFilter(RedactingFilter(registry))
        handler.setFormatter(RedactingFormatter(registry))
        root.addHandler(handler)
    root.setLevel(level)
    return log_file


def teardown_logging() -> None:
    """Remove and close the handlers `setup_logging` installed (at exit, and between tests)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() in _HANDLER_NAMES:
            root.removeHandler(handler)
            handler.close()
