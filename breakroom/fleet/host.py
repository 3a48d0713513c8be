"""What the fleet engine needs from the process that runs it, as a typed interface.

:class:`breakroom.fleet.manager.SessionManager` discovers sessions, tracks their state and
delivers into their panes; giving each session a presence on IRC, and telling a sender how
its message fared, is the IRC side's job.  The manager reaches that side only through
:class:`FleetHost` — implemented by :class:`breakroom.app.runtime.Breakroom` — so
``breakroom/fleet`` never imports irc3 and can be driven by any stand-in.

Session bots are named by the nick each was spawned with (its *key*); the nick it really has
may differ when the server made it take another (433), see :meth:`FleetHost.nick_now`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from breakroom.config import Config

if TYPE_CHECKING:
    import sqlite_utils

T = TypeVar("T")


class FleetHost(Protocol):
    """The running breakroom, as the fleet engine sees it."""

    config: Config
    db: sqlite_utils.Database
    channel: str

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (tmux) off the loop."""
        ...

    def join_session(self, key: str, session: str) -> None:
        """Give ``session`` a bot under the nick ``key``, in the channel."""
        ...

    async def leave_session(self, key: str, reason: str) -> None:
        """The session's bot leaves (QUIT with ``reason``)."""
        ...

    def nick_now(self, key: str) -> str | None:
        """The nick the bot spawned as ``key`` has now; None when it is not running."""
        ...

    def refuse(self, key: str, target: str, text: str) -> None:
        """A NOTICE from the bot ``key`` that a message was refused (at most one per sender
        per minute, so a flood of refused lines is not answered by a flood of notices)."""
        ...

    def is_own_nick(self, nick: str) -> bool:
        """True for the nick one of this breakroom's bots has now."""
        ...

    def send_report(self, key: str, target: str, line: str) -> None:
        """A machine-readable line from the bot ``key`` to ``target`` (a host's fleet report
        to the hub): queued like any line, but not recorded — it is traffic, not talk."""
        ...

    def say(self, key: str, target: str, text: str, *, notice: bool = False) -> None:
        """Say ``text`` to ``target`` (a nick or the channel) as the bot ``key``; nothing
        when that bot is not running."""
        ...

    def tell_ops(self, text: str) -> None:
        """Something an operator must look at (drift): a NOTICE to each of ``ops``, or the
        channel when there are none; recorded and logged."""
        ...
