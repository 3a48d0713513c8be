"""Logs are a way out too: every log record's message is scrubbed of secrets when it is made.

A log line quoting what an agent said, or a failing request with its password, must not keep
what the record and the channel hide.  Installed once per process by the running breakroom;
it wraps the log record factory, so every logger (irc3's included) is covered whatever
handlers are configured.  Tracebacks (``exc_info``) are formatted later and not covered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from breakroom.sanitize import scrub_secrets


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


def install() -> None:
    """Scrub the message of every log record made from now on (idempotent: a factory
    already scrubbing is not wrapped twice)."""
    make = logging.getLogRecordFactory()
    if isinstance(make, _ScrubbingFactory):
        return
    logging.setLogRecordFactory(_ScrubbingFactory(make))
