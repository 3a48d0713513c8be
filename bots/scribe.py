"""scribe: records every channel event into the breakroom's record.

Lines said by the breakroom's own bots are recorded when they are sent
(:meth:`breakroom.app.runtime.Breakroom.send`), so the scribe skips their echo: a line a
session's bot sends while the scribe is reconnecting is neither lost nor doubled.  What
others say while the scribe is away cannot be recovered; the record says when it was away
(a ``GAP`` event).
"""

from __future__ import annotations

import irc3

from bots.base import Origin, Sender, event, is_channel, runtime_of
from bots.replay import REPLAY_NICK
from breakroom.irc.bot import BreakroomBot
from breakroom.record.events import Event, now_iso


@irc3.plugin
class Scribe:
    """Writes what the channel sees; the batching lives in ``breakroom.record.events``."""

    def __init__(self, bot: BreakroomBot):
        self.bot = bot
        self.app = runtime_of(bot)
        self.away_since: str | None = None

    def connection_lost(self) -> None:
        if self.away_since is None:
            self.away_since = now_iso()

    def _add(self, **fields: str) -> None:
        # the replay bot's lines are history, not new conversation
        self.app.record.add(Event(replay=fields["nick"] == REPLAY_NICK, **fields))

    @event(r"^(?:@\S+ )?:(?P<mask>\S+!\S+@\S+) (?P<kind>PRIVMSG|NOTICE) (?P<target>[#&]\S+)"
           r" :(?P<data>.*)$")
    def on_message(self, mask: Sender, kind: str, target: str, data: str, **_: str | None) -> None:
        if self.app.is_own_nick(mask.nick):
            return  # recorded when our bot sent it
        if data.startswith(("\x01ACTION ", "\x01ACTION\x01")):
            self._add(nick=mask.nick, kind="ACTION", text=data[8:].rstrip("\x01"), channel=target)
        elif not data.startswith("\x01"):
            self._add(nick=mask.nick, kind=kind, text=data, channel=target)

    @event(irc3.rfc.JOIN_PART_QUIT)
    def on_presence(self, mask: Sender, event: str, channel: str, data: str | None = None,
                    **_: str | None) -> None:
        if event == "QUIT":
            # QUIT names no channel (irc3's pattern files a one-word reason under "channel");
            # the scribe only shares the breakroom's channel with anyone
            reason = data if data is not None else (channel or "")
            self._add(nick=mask.nick, kind="QUIT", text=reason, channel=self.app.channel)
        else:
            self._add(nick=mask.nick, kind=event, text=data or "", channel=channel.lstrip(":"))
            if event == "JOIN" and mask.nick == self.bot.nick and self.away_since is not None:
                self._add(nick=mask.nick, kind="GAP", channel=self.app.channel,
                          text=f"the scribe was away from {self.away_since} to {now_iso()}; "
                               "what others said meanwhile is not in the record")
                self.away_since = None

    @event(irc3.rfc.NEW_NICK)
    def on_nick(self, nick: Sender, new_nick: str, **_: str | None) -> None:
        self._add(nick=nick.nick, kind="NICK", text=new_nick, channel=self.app.channel)

    # TOPIC, KICK and MODE may come from a server: the record names it by its name

    @event(r"^(?:@\S+ )?:(?P<mask>\S+) TOPIC (?P<channel>\S+) :(?P<data>.*)$")
    def on_topic(self, mask: Origin, channel: str, data: str, **_: str | None) -> None:
        self._add(nick=mask.nick or str(mask), kind="TOPIC", text=data, channel=channel)

    @event(irc3.rfc.KICK)
    def on_kick(self, mask: Origin, channel: str, target: Sender, data: str | None = None,
                **_: str | None) -> None:
        self._add(nick=mask.nick or str(mask), kind="KICK", text=data or "", channel=channel,
                  target=target.nick)

    @event(irc3.rfc.MODE)
    def on_mode(self, mask: Origin, target: str, modes: str, data: str | None = None,
                **_: str | None) -> None:
        if is_channel(target):
            text = f"{modes} {data}".strip() if data else modes
            self._add(nick=mask.nick or str(mask), kind="MODE", text=text, channel=target)
