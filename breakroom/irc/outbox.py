"""A bot's outgoing lines, most important first, paced, and held while it is away.

irc3's own send queue is first-in first-out: 290 refusal NOTICEs queued ahead of a real
answer made a legitimate asker wait 73 s.  Each breakroom bot therefore sends through an
:class:`Outbox`: messages (replies, a session's own ``say``) go before notices, lines of
one priority keep their order, and nothing is handed to irc3 while the bot is not in the
channel (a line handed to a dead connection is lost; one held here goes out on rejoin).

Pacing (a burst, then a steady rate) is done here rather than by irc3, so the order
chosen here is the order on the wire.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

MESSAGE, NOTICE = 0, 1  # priorities: lower goes first


@dataclass(order=True)
class _Line:
    priority: int
    seq: int
    target: str = field(compare=False)
    text: str = field(compare=False)
    kind: str = field(compare=False)


class Outbox:
    """Queue lines with :meth:`put`; :meth:`run` sends them with ``write`` while ``ready()``.

    ``burst`` lines may leave at once, then one every ``1 / rate`` seconds."""

    def __init__(self, write: Callable[[str, str, str], None], ready: Callable[[], bool], *,
                 burst: int = 10, rate: float = 4.0):
        self._write = write
        self._ready = ready
        self.burst = max(1, burst)
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._heap: list[_Line] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._tokens = float(self.burst)

    def __len__(self) -> int:
        return len(self._heap)

    def put(self, target: str, text: str, kind: str = "PRIVMSG") -> None:
        priority = NOTICE if kind == "NOTICE" else MESSAGE
        heapq.heappush(self._heap, _Line(priority, next(self._seq), target, text, kind))
        self._wake.set()

    def wake(self) -> None:
        """Look again (the bot just joined): held lines may go now."""
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        stamp = loop.time()
        while True:
            if not self._heap or not self._ready():
                self._wake.clear()
                await self._wake.wait()
                continue
            now = loop.time()
            if self.interval:
                self._tokens = min(self.burst, self._tokens + (now - stamp) / self.interval)
            else:
                self._tokens = float(self.burst)
            stamp = now
            if self._tokens < 1.0:
                await asyncio.sleep((1.0 - self._tokens) * self.interval)
                continue
            self._tokens -= 1.0
            line = heapq.heappop(self._heap)
            self._write(line.target, line.text, line.kind)
