"""The morning line, said by the scribe: once a day at ``report.daily_at`` (local time) and
on ``!report``, the last 24 hours in one line with the fleet page's address — or, when
the breakroom serves no page (``web.port: null``), the path of the page written for it.

The line and the page are :mod:`breakroom.report`'s; this plugin only keeps the time."""

from __future__ import annotations

import logging
from datetime import datetime

import irc3

from bots.base import Sender, command, runtime_of
from breakroom.irc.bot import BreakroomBot
from breakroom.report.page import default_path, write_page
from breakroom.report.render import render
from breakroom.report.summary import morning_line, seconds_until

log = logging.getLogger(__name__)


@irc3.plugin
class MorningLine:
    def __init__(self, bot: BreakroomBot):
        self.bot = bot
        self.app = runtime_of(bot)
        self._schedule()

    def _schedule(self) -> None:
        daily_at = self.app.config.report.daily_at
        if daily_at is not None:
            self.app.loop.call_later(seconds_until(daily_at, datetime.now()), self._tick)

    def _tick(self) -> None:
        if self.app.bots.get(self.bot.nick) is not self.bot:
            return  # this bot was stopped: so is its timer
        self.app.loop.create_task(self.post(self.app.channel))
        self._schedule()

    async def post(self, target: str) -> None:
        try:
            report, _ = await self.app.page.current()
            where = self.app.page.url or str(await self.app.run_blocking(
                lambda: write_page(default_path(self.app.config), render(report))))
        except Exception:
            log.exception("the morning line failed")
            self.app.send(self.bot, target, "the day's report failed (see the log)")
            return
        self.app.send(self.bot, target, morning_line(report, where))

    @command("report")
    async def cmd_report(self, mask: Sender, target: str, args: str) -> None:
        """!report — the last 24 hours in one line, and where the fleet's page is."""
        await self.post(target)
