"""The fleet engine's host without IRC: a FleetHost whose session bots are names and whose
words are kept, for tests that drive the SessionManager and Deliveries directly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import sqlite_utils

from breakroom.config import Config

T = TypeVar("T")


class KeptHost:
    """A FleetHost with no IRC behind it: session bots are names, what they say is kept."""

    def __init__(self, config: Config, db: sqlite_utils.Database) -> None:
        self.config = config
        self.db = db
        self.channel = config.channel
        self.bots: dict[str, str] = {}       # key -> session
        self.left: list[tuple[str, str]] = []
        self.said: list[tuple[str, str, str, bool]] = []
        self.told: list[str] = []            # what ops were told (drift)

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def join_session(self, key: str, session: str) -> None:
        self.bots[key] = session

    async def leave_session(self, key: str, reason: str) -> None:
        self.bots.pop(key, None)
        self.left.append((key, reason))

    def nick_now(self, key: str) -> str | None:
        return key if key in self.bots else None

    def say(self, key: str, target: str, text: str, *, notice: bool = False) -> None:
        if key in self.bots:
            self.said.append((key, target, text, notice))

    def tell_ops(self, text: str) -> None:
        self.told.append(text)
