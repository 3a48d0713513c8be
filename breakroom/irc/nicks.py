"""tmux session name -> IRC nick for the session's bot.

A nick must start with a letter or one of ``[]\\`_^{|}``, continue with letters, digits,
those specials and ``-``, and be at most 31 characters (ngircd's ``MaxNickLength`` ceiling).
Session names are freer (``my.proj``, ``0``, ``übung``), so they are made legal:

- every run of illegal characters becomes one ``_`` (``my.proj`` -> ``my_proj``);
  accented letters lose their accents first (``übung`` -> ``ubung``);
- a name starting with a digit or ``-`` gets an ``s`` in front (tmux's default ``0`` -> ``s0``);
- longer than 31 characters: cut to fit.

Two different sessions can end up with the same legal nick (``my.proj`` and ``my_proj``), or
a session can be named like a service bot (``scribe``).  Collisions are resolved
deterministically: a session whose name is already a legal nick keeps it; the others get
``-`` plus four hex digits of the SHA-1 of their full session name (``my_proj-3f2a``), so the
same session gets the same nick on every run and on every machine.  Service nicks are never
given to a session.  IRC compares nicks case-insensitively (``rfc1459``: ``[]\\~`` are the
upper case of ``{}|^``), and so does the collision check.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping

MAX_NICK = 31
SERVICE_NICKS = frozenset({"knowledge", "sweep", "dispatcher", "scribe", "replay"})

_ILLEGAL_RUN = re.compile(r"[^A-Za-z0-9\[\]\\`_^{|}\-]+")
_FIRST_OK = re.compile(r"[A-Za-z\[\]\\`_^{|}]")
_RFC1459 = str.maketrans("[]\\~", "{}|^")


def irc_lower(nick: str) -> str:
    """The rfc1459 case-folded form IRC servers use to compare nicks."""
    return nick.lower().translate(_RFC1459)


def is_legal(nick: str) -> bool:
    return (0 < len(nick) <= MAX_NICK and bool(_FIRST_OK.match(nick))
            and not _ILLEGAL_RUN.search(nick))


def _suffix(session: str) -> str:
    return hashlib.sha1(session.encode("utf-8")).hexdigest()[:4]


def base_nick(session: str) -> str:
    """The session name made IRC-legal, without collision handling."""
    ascii_name = unicodedata.normalize("NFKD", session).encode("ascii", "ignore").decode()
    nick = _ILLEGAL_RUN.sub("_", ascii_name).strip("_")
    if not nick:
        return "s" + _suffix(session)
    if not _FIRST_OK.match(nick):
        nick = "s" + nick
    return nick[:MAX_NICK]


def suffixed_nick(session: str, length: int = 4, room: int = MAX_NICK) -> str:
    """``base-hash``: the collision form, still at most ``room`` characters."""
    digest = hashlib.sha1(session.encode("utf-8")).hexdigest()[:length]
    return base_nick(session)[:room - length - 1] + "-" + digest


def assign_nicks(sessions: Iterable[str], current: Mapping[str, str] | None = None,
                 host: str | None = None) -> dict[str, str]:
    """Nicks for ``sessions`` (session -> nick), unique case-insensitively, none a service nick.

    ``host`` (``host_name`` in a multi-host fleet) ends every nick in ``-host``, inside the 31
    characters, so two machines' sessions of the same name never collide on the network.

    ``current`` holds nicks already in use by running bots: a session that still exists keeps
    its nick (a bot is never renamed under a user's feet).  Then sessions whose name is
    itself a legal nick claim it, then the rest take their legal form in name order, and
    whoever finds the nick taken gets the hash suffix.
    """
    tag = f"-{host}" if host else ""
    room = MAX_NICK - len(tag)
    names = sorted(set(sessions))
    taken = {irc_lower(n) for n in SERVICE_NICKS}
    out: dict[str, str] = {}

    def claim(session: str, nick: str) -> bool:
        key = irc_lower(nick)
        if key in taken:
            return False
        taken.add(key)
        out[session] = nick
        return True

    for session in names:
        if current and session in current:
            claim(session, current[session])
    exact = [s for s in names if s not in out and is_legal(s)]
    lossy = [s for s in names if s not in out and not is_legal(s)]
    pending = []
    for session in exact + lossy:
        if not claim(session, base_nick(session)[:room] + tag):
            pending.append(session)
    for session in pending:
        length = 4
        while not claim(session, suffixed_nick(session, length, room) + tag):
            length += 2  # a hash collision too: a longer digest is still deterministic
    return out
