"""The session bot: what is said to a session on IRC reaches its agent's pane.

A line ``nick: text`` / ``nick, text`` in the channel, or a private message to the bot, goes
to ``app.deliveries.receive``: a reply carrying the request id of this session's waiting
``breakroom ask`` is handed to that CLI.  A service bot's lines (knowledge's answers, the
sweep's and dispatcher's reports, ``!fleet`` listings that start with the session's nick)
are never typed in: they are for the humans, and what a service bot means for a session (the
sweep's answer, a dispatcher nudge) it delivers directly with ``deliveries.deliver`` — or, from
a hub to a session on this host, in a private message marked ``BRDELIVER1``.  Anything
else is rate-limited per sender, given its
hop count (replies between bots; see :mod:`breakroom.fleet.ratelimit`), sanitized, stored in the
session's inbox and typed in when the agent waits for input.  The sender gets NOTICEs:
queued / delivered / failed and why.  NOTICEs and CTCP are never relayed (IRC's rule against
automatic replies to notices).  Lines from sibling session bots are skipped: their
``say``/``ask`` delivered the message directly (see :mod:`breakroom.fleet.delivery`).

``!allow ID`` / ``!deny ID`` (in the channel or privately) answer a permission prompt the
bot relayed for its session (:mod:`breakroom.fleet.permissions`): only the session whose
prompt it is answers, only a server-verified IRC operator decides (anyone else gets one
refusal notice), and such a line is never typed into a pane.
"""

from __future__ import annotations

import re

import irc3

from bots.base import PRIVMSG_LINE, Sender, addressed_text, event, is_channel, is_operator, runtime_of
from breakroom.app.runtime import SERVICE_BOTS
from breakroom.fleet.remote import DELIVER_PREFIX
from breakroom.irc.bot import BreakroomBot
from breakroom.irc.nicks import irc_lower
from breakroom.sanitize import sanitize

_DECISION = re.compile(r"^!(allow|deny)\s+(\S{1,32})\s*$", re.IGNORECASE)


@irc3.plugin
class Relay:
    def __init__(self, bot: BreakroomBot):
        self.bot = bot
        self.app = runtime_of(bot)
        self.session: str = bot.config["session"]

    def _is_service_bot(self, nick: str) -> bool:
        """A service bot here, or one of a hub's (``--role host``: same names, not ours)."""
        return irc_lower(nick) in SERVICE_BOTS or (self.app.is_own_nick(nick)
                                                   and self.app.sessions.session_for(nick) is None)

    @event(PRIVMSG_LINE)
    async def on_privmsg(self, mask: Sender, target: str, data: str, **_: str | None) -> None:
        sessions = self.app.sessions
        if mask.nick == self.bot.nick or sessions.session_for(mask.nick) is not None:
            return  # a sibling session's say/ask was delivered directly; its line is for humans
        decision = _DECISION.match(data)
        if decision is not None:
            await self._decide(mask, target, decision.group(1).lower() == "allow", decision.group(2).lower())
            return
        if (data.startswith(DELIVER_PREFIX) and self._is_service_bot(mask.nick)
                and irc_lower(target) == irc_lower(self.bot.nick)):
            # a hub's sweep or dispatcher delivering to this session (see breakroom.fleet.remote)
            await self.app.deliveries.deliver(self.session, mask.nick,
                                              sanitize(data[len(DELIVER_PREFIX):]))
            return
        text = addressed_text(self.bot, target, data)
        if text is None:  # maybe an unaddressed continuation of a long reply to our ask
            self.app.session_ops.take_continuation(self.bot.nick, mask.nick, data)
            return
        if self._is_service_bot(mask.nick):
            self.app.session_ops.take_reply(self.bot.nick, mask.nick, text)  # an answer to our ask
            return
        await self.app.deliveries.receive(self.session, mask.nick, sanitize(text),
                                          automated=self.app.is_own_nick(mask.nick))

    async def _decide(self, mask: Sender, target: str, allow: bool, pid: str) -> None:
        """``!allow ID`` / ``!deny ID``: this session's prompt ``pid``, decided by an operator."""
        permissions, verb = self.app.permissions, "!allow" if allow else "!deny"
        key = self.app.sessions.bot_key(self.session) or self.bot.nick
        if self.app.is_own_nick(mask.nick):
            return  # our own bots (a session saying "!allow …") are never operators
        if not permissions.owns(pid, self.session):
            if not is_channel(target):
                self.app.refuse(key, mask.nick, f"no permission prompt {pid} for {self.session}")
            return  # another session's bot answers for its own prompts
        if not await is_operator(self.bot, mask.nick):
            self.app.refuse(key, mask.nick, f"{verb} {pid}: only a server-verified IRC operator "
                                            "(/oper) decides permission prompts")
            return
        why_not = await permissions.answer(pid, self.session, allow, mask.nick)
        if why_not:
            self.app.notice(self.bot, mask.nick, why_not)
