"""Holds: what keeps messages, nudges and the sweep's answers from reaching a session for now.

Two kinds, both kept in SQLite so a restart keeps them:

- a **pause** (``!pause [SESSION]`` by an IRC operator): the whole fleet (:data:`FLEET`) or one
  session, until ``!resume``;
- a **limit hold** (:mod:`breakroom.fleet.limits`): a session whose turn failed on a rate,
  usage, credit, overload or auth limit, until the limit resets (or ``!resume SESSION``).

Held is not lost: a message for a held session is queued in its inbox as usual and typed (or
handed to a hook) once the hold ends — delivery asks :meth:`Holds.why_held` before each one;
the dispatcher nudges no held session; the sweep's policy decides no permission prompt of a
held session (a human gets it instead).  Listeners of :attr:`Holds.on_release` hear when a
hold ends, so delivery can catch up at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils


FLEET = "*"  # the scope of a fleet-wide pause


@dataclass(frozen=True)
class Pause:
    scope: str      # a session, or FLEET
    by: str         # who paused it
    since: float


@dataclass(frozen=True)
class LimitHold:
    session: str
    state: str          # the error state it failed in (``error:rate-limit``, …)
    reason: str         # what said so, for humans (the error's text, or the screen's)
    since: float
    until: float        # when it is resumed
    attempt: int        # 1 for a new limit; more when resuming did not clear it
    released: float | None = None


class Holds:
    """The pauses and limit holds of one breakroom (loaded at start, written through)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.pauses = {row[0]: Pause(*row) for row in
                       db.execute("SELECT scope, by, since FROM pauses").fetchall()}
        self.limits = {hold.session: hold for hold in self._limit_rows("released IS NULL")}
        self.on_release: list[Callable[[str | None], None]] = []  # a session, or None: all

    def _limit_rows(self, where: str, args: tuple[object, ...] = ()) -> list[LimitHold]:
        return [LimitHold(*row) for row in self.db.execute(
            "SELECT session, state, reason, since, until, attempt, released FROM limit_holds "
            f"WHERE {where}", list(args)).fetchall()]

    # ------------------------------------------------------------------ pauses

    def pause(self, scope: str, by: str, now: float | None = None) -> bool:
        """Pause ``scope`` (a session or :data:`FLEET`); False when it already was."""
        if scope in self.pauses:
            return False
        pause = Pause(scope, by, time.time() if now is None else now)
        self.db.execute("INSERT INTO pauses (scope, by, since) VALUES (?, ?, ?)",
                        [pause.scope, pause.by, pause.since])
        self.pauses[scope] = pause
        return True

    def unpause(self, scope: str) -> Pause | None:
        """End ``scope``'s pause; the pause that ended, or None when there was none."""
        pause = self.pauses.pop(scope, None)
        if pause is not None:
            self.db.execute("DELETE FROM pauses WHERE scope = ?", [scope])
            self._released(None if scope == FLEET else scope)
        return pause

    # ------------------------------------------------------------------ limits

    def hold(self, hold: LimitHold) -> None:
        """Hold ``hold.session`` until ``hold.until`` (replacing any earlier hold of it)."""
        self.db.execute(
            "INSERT INTO limit_holds (session, state, reason, since, until, attempt, released) "
            "VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(session) DO UPDATE SET state = excluded.state, "
            "reason = excluded.reason, since = excluded.since, until = excluded.until, "
            "attempt = excluded.attempt, released = NULL",
            [hold.session, hold.state, hold.reason, hold.since, hold.until, hold.attempt])
        self.limits[hold.session] = replace(hold, released=None)

    def release(self, session: str, now: float | None = None) -> LimitHold | None:
        """End ``session``'s limit hold; the hold that ended, or None when there was none."""
        hold = self.limits.pop(session, None)
        if hold is None:
            return None
        released = time.time() if now is None else now
        self.db.execute("UPDATE limit_holds SET released = ? WHERE session = ?", [released, session])
        self._released(session)
        return replace(hold, released=released)

    def last_limit(self, session: str) -> LimitHold | None:
        """The session's current or most recent limit hold (released ones too)."""
        rows = self._limit_rows("session = ?", (session,))
        return rows[0] if rows else None

    # ------------------------------------------------------------------ asking

    def why_held(self, session: str, *, fleet: bool = True) -> str | None:
        """Why nothing may reach ``session`` now (one phrase), or None when nothing holds it;
        ``fleet=False``: its own holds only, not the fleet's pause."""
        everyone = self.pauses.get(FLEET) if fleet else None
        if everyone is not None:
            return f"the fleet is paused (by {everyone.by}; !resume)"
        pause = self.pauses.get(session)
        if pause is not None:
            return f"{session} is paused (by {pause.by}; !resume {session})"
        hold = self.limits.get(session)
        if hold is not None:
            return f"{session} hit {hold.state}; resumed at {clock(hold.until)}"
        return None

    def held(self, sessions: list[str], *, fleet: bool = True) -> dict[str, str]:
        """Of ``sessions``, the held ones and why (``fleet``: see :meth:`why_held`)."""
        return {name: why for name in sessions if (why := self.why_held(name, fleet=fleet)) is not None}

    def _released(self, session: str | None) -> None:
        for listener in self.on_release:
            listener(session)


def clock(epoch: float) -> str:
    """``14:05`` today, ``Tue 14:05`` within a week, else the date: when a hold ends."""
    moment = time.localtime(epoch)
    ahead = epoch - time.time()
    if ahead < 20 * 3600:
        return time.strftime("%H:%M", moment)
    if ahead < 6 * 86400:
        return time.strftime("%a %H:%M", moment)
    return time.strftime("%Y-%m-%d %H:%M", moment)
