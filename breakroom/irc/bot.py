"""One irc3 bot of a breakroom: pacing through an :class:`Outbox`, jittered reconnects, a
clean shutdown, and the irc3 settings every bot of a breakroom connects with.

irc3's internals (``ping_handle``, ``reconn_handle``, ``awaiting_queue``) are touched here
and nowhere else.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from typing import Any, ClassVar

import irc3

from breakroom.config import Config
from breakroom.irc.nicks import irc_lower
from breakroom.irc.outbox import Outbox


class _RoutineConnectionNoise(logging.Filter):
    """irc3 logs every closed connection as CRITICAL; here that is routine (a bot leaving,
    the ircd restarting) and would only alarm whoever reads the terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("closing old transport", "connection lost"))


class BreakroomBot(irc3.IrcBot):  # type: ignore[misc]  # irc3 ships no type hints
    """An irc3 bot of a breakroom: it carries the application that runs it (``runtime``: None
    for a bot on its own, such as the replay bot; ``bots.base.runtime_of`` types it, so IRC
    plumbing never imports the application), leaves the process's logging
    alone, sends through a priority :class:`Outbox`, reconnects with jittered backoff and can
    be shut down for good.

    irc3 retries a refused connection every 3 s with a traceback in the log, forever, and a
    whole fleet retries in the same instant; here a reconnect waits a random extra moment,
    and each failed attempt doubles the wait (up to :attr:`max_backoff`) plus a random
    share of it, so reconnecting bots spread out."""

    logging_config: ClassVar[dict[str, Any]] = {"version": 1, "incremental": True}
    first_backoff = 0.5
    max_backoff = 4.0  # a returning server sees the whole fleet back within ~5 s

    def __init__(self, *args: Any, runtime: object | None = None, **kwargs: Any) -> None:
        self.runtime = runtime  # before irc3 instantiates the plugins, which read it
        self.key: str = kwargs.get("nick", "")  # the nick it was spawned with: its key in ``bots``
        self.in_channel = False
        super().__init__(*args, **kwargs)
        self.log.addFilter(_RoutineConnectionNoise())
        self.outbox = Outbox(self._write_line, self._may_send,
                             burst=kwargs.get("outbox_burst", 10), rate=kwargs.get("outbox_rate", 4))
        self.failed_connects = 0
        self._gone = False
        self._was_connected = False
        self._outbox_task: asyncio.Task[None] | None = None

    def _may_send(self) -> bool:
        protocol = getattr(self, "protocol", None)
        return self.in_channel and protocol is not None and not protocol.closed

    def _write_line(self, target: str, line: str, kind: str) -> None:
        (self.notice if kind == "NOTICE" else self.privmsg)(target, line, nowait=True)

    def create_connection(self, *, jittered: bool = False) -> None:
        if self._gone:
            return  # a reconnect scheduled before shutdown
        if self._was_connected and not jittered:
            # irc3 reconnects every bot exactly 2 s after the server went: spread them out
            self.loop.call_later(random.uniform(0, 2 * self.first_backoff),
                                 functools.partial(self.create_connection, jittered=True))
            return
        if self._outbox_task is None:
            self._outbox_task = self.loop.create_task(self.outbox.run())
        super().create_connection()

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if f.cancelled() or f.exception() is not None:
            # the server is down or restarting: expected, so one line and no traceback
            self.failed_connects += 1
            delay = min(self.max_backoff, self.first_backoff * 2 ** (self.failed_connects - 1))
            delay += random.uniform(0, delay)
            exc = None if f.cancelled() else f.exception()
            self.log.warning("%s: cannot reach %s:%s (%s); retrying in %.1fs", self.nick,
                             self.config.host, self.config.port,
                             getattr(exc, "strerror", None) or exc, delay)
            self.loop.call_later(delay, functools.partial(self.create_connection, jittered=True))
            return
        self.failed_connects = 0
        self._was_connected = True
        super().connection_made(f)

    def shutdown(self, reason: str) -> None:
        """QUIT with ``reason`` and close without irc3's automatic reconnect."""
        self._gone = True
        protocol = getattr(self, "protocol", None)
        if protocol is not None and not protocol.closed:
            try:
                self.send(f"QUIT :{reason}")
            except Exception:  # the transport may already be gone
                pass
            protocol.close()
        core = self.get_plugin("irc3.plugins.core.Core")
        for handle in (core.ping_handle, core.reconn_handle):
            if handle is not None:
                handle.cancel()
        for task in (self.awaiting_queue, self._outbox_task):
            if task is not None:
                task.cancel()


def bot_settings(cfg: Config, nick: str, channel: str) -> dict[str, Any]:
    """irc3 settings for a bot of this breakroom: server, password, TLS, the channel and
    its key, pacing."""
    key = cfg.channel_key if irc_lower(channel) == irc_lower(cfg.channel) else None
    return {
        "nick": nick, "username": nick[:9] or "breakroom", "realname": f"breakroom {nick}",
        "host": cfg.ircd.host, "port": cfg.ircd.port, "password": cfg.ircd.password,
        "ssl": cfg.ircd.tls, "ssl_verify": "CERT_REQUIRED" if cfg.ircd.tls_verify else "CERT_NONE",
        "autojoins": [channel], "passwords": {channel.lstrip("#&"): key} if key else {},
        # irc3 paces each bot; the server's own penalties are off (see ircd.conf)
        "flood_burst": 10, "flood_rate": 4, "flood_rate_delay": 1}
