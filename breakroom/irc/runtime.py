"""The running breakroom: many irc3 bots in one asyncio loop, the record, the control
socket and the fleet of sessions.

Bot plugins reach all of it through their bot's typed ``runtime`` (:func:`bots.base.runtime_of`);
the fleet engine reaches the bots through :class:`breakroom.fleet.host.FleetHost`, which
:class:`Breakroom` implements.  irc3's internals stay in this module.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

import irc3

from breakroom import scrublog
from breakroom.config import Config
from breakroom.control import ControlServer, Message
from breakroom.fleet.manager import SessionManager
from breakroom.irc.outbox import Outbox
from breakroom.irc.ratelimit import OncePerWindow
from breakroom.irc.split import split_message
from breakroom.knowledge.service import KnowledgeService
from breakroom.private import tighten
from breakroom.record.db import db_path, open_db
from breakroom.record.events import Event, RecordWriter
from breakroom.sanitize import scrub_secrets
from breakroom.secrets import fill_secrets

log = logging.getLogger("breakroom")
T = TypeVar("T")

SERVICE_BOTS: dict[str, list[str]] = {
    "scribe": ["bots.scribe"],
    "knowledge": ["bots.knowledge"],
    "sweep": ["bots.sweep"],
    "dispatcher": ["bots.dispatcher"],
}
BASE_PLUGINS = ["irc3.plugins.core", "irc3.plugins.autojoins", "bots.base"]
SESSION_PLUGINS = ["bots.relay"]


class _RoutineConnectionNoise(logging.Filter):
    """irc3 logs every closed connection as CRITICAL; here that is routine (a bot leaving,
    the ircd restarting) and would only alarm whoever reads the terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("closing old transport", "connection lost"))


class BreakroomBot(irc3.IrcBot):  # type: ignore[misc]  # irc3 ships no type hints
    """An irc3 bot of a breakroom: it knows its runtime (typed; None for a bot on its own,
    such as the replay bot), leaves the process's logging
    alone, sends through a priority :class:`Outbox`, reconnects with jittered backoff and can
    be shut down for good.

    irc3 retries a refused connection every 3 s with a traceback in the log, forever, and a
    whole fleet retries in the same instant; here a reconnect waits a random extra moment,
    and each failed attempt doubles the wait (up to :attr:`max_backoff`) plus a random
    share of it, so reconnecting bots spread out."""

    logging_config: ClassVar[dict[str, Any]] = {"version": 1, "incremental": True}
    first_backoff = 0.5
    max_backoff = 4.0  # a returning server sees the whole fleet back within ~5 s

    def __init__(self, *args: Any, runtime: Breakroom | None = None, **kwargs: Any) -> None:
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
    key = cfg.channel_key if channel.lower() == cfg.channel.lower() else None
    return {
        "nick": nick, "username": nick[:9] or "breakroom", "realname": f"breakroom {nick}",
        "host": cfg.ircd.host, "port": cfg.ircd.port, "password": cfg.ircd.password,
        "ssl": cfg.ircd.tls, "ssl_verify": "CERT_REQUIRED" if cfg.ircd.tls_verify else "CERT_NONE",
        "autojoins": [channel], "passwords": {channel.lstrip("#&"): key} if key else {},
        # irc3 paces each bot; the server's own penalties are off (see ircd.conf)
        "flood_burst": 10, "flood_rate": 4, "flood_rate_delay": 1}


class Breakroom:
    """Everything that runs while the breakroom is up."""

    def __init__(self, cfg: Config):
        tighten(cfg.data_path)
        scrublog.install()
        self.config = fill_secrets(cfg)
        self.channel = cfg.channel
        self.db = open_db(db_path(cfg.data_path))
        self.record = RecordWriter(self.db, scrub=self.scrub)
        self.control = ControlServer(cfg)
        self.bots: dict[str, BreakroomBot] = {}
        self.refusals = OncePerWindow(60.0)  # one refusal notice per sender per minute
        self.sessions = SessionManager(self)
        # the engine the knowledge bot answers with and the sweep asks directly (None when
        # this breakroom runs no knowledge bot)
        self.knowledge: KnowledgeService | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="breakroom")
        self._register_control()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the breakroom runs on (bots and timers live there); set by :meth:`start`."""
        if self._loop is None:
            raise RuntimeError("the breakroom has not started")
        return self._loop

    # ------------------------------------------------------------------ lifecycle

    async def start(self, services: Iterable[str] = tuple(SERVICE_BOTS), *,
                    sessions: bool = True, report: bool = False) -> None:
        """``sessions``: give the local tmux sessions bots (not on a hub, whose sessions
        run on its hosts); ``report``: this is a host, reporting its sessions to the hub."""
        self._loop = asyncio.get_running_loop()
        self.record.start()
        await self.control.start()
        services = tuple(services)
        if "knowledge" in services:
            self.knowledge = KnowledgeService(self.config, self.run_blocking)
            self.knowledge.start()
        for nick in services:
            self.spawn_bot(nick, SERVICE_BOTS[nick])
        if sessions:
            await self.sessions.start(report=report)

    async def stop(self) -> None:
        await self.sessions.stop()
        if self.knowledge is not None:
            await self.knowledge.stop()
        await self._drain_outboxes(timeout=2.0)
        for nick in list(self.bots):
            await self.stop_bot(nick, "breakroom shutting down", linger=0)
        await asyncio.sleep(0.2)  # let the QUITs leave before the loop goes
        await self.record.close()
        await self.control.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _drain_outboxes(self, timeout: float) -> None:
        """Give lines still queued (to bots in the channel) a moment to leave."""
        deadline = asyncio.get_running_loop().time() + timeout
        while any(len(b.outbox) and b.in_channel for b in self.bots.values()):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)

    # ------------------------------------------------------------------ bots

    def spawn_bot(self, nick: str, plugins: list[str], **extra: Any) -> BreakroomBot:
        """Connect a new bot that joins the channel (with its key) and stays there."""
        settings = bot_settings(self.config, nick, self.channel)
        # the bot's Outbox paces its lines, so irc3's own queue passes them straight on
        settings.update(outbox_burst=settings["flood_burst"], outbox_rate=settings["flood_rate"],
                        flood_burst=0)
        bot = BreakroomBot(loop=self.loop, **settings, includes=BASE_PLUGINS + plugins,
                           runtime=self, **extra)
        self.bots[nick] = bot
        bot.create_connection()
        return bot

    async def stop_bot(self, nick: str, reason: str, *, linger: float = 0.1) -> None:
        bot = self.bots.pop(nick, None)
        if bot is not None:
            bot.shutdown(reason)
            if linger:
                await asyncio.sleep(linger)

    def is_service_bot(self, nick: str) -> bool:
        """A service bot of this breakroom (they call the engine in-process, never over IRC)."""
        bot = self.bots.get(nick.lower()) if nick.lower() in SERVICE_BOTS else None
        return bot is not None and bot.nick.lower() == nick.lower()

    # ------------------------------------------------------------------ FleetHost

    def join_session(self, key: str, session: str) -> None:
        self.spawn_bot(key, SESSION_PLUGINS, session=session)

    async def leave_session(self, key: str, reason: str) -> None:
        await self.stop_bot(key, reason)

    def nick_now(self, key: str) -> str | None:
        bot = self.bots.get(key)
        return bot.nick if bot is not None else None

    def send_report(self, key: str, target: str, line: str) -> None:
        bot = self.bots.get(key)
        if bot is not None:
            bot.outbox.put(target, line)

    def say(self, key: str, target: str, text: str, *, notice: bool = False) -> None:
        bot = self.bots.get(key)
        if bot is not None:
            self.send(bot, target, text, kind="NOTICE" if notice else "PRIVMSG")

    # ------------------------------------------------------------------ speaking

    def send(self, bot: BreakroomBot, target: str, text: str, *, kind: str = "PRIVMSG") -> None:
        """Say ``text`` to ``target`` from ``bot``: split to fit IRC lines, queued in the
        bot's outbox (messages before notices; held while the bot is not in the channel),
        and recorded now, once.  The scribe skips our own bots' lines when it hears them,
        so an outage (ours or the scribe's) neither loses nor doubles them.  Every line out
        is scrubbed of secrets: a relayed line, a knowledge answer and a peek alike."""
        channel = target if target.startswith(("#", "&")) else None
        for line in split_message(self.scrub(text), target, command=kind):
            bot.outbox.put(target, line, kind)
            self.record.add(Event(nick=bot.nick, kind=kind, text=line, channel=channel,
                                  target=None if channel else target))

    def notice(self, bot: BreakroomBot, target: str, text: str) -> None:
        self.send(bot, target, text, kind="NOTICE")

    def refuse(self, key: str, target: str, text: str) -> None:
        """A NOTICE saying a message was refused: at most one per sender per minute, so a
        flood of refused lines is not answered by a flood of notices."""
        bot = self.bots.get(key)
        if bot is not None and self.refusals.allow(target.lower()):
            self.notice(bot, target, text)

    def announce_trouble(self, text: str) -> None:
        """Tell everyone who should know about a fault (the ircd died, came back …): the
        terminal's log, the record (a ``SERVER`` event), the channel and each of ``ops``
        by NOTICE — the last two as soon as a bot is back in the channel."""
        log.warning("%s", text)
        self.record.add(Event(nick="breakroom", kind="SERVER", text=text, channel=self.channel))
        bot = self.bots.get("scribe") or next(iter(self.bots.values()), None)
        if bot is None:
            return
        for line in split_message(text, self.channel):
            bot.outbox.put(self.channel, line)  # recorded above, as what it is
        for op in self.config.ops:
            bot.outbox.put(op, text[:400], "NOTICE")

    def is_own_nick(self, nick: str) -> bool:
        """True for the nick one of this breakroom's bots has now."""
        key = nick.lower()
        return any(bot.nick.lower() == key for bot in self.bots.values())

    # ------------------------------------------------------------------ helpers

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def scrub(self, text: str) -> str:
        """Hide the breakroom's own secrets (remembered by ``fill_secrets``), API keys and
        tokens from anything recorded or sent."""
        return scrub_secrets(text)

    def _register_control(self) -> None:
        @self.control.handle("announce")
        async def announce(request: Message) -> Message:
            nick = request.get("as") or "dispatcher"
            bot = self.bots.get(nick) or self.bots.get("scribe")
            if bot is None:
                return {"error": "no bot to announce with"}
            self.send(bot, self.channel, str(request.get("text", ""))[:400])
            return {"ok": True}
