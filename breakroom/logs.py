"""Logging for the long-running commands (``up``, ``ircd``, ``demo``), configured once.

Without it, ``log.info`` went nowhere and warnings reached stderr through Python's
last-resort handler, without time or origin.  Now: rich's handler when stderr is a
terminal, plain timestamped lines otherwise (a supervisor's log), and always a rotating
file in the data dir, mode 0600 (log lines may quote what agents said).

Logs are a way out too: :func:`scrub_log_records` makes every log record's message
scrubbed of secrets when it is made (a log line quoting what an agent said, or a failing
request with its password, must not keep what the record and the channel hide).  It wraps
the log record factory, so every logger (irc3's included) is covered whatever handlers are
configured; tracebacks (``exc_info``) are formatted later and not covered.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, TextIO, cast

from breakroom.sanitize import scrub_secrets

LOG_FILE = "breakroom.log"
LEVELS = ("debug", "info", "warning", "error")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
MAX_BYTES = 5_000_000
BACKUPS = 3
HANDLER_NAME = "breakroom"  # marks the handlers setup_logging installed, to replace them


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log whose every file, the rotated ones too, is readable by its owner only."""

    def _open(self) -> io.TextIOWrapper:
        # the handler keeps the stream open and closes it itself; text: the mode is "a" or "w"
        stream = cast(io.TextIOWrapper, open(  # noqa: SIM115
            self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors,
            opener=lambda path, flags: os.open(path, flags, 0o600)))
        os.chmod(self.baseFilename, 0o600)  # a file left by an older run may be wider
        return stream


def _console_handler(stream: TextIO) -> logging.Handler:
    if stream.isatty():
        from rich.console import Console
        from rich.logging import RichHandler
        return RichHandler(console=Console(file=stream), show_path=False, log_time_format="[%X]")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(PLAIN_FORMAT, DATE_FORMAT))
    return handler


def setup_logging(data_dir: Path, level: str = "info", *, stream: TextIO | None = None,
                  max_bytes: int = MAX_BYTES) -> Path:
    """Send every logger's records to the console at ``level`` and to ``data_dir/breakroom.log``
    (at ``level``, or info when that is quieter); returns the log file.

    Calling it again replaces what an earlier call installed, so nothing is logged twice.
    """
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
    threshold = logging.getLevelName(level.upper())
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
        handler.close()
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOG_FILE
    to_file = PrivateRotatingFileHandler(path, maxBytes=max_bytes, backupCount=BACKUPS, encoding="utf-8")
    to_file.setFormatter(logging.Formatter(PLAIN_FORMAT, DATE_FORMAT))
    to_file.setLevel(min(threshold, logging.INFO))
    console = _console_handler(stream or sys.stderr)
    console.setLevel(threshold)
    for handler in (to_file, console):
        handler.set_name(HANDLER_NAME)
        root.addHandler(handler)
    root.setLevel(min(threshold, logging.INFO))
    logging.captureWarnings(True)
    return path


class _ScrubbingFactory:
    """Wraps the log record factory in place before it: each record leaves it scrubbed."""

    def __init__(self, make: Callable[..., logging.LogRecord]):
        self.make = make

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it itself
            return record
        record.msg, record.args = scrub_secrets(message), None
        return record


def scrub_log_records() -> None:
    """Scrub the message of every log record made from now on (idempotent: a factory
    already scrubbing is not wrapped twice)."""
    make = logging.getLogRecordFactory()
    if isinstance(make, _ScrubbingFactory):
        return
    logging.setLogRecordFactory(_ScrubbingFactory(make))
