"""The session bot: what is said to a session on IRC reaches its agent's pane.

A line ``nick: text`` / ``nick, text`` in the channel, or a private message to the bot, is
(1) offered to a waiting ``breakroom ask`` of this session (a reply carrying its request id
is printed by that CLI and not typed), else (2) rate-limited per sender, (3) given its hop
count (replies between bots; see :mod:`breakroom.ratelimit`), and (4) handed to
``app.sessions.deliver``, which sanitizes it, stores it in the session's inbox and types it
in when the agent waits for input.  The sender gets NOTICEs: queued / delivered / failed and why.
NOTICEs and CTCP are never relayed (IRC's rule against automatic replies to notices).
"""

from __future__ import annotations

import irc3

from bots.base import _LINE, addressed_text
from breakroom.nicks import irc_lower


@irc3.plugin
class Relay:
    def __init__(self, bot: irc3.IrcBot):
        self.bot = bot
        self.app = bot.config["app"]
        self.session: str = bot.config["session"]

    def _is_own_bot(self, nick: str) -> bool:
        """A bot of this breakroom (session or service bot): its messages count hops."""
        key = irc_lower(nick)
        return any(irc_lower(bot.nick) == key for bot in self.app.bots.values())

    @irc3.event(_LINE + r"(?P<data>.*)$")
    async def on_privmsg(self, mask, target: str, data: str, **_) -> None:
        if mask.nick == self.bot.nick:
            return
        sessions = self.app.sessions
        text = addressed_text(self.bot, target, data)
        if text is None:  # maybe an unaddressed continuation of a long reply to our ask
            sessions.ops.take_continuation(self.bot.nick, mask.nick, data)
            return
        if sessions.ops.take_reply(self.bot.nick, mask.nick, text):
            return
        if not sessions.limiter.allow(mask.nick):
            wait = sessions.limiter.retry_after(mask.nick)
            self.app.notice(self.bot, mask.nick, f"rate limit: too many messages to "
                            f"{self.bot.nick}; try again in {wait:.0f}s")
            return
        hops = sessions.hops.hop(irc_lower(mask.nick), irc_lower(self.bot.nick),
                                 automated=self._is_own_bot(mask.nick))
        await sessions.deliver(self.session, mask.nick, text, hops=hops, notify=True)
