"""What every breakroom bot shares: the typed way to its runtime (:func:`runtime_of`),
presence (joined or not; the bot's outbox holds what cannot be sent yet), recording private
messages, and decorators for commands and addressing.

Bot plugins stay thin: they parse the line, call engine functions, and answer.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import irc3
import venusian as _venusian
from irc3.plugins.asynchronious import Whois

from breakroom.app.runtime import Breakroom
from breakroom.irc.bot import BreakroomBot
from breakroom.record.events import Event

_LINE = r"^(?:@\S+ )?:(?P<mask>\S+!\S+@\S+) PRIVMSG (?P<target>\S+) :"
# Any PRIVMSG, with its text as ``data`` (for bots that read more than addressed lines).
PRIVMSG_LINE = _LINE + r"(?P<data>.*)$"

_F = TypeVar("_F", bound=Callable[..., Any])


class Sender(Protocol):
    """Who said a line: the ``nick!user@host`` irc3 hands a handler (an ``IrcString``)."""

    @property
    def nick(self) -> str: ...


class Origin(Protocol):
    """Where a line came from when a server may have sent it (MODE, TOPIC, KICK): irc3 gives
    a server name (``irc.example.net``) no nick."""

    @property
    def nick(self) -> str | None: ...


class Plugin(Protocol):
    """A plugin of a breakroom bot, as the handlers built by our decorators use it."""

    bot: BreakroomBot


_P = TypeVar("_P", bound=Plugin)
# handler(self, mask, reply_to, text) of ``command`` and ``addressed``
TextHandler = Callable[[_P, Sender, str, str], Awaitable[None] | None]


class _EventDecorator(Protocol):
    def __call__(self, regexp: str, /) -> Callable[[_F], _F]: ...


# ``irc3.event`` itself, with the type irc3 does not declare: it registers the handler and
# returns it unchanged.  Not a wrapper: venusian must see the class body apply it.
event: _EventDecorator = irc3.event


def runtime_of(bot: irc3.IrcBot) -> Breakroom:
    """The running breakroom a plugin's bot belongs to: config, record, fleet, knowledge."""
    runtime = bot.runtime if isinstance(bot, BreakroomBot) else None
    if not isinstance(runtime, Breakroom):
        raise TypeError("breakroom plugins run in a bot spawned by a running breakroom")
    return runtime


def is_channel(name: str) -> bool:
    return name[:1] in ("#", "&")


def _reply_target(mask: Sender, target: str) -> str:
    return target if is_channel(target) else mask.nick


class _event(irc3.event):  # type: ignore[misc]  # irc3 is untyped: its event class is Any
    """``irc3.event`` for handlers built inside our decorators.

    venusian decides whether a callback is a plugin method by looking at the frame that
    applied the decorator; ours is applied one frame deeper (inside ``command`` /
    ``addressed``), so it must look one frame further up, at the class body."""

    class venusian:  # lower case: irc3.event looks this attribute up by name
        @staticmethod
        def attach(wrapped: Any, callback: Any, category: str | None = None) -> Any:
            return _venusian.attach(wrapped, callback, category=category, depth=3)


@dataclass(frozen=True)
class CommandHelp:
    """What ``!help`` says about a command, taken from its handler's docstring."""

    name: str
    usage: str  # "!peek SESSION [N]"
    summary: str  # "the pane's last N lines, by private message (operators only)."

    def line(self) -> str:
        return f"{self.usage} — {self.summary}"


def _command_help(name: str, fn: Callable[..., object]) -> CommandHelp:
    return _parse_help(name, (inspect.getdoc(fn) or "").split("\n", 1)[0])


def _parse_help(name: str, first: str) -> CommandHelp:
    usage, dash, summary = first.partition(" — ")
    if not dash or not usage.startswith(f"!{name}"):
        raise TypeError(f"command !{name}: the docstring must start '!{name} ARGS — what it does' "
                        "(it is the command's !help)")
    return CommandHelp(name, usage.strip(), summary.strip())


@dataclass(frozen=True)
class _HelpOnly:
    """A command other bots answer, listed in ``!help`` by the bot that holds this entry."""

    command_help: CommandHelp


def help_entry(name: str, line: str) -> _HelpOnly:
    """``!help`` for a command this bot does not answer itself (``!allow``: each session's bot
    answers for its own prompts, and a fleet of them should not all list it)."""
    return _HelpOnly(_parse_help(name, line))


def command(name: str) -> Callable[[TextHandler[_P]], Callable[..., Awaitable[None] | None]]:
    """An ``!name free text`` command, in the channel or in a private message.

    The handler is called as ``handler(self, mask, reply_to, args)``; ``args`` is the raw
    rest of the line (no shell-style splitting: ``!ask don't panic`` must work).  Its
    docstring's first line, ``!name ARGS — what it does``, is what ``!help`` shows."""
    regex = _LINE + rf"!{re.escape(name)}(?:\s+(?P<args>.*?))?\s*$"

    def decorate(fn: TextHandler[_P]) -> Callable[..., Awaitable[None] | None]:
        info = _command_help(name, fn)
        handler: Callable[..., Awaitable[None] | None]
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def run(self: _P, mask: Sender, target: str, args: str | None = None,
                          **_: str | None) -> None:
                result = fn(self, mask, _reply_target(mask, target), args or "")
                if inspect.isawaitable(result):
                    await result
            handler = run
        else:
            @functools.wraps(fn)
            def call(self: _P, mask: Sender, target: str, args: str | None = None,
                     **_: str | None) -> None:
                fn(self, mask, _reply_target(mask, target), args or "")
            handler = call
        handler.command_help = info  # type: ignore[union-attr]  # read back by commands_of (!help)
        event_handler: Callable[..., Awaitable[None] | None] = _event(regex)(handler)
        return event_handler
    return decorate


def commands_of(bot: BreakroomBot) -> dict[str, CommandHelp]:
    """The ``!`` commands the plugins of ``bot`` answer, by name."""
    found: dict[str, CommandHelp] = {}
    for plugin in bot.registry.plugins.values():
        for attr in dir(type(plugin)):
            info = getattr(getattr(type(plugin), attr, None), "command_help", None)
            if isinstance(info, CommandHelp):
                found[info.name] = info
    return found


def addressed_text(bot: BreakroomBot, target: str, data: str) -> str | None:
    """The text of a line addressed to ``bot`` (``nick: text``, ``nick, text`` or a private
    message), or None.  CTCP (including ACTION) is never addressed text."""
    if data.startswith("\x01"):
        return None
    nick = bot.nick
    if not is_channel(target):
        return data.strip() if target.lower() == nick.lower() else None
    m = re.match(rf"^\s*{re.escape(nick)}\s*[:,]\s*(.*)$", data, re.IGNORECASE | re.DOTALL)
    return m.group(1).strip() if m else None


def addressed(fn: TextHandler[_P]) -> Callable[..., Awaitable[None]]:
    """Call ``handler(self, mask, reply_to, text)`` for lines addressed to this bot."""
    regex = PRIVMSG_LINE

    async def handler(self: _P, mask: Sender, target: str, data: str, **_: str | None) -> None:
        text = addressed_text(self.bot, target, data)
        if text is None or mask.nick == self.bot.nick:
            return
        result = fn(self, mask, _reply_target(mask, target), text)
        if inspect.isawaitable(result):
            await result
    functools.update_wrapper(handler, fn)
    event_handler: Callable[..., Awaitable[None]] = _event(regex)(handler)
    return event_handler


class _OperWhois(Whois):  # type: ignore[misc]  # irc3 is untyped: Whois is Any
    """WHOIS that also reports 313 (is an IRC operator)."""

    events = (*Whois.events, {"match": r"(?i)^:\S+ 313 \S+ {nick} :(?P<operator>.*)"})


async def is_operator(bot: BreakroomBot, nick: str) -> bool:
    """True only for a server-verified IRC operator whose nick is in ``ops`` (when set).

    Masks are not identity on a local ircd (every host is 127.0.0.1, the user part is
    client-chosen); the server's own operator flag is."""
    app = runtime_of(bot)
    if app.config.ops and nick.lower() not in {n.lower() for n in app.config.ops}:
        return False
    whois = getattr(bot, "_oper_whois", None)
    if whois is None:
        whois = bot._oper_whois = _OperWhois(bot)
    result = await whois(nick=nick)
    return bool(result.get("success") and result.get("operator"))


@irc3.plugin
class Presence:
    """Tracks whether the bot may speak in the channel, wakes its outbox when it may,
    and records private messages it receives (the scribe cannot see them)."""

    def __init__(self, bot: BreakroomBot):
        self.bot = bot
        self.app = runtime_of(bot)

    @event(irc3.rfc.JOIN)
    def on_join(self, mask: Sender, channel: str, **_: str | None) -> None:
        if mask.nick == self.bot.nick and channel.lower() == self.app.channel.lower():
            self.bot.in_channel = True
            self.bot.outbox.wake()

    @event(irc3.rfc.KICK)
    def on_kick(self, mask: Origin, channel: str, target: Sender, **_: str | None) -> None:
        if target.nick == self.bot.nick:
            self.bot.in_channel = False

    def connection_lost(self) -> None:
        self.bot.in_channel = False

    @event(_LINE.replace("PRIVMSG", "(?P<kind>PRIVMSG|NOTICE)") + r"(?P<data>.*)$")
    def on_private(self, mask: Sender, kind: str, target: str, data: str, **_: str | None) -> None:
        if is_channel(target) or self.app.is_own_nick(mask.nick):
            return  # channel lines are the scribe's; our own bots' lines were recorded when sent
        text, kind = (data[8:-1], "ACTION") if data.startswith("\x01ACTION ") else (data, kind)
        if text.startswith("\x01"):
            return  # other CTCP (VERSION, PING …) is protocol noise, not conversation
        self.app.record.add(Event(nick=mask.nick, kind=kind, text=text, target=self.bot.nick))


@irc3.plugin
class Help:
    """``!help``: each bot with commands lists its own in one line; ``!help CMD`` is
    answered by the bot that has CMD.  Bots without commands stay quiet."""

    def __init__(self, bot: BreakroomBot):
        self.bot = bot
        self.app = runtime_of(bot)

    @event(_LINE + r"!help(?:\s+!?(?P<args>\S+))?\s*$")
    def on_help(self, mask: Sender, target: str, args: str | None = None, **_: str | None) -> None:
        commands = commands_of(self.bot)
        reply_to = _reply_target(mask, target)
        if args:
            info = commands.get(args.lower())
            if info is not None:
                self.app.send(self.bot, reply_to, info.line())
            return
        if commands:
            listed = " · ".join(commands[name].usage for name in sorted(commands))
            self.app.send(self.bot, reply_to, f"{listed} — !help CMD for one")
