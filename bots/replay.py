"""The ``replay`` bot: re-emits a slice of the record into a live channel, every line
marked as a replay, then leaves.  It needs only the ircd, not a running breakroom."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import irc3

from bots.base import Sender, event
from breakroom.config import Config
from breakroom.errors import BreakroomError
from breakroom.irc.bot import BreakroomBot, bot_settings
from breakroom.record.events import format_text

REPLAY_NICK = "replay"


@event(irc3.rfc.JOIN)
def _joined(bot: BreakroomBot, mask: Sender, channel: str, **_: str | None) -> None:
    if mask.nick == bot.nick:
        bot.config["joined"].set()


def replay_into_channel(cfg: Config, channel: str, paced: Iterable[tuple[float, dict[str, Any]]],
                        *, join_timeout: float = 15.0) -> int:
    """Send each event to ``channel`` after its pause; returns how many were sent."""
    return asyncio.run(_replay(cfg, channel, paced, join_timeout))


async def _replay(cfg: Config, channel: str, paced: Iterable[tuple[float, dict[str, Any]]],
                  join_timeout: float) -> int:
    joined = asyncio.Event()
    bot = BreakroomBot(loop=asyncio.get_running_loop(), **bot_settings(cfg, REPLAY_NICK, channel),
                       joined=joined, includes=["irc3.plugins.core", "irc3.plugins.autojoins", __name__])
    bot.create_connection()
    try:
        try:
            await asyncio.wait_for(joined.wait(), join_timeout)
        except TimeoutError:
            raise BreakroomError(f"the replay bot could not join {channel} on "
                                 f"{cfg.ircd.host}:{cfg.ircd.port} (is the breakroom up?)") from None
        sent = 0
        for delay, event in paced:
            if delay:
                await asyncio.sleep(delay)
            bot.privmsg(channel, f"[replay] {format_text(event)}")
            sent += 1
        while not bot.queue.empty():  # irc3's flood queue: wait until every line left
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        return sent
    finally:
        bot.shutdown("replay finished")
