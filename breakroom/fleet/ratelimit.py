"""Brakes on automated chatter: a per-sender token bucket, a hop limit, and a cap on
refusal notices.

**Rate limit.** Each sender (an IRC nick) has a bucket of ``burst`` tokens refilled at
``per_minute`` tokens a minute; a message takes one token, and with none left it is refused
(the sender gets a notice saying when to try again).  A human typing fast is never affected
at the default 20/min; a runaway script is.

**Hop limit.** Two agents that answer every message they get would ping-pong forever, each
reply looking like fresh work to the other.  The relay therefore numbers each message
between two bots by how many automated replies deep it is:

- a message from X to Y has hop ``h + 1`` when Y sent X a message of hop ``h`` within the
  last ``window`` seconds (X is replying), and hop 0 otherwise (a new exchange);
- only senders that are bots of this breakroom (session bots and service bots) are counted;
  a human's message is always hop 0 and is never held back;
- a message whose hop exceeds ``delivery.hop_limit`` is not typed into the pane: it stays in
  the inbox as ``failed`` with the reason ``hop limit``, readable with ``breakroom read``,
  and the sender is told.  A human who steps in restarts the count for whoever they address.

Service bots are counted too: a session addressing a service bot is noted (with the hop
of the exchange), and what a service bot then delivers to that session directly is one hop
deeper; service bots' channel lines are never typed into panes at all (``bots.relay``).

**Refusal notices.** A flood of refused messages must not become a flood of notices queued
ahead of real answers: :class:`OncePerWindow` lets one refusal notice per sender through
each minute.

The hop of each inbox message is stored with it (``inbox.hops``), so ``breakroom inbox``
shows how deep a conversation is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    """Per-sender token bucket; ``allow(sender)`` takes a token or says no."""

    per_minute: float
    burst: int | None = None  # default: a minute's worth
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    @property
    def capacity(self) -> float:
        return float(self.burst if self.burst is not None else max(1, int(self.per_minute)))

    def _refill(self, sender: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(sender)
        if bucket is None:
            bucket = self._buckets[sender] = _Bucket(self.capacity, now)
        else:
            rate = self.per_minute / 60.0
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
        return bucket

    def allow(self, sender: str) -> bool:
        """Take one token for ``sender``; False when the bucket is empty."""
        bucket = self._refill(sender)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        return False

    def retry_after(self, sender: str) -> float:
        """Seconds until ``sender`` has a token again (0 when it has one now)."""
        bucket = self._refill(sender)
        if bucket.tokens >= 1.0 or self.per_minute <= 0:
            return 0.0
        return (1.0 - bucket.tokens) * 60.0 / self.per_minute


@dataclass
class HopTracker:
    """Counts how many automated replies deep a message between two bots is."""

    window: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _last: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)

    def hop(self, sender: str, recipient: str, *, automated: bool) -> int:
        """Record a message ``sender`` -> ``recipient`` and return its hop count.

        Nicks are compared case-insensitively by the caller's normalisation; pass the same
        form every time.  ``automated`` is False for humans: hop 0, and their message ends
        any chain the recipient was in with them.
        """
        now = self.clock()
        hop = 0
        if automated:
            previous = self._last.get((recipient, sender))
            if previous is not None and now - previous[1] <= self.window:
                hop = previous[0] + 1
        self._last[(sender, recipient)] = (hop, now)
        return hop


@dataclass
class OncePerWindow:
    """``allow(key)`` is True at most once per ``window`` seconds for each key."""

    window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _last: dict[str, float] = field(default_factory=dict)

    def allow(self, key: str) -> bool:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.window:
            return False
        self._last[key] = now
        if len(self._last) > 10_000:  # forget senders long quiet, so a nick flood cannot grow it
            self._last = {k: t for k, t in self._last.items() if now - t < self.window}
        return True
