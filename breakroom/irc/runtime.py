"""The running breakroom: many irc3 bots in one asyncio loop, the record, the control
socket and the fleet of sessions.  Bots reach all of it through ``bot.config["app"]``.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

import irc3

from breakroom.config import Config
from breakroom.control import ControlServer
from breakroom.irc.split import split_message
from breakroom.record.events import Event, RecordWriter
from breakroom.sanitize import REDACTED, scrub_secrets
from breakroom.secrets import fill_secrets
from breakroom.fleet.manager import SessionManager
from breakroom.record.db import db_path, open_db

log = logging.getLogger("breakroom")

SERVICE_BOTS: dict[str, list[str]] = {
    "scribe": ["bots.scribe"],
    "knowledge": ["bots.knowledge"],
    "sweep": ["bots.sweep"],
    "dispatcher": ["bots.dispatcher"],
}
BASE_PLUGINS = ["irc3.plugins.core", "irc3.plugins.autojoins", "bots.base"]


class _RoutineConnectionNoise(logging.Filter):
    """irc3 logs every closed connection as CRITICAL; here that is routine (a bot leaving,
    the ircd restarting) and would only alarm whoever reads the terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("closing old transport", "connection lost"))


class BreakroomBot(irc3.IrcBot):
    """An irc3 bot that leaves the process's logging alone and can be shut down for good."""

    logging_config = {"version": 1, "incremental": True}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log.addFilter(_RoutineConnectionNoise())

    def shutdown(self, reason: str) -> None:
        """QUIT with ``reason`` and close without irc3's automatic reconnect."""
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
        if self.awaiting_queue is not None:
            self.awaiting_queue.cancel()


def bot_settings(cfg: Config, nick: str, channel: str) -> dict[str, Any]:
    """irc3 settings for a bot of this breakroom: server, password, TLS, the channel and
    its key, pacing."""
    key = cfg.channel_key if channel.lower() == cfg.channel.lower() else None
    return dict(
        nick=nick, username=nick[:9] or "breakroom", realname=f"breakroom {nick}",
        host=cfg.ircd.host, port=cfg.ircd.port, password=cfg.ircd.password,
        ssl=cfg.ircd.tls, ssl_verify="CERT_REQUIRED" if cfg.ircd.tls_verify else "CERT_NONE",
        autojoins=[channel], passwords={channel.lstrip("#&"): key} if key else {},
        # irc3 paces each bot; the server's own penalties are off (see ircd.conf)
        flood_burst=10, flood_rate=4, flood_rate_delay=1)


class Breakroom:
    """Everything that runs while the breakroom is up."""

    def __init__(self, cfg: Config):
        self.config = fill_secrets(cfg)
        self.channel = cfg.channel
        self.db = open_db(db_path(cfg.data_path))
        self.record = RecordWriter(self.db, scrub=self.scrub)
        self.control = ControlServer(cfg)
        self.bots: dict[str, BreakroomBot] = {}
        self.sessions = SessionManager(self)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="breakroom")
        self._register_control()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, services: Iterable[str] = tuple(SERVICE_BOTS), *,
                    sessions: bool = True, report: bool = False) -> None:
        """``sessions``: give the local tmux sessions bots (not on a hub, whose sessions
        run on its hosts); ``report``: this is a host, reporting its sessions to the hub."""
        self.loop = asyncio.get_running_loop()
        self.record.start()
        await self.control.start()
        for nick in services:
            self.spawn_bot(nick, SERVICE_BOTS[nick])
        if sessions:
            await self.sessions.start(report=report)

    async def stop(self) -> None:
        await self.sessions.stop()
        for nick in list(self.bots):
            await self.stop_bot(nick, "breakroom shutting down", linger=0)
        await asyncio.sleep(0.2)  # let the QUITs leave before the loop goes
        await self.record.close()
        await self.control.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ bots

    def spawn_bot(self, nick: str, plugins: list[str], **extra: Any) -> BreakroomBot:
        """Connect a new bot that joins the channel (with its key) and stays there."""
        bot = BreakroomBot(loop=self.loop, **bot_settings(self.config, nick, self.channel),
                           includes=BASE_PLUGINS + plugins, app=self, **extra)
        self.bots[nick] = bot
        bot.create_connection()
        return bot

    async def stop_bot(self, nick: str, reason: str, *, linger: float = 0.1) -> None:
        bot = self.bots.pop(nick, None)
        if bot is not None:
            bot.shutdown(reason)
            if linger:
                await asyncio.sleep(linger)

    def send(self, bot: irc3.IrcBot, target: str, text: str, *, kind: str = "PRIVMSG") -> None:
        """Say ``text`` to ``target`` from ``bot``: split to fit IRC lines, held in the
        bot's outbox while it is not in the channel, and recorded when private (the
        scribe hears channel lines itself)."""
        for line in split_message(text, target, command=kind):
            if bot.in_channel:
                (bot.notice if kind == "NOTICE" else bot.privmsg)(target, line)
            else:
                bot.outbox.append((target, line, kind))
            if not target.startswith(("#", "&")):
                self.record.add(Event(nick=bot.nick, kind=kind, text=line, target=target))

    def notice(self, bot: irc3.IrcBot, target: str, text: str) -> None:
        self.send(bot, target, text, kind="NOTICE")

    def flush_outbox(self, bot: irc3.IrcBot) -> None:
        pending, bot.outbox = bot.outbox, []
        for target, line, kind in pending:
            (bot.notice if kind == "NOTICE" else bot.privmsg)(target, line)

    # ------------------------------------------------------------------ helpers

    async def run_blocking(self, fn: Callable, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def scrub(self, text: str) -> str:
        """Hide the breakroom's own secrets, and API keys and tokens, from anything recorded."""
        for secret in (self.config.ircd.password, self.config.channel_key,
                       self.config.ircd.oper_password):
            if secret and secret in text:
                text = text.replace(secret, REDACTED)
        return scrub_secrets(text)

    def _register_control(self) -> None:
        @self.control.handle("announce")
        async def announce(request: dict) -> dict:
            nick = request.get("as") or "dispatcher"
            bot = self.bots.get(nick) or self.bots.get("scribe")
            if bot is None:
                return {"error": "no bot to announce with"}
            self.send(bot, self.channel, str(request.get("text", ""))[:400])
            return {"ok": True}
