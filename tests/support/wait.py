"""Waiting for a condition, never for a time: poll until it holds, fail naming what never came."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

POLL = 0.05
T = TypeVar("T")


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0,
               what: str | Callable[[], str] = "", *, poll: float = POLL) -> Any:
    """Poll ``predicate`` until it is truthy and return that; AssertionError naming ``what``."""
    return wait_value(predicate, bool, timeout, what or str(predicate), poll=poll)


def wait_value(get: Callable[[], T], ok: Callable[[T], Any], timeout: float = 10.0,
               what: str | Callable[[], str] = "", *, poll: float = POLL) -> T:
    """Poll ``get()`` until ``ok`` holds for its value and return that value; on timeout the
    AssertionError names ``what`` and shows the last value (a pane's screen, a NAMES line).
    ``what`` may be a function, called only on failure, for details that cost a look."""
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            described = what() if callable(what) else what or ok
            raise AssertionError(f"timed out after {timeout}s waiting for {described}; last value:\n{value}")
        time.sleep(poll)


async def wait_until_async(predicate: Callable[[], Any], timeout: float = 10.0,
                           what: str | Callable[[], str] = "", *, poll: float = POLL) -> Any:
    """:func:`wait_until` inside a running loop: the loop keeps running between polls."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            described = what() if callable(what) else what or predicate
            raise AssertionError(f"timed out after {timeout}s waiting for {described}")
        await asyncio.sleep(poll)
