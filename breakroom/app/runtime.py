"""The running breakroom, assembled: many irc3 bots in one asyncio loop, the record, the
control socket with its operations, the fleet of sessions and delivery into them, and the
shared knowledge engine.

Bot plugins reach all of it through their bot's typed ``runtime`` (:func:`bots.base.runtime_of`);
the fleet engine reaches the bots through :class:`breakroom.fleet.host.FleetHost`, which
:class:`Breakroom` implements.  IRC plumbing lives in :mod:`breakroom.irc`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from breakroom.app.session_ops import SessionOps
from breakroom.app.spend_watch import SpendWatch
from breakroom.config import Config
from breakroom.control.client import Message
from breakroom.control.server import ControlServer
from breakroom.fleet.delivery import Deliveries
from breakroom.fleet.holds import Holds
from breakroom.fleet.identity import identify_callers
from breakroom.fleet.limits import Limits
from breakroom.fleet.manager import SessionManager
from breakroom.fleet.permissions import Permissions
from breakroom.fleet.ratelimit import OncePerWindow
from breakroom.fleet.tmux import Tmux
from breakroom.irc.bot import BreakroomBot, bot_settings
from breakroom.irc.nicks import irc_lower
from breakroom.irc.split import split_message
from breakroom.knowledge.service import KnowledgeService
from breakroom.logs import scrub_log_records
from breakroom.private import tighten
from breakroom.record.db import db_path, open_db
from breakroom.record.events import Event, RecordWriter
from breakroom.report.server import PageServer
from breakroom.sanitize import scrub_secrets
from breakroom.secrets import fill_secrets

log = logging.getLogger("breakroom")
T = TypeVar("T")

SERVICE_BOTS: dict[str, list[str]] = {
    "scribe": ["bots.scribe", "bots.morning"],
    "knowledge": ["bots.knowledge"],
    "sweep": ["bots.sweep"],
    "dispatcher": ["bots.dispatcher"],
}
BASE_PLUGINS = ["irc3.plugins.core", "irc3.plugins.autojoins", "bots.base"]
SESSION_PLUGINS = ["bots.relay"]


class Breakroom:
    """Everything that runs while the breakroom is up."""

    def __init__(self, cfg: Config):
        tighten(cfg.data_path)
        scrub_log_records()
        self.config = fill_secrets(cfg)
        self.channel = cfg.channel
        self.db = open_db(db_path(cfg.data_path))
        self.record = RecordWriter(self.db, scrub=self.scrub)
        self.control = ControlServer(cfg, identify_callers(cfg.tmux.socket_name))
        self.bots: dict[str, BreakroomBot] = {}
        self.refusals = OncePerWindow(60.0)  # one refusal notice per sender per minute
        tmux = Tmux(cfg.tmux.socket_name)  # one handle: every tmux process of the fleet counted
        self.sessions = SessionManager(self, tmux)
        self.holds = Holds(self.db)  # pauses and limit holds, kept across restarts
        self.deliveries = Deliveries(self, self.sessions, tmux, self.holds)
        self.permissions = Permissions(self, self.sessions, self.deliveries, self.holds)
        self.limits = Limits(self, self.sessions, self.deliveries, self.holds)
        self.spend = SpendWatch(self)  # the agents' transcripts, read as their hooks fire
        self.session_ops = SessionOps(self, self.control, self.sessions, self.deliveries,
                                      self.permissions, self.limits, self.spend)
        # the engine the knowledge bot answers with and the sweep asks directly (None when
        # this breakroom runs no knowledge bot)
        self.knowledge: KnowledgeService | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="breakroom")
        # the fleet's page (served at web.port once started; built on demand either way)
        self.page = PageServer(self.config, self.run_blocking)
        self._register_control()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the breakroom runs on (bots and timers live there); set by :meth:`start`."""
        if self._loop is None:
            raise RuntimeError("the breakroom has not started")
        return self._loop

    # ------------------------------------------------------------------ lifecycle

    async def start(self, services: Iterable[str] = tuple(SERVICE_BOTS), *,
                    sessions: bool = True, report: bool = False, page: bool = True) -> None:
        """``sessions``: give the local tmux sessions bots (not on a hub, whose sessions
        run on its hosts); ``report``: this is a host, reporting its sessions to the hub;
        ``page``: serve the fleet's page (where the record is: not on a host)."""
        self._loop = asyncio.get_running_loop()
        self.record.start()
        await self.control.start()
        if page:
            await self.page.start()
        services = tuple(services)
        if "knowledge" in services:
            self.knowledge = KnowledgeService(self.config, self.run_blocking)
            self.knowledge.start()
        for nick in services:
            self.spawn_bot(nick, SERVICE_BOTS[nick])
        if sessions:
            await self.deliveries.recover()  # what a crash left half-typed, before any look
            self.limits.start()
            await self.sessions.start(report=report)

    async def stop(self) -> None:
        await self.sessions.stop()
        await self.permissions.stop()
        await self.limits.stop()
        await self.spend.stop()
        await self.deliveries.stop()
        if self.knowledge is not None:
            await self.knowledge.stop()
        await self._drain_outboxes(timeout=2.0)
        for nick in list(self.bots):
            await self.stop_bot(nick, "breakroom shutting down", linger=0)
        await asyncio.sleep(0.2)  # let the QUITs leave before the loop goes
        await self.record.close()
        await self.page.stop()
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

    async def bots_in_channel(self, timeout: float) -> bool:
        """Wait until every bot spawned so far is in the channel (False after ``timeout``):
        a line to a bot not there yet is lost (the server answers "no such nick")."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not all(bot.in_channel for bot in self.bots.values()):
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def is_service_bot(self, nick: str) -> bool:
        """A service bot of this breakroom (they call the engine in-process, never over IRC)."""
        key = irc_lower(nick)
        bot = self.bots.get(key) if key in SERVICE_BOTS else None
        return bot is not None and irc_lower(bot.nick) == key

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
        if bot is not None and self.refusals.allow(irc_lower(target)):
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

    def tell_ops(self, text: str) -> None:
        """Something an operator must look at (the fleet's drift): one NOTICE to each of
        ``ops`` from the sweep, or a line in the channel when no ``ops`` are set (never
        silent); recorded and logged like any line."""
        log.warning("%s", text)
        bot = self.bots.get("sweep") or self.bots.get("scribe") or next(iter(self.bots.values()), None)
        if bot is None:
            return
        for target in self.config.ops or [self.channel]:
            self.send(bot, target, text, kind="NOTICE" if self.config.ops else "PRIVMSG")

    def is_own_nick(self, nick: str) -> bool:
        """True for the nick one of this breakroom's bots has now."""
        key = irc_lower(nick)
        return any(irc_lower(bot.nick) == key for bot in self.bots.values())

    # ------------------------------------------------------------------ helpers

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def scrub(self, text: str) -> str:
        """Hide the breakroom's own secrets (remembered by ``fill_secrets``), API keys and
        tokens from anything recorded or sent."""
        return scrub_secrets(text)

    def _register_control(self) -> None:
        @self.control.handle("web")
        async def web(request: Message) -> Message:
            return {"ok": True, "url": self.page.url}

        @self.control.handle("announce")
        async def announce(request: Message) -> Message:
            nick = request.get("as") or "dispatcher"
            bot = self.bots.get(nick) or self.bots.get("scribe")
            if bot is None:
                return {"error": "no bot to announce with"}
            self.send(bot, self.channel, str(request.get("text", ""))[:400])
            return {"ok": True}
