"""Limits handled unattended: a session whose turn failed on a rate limit, a usage or credit
limit, an overload, a server or an auth error is held, and resumed when the limit resets.

The failure is heard from Claude Code's ``StopFailure`` hook (its error type, mapped to a
state by :data:`breakroom.fleet.hooks.STOP_FAILURE_STATES`, and its message) or read off the
screen (the profiles' ``error:…`` rules, for agents without that hook).  Then:

- the session is held (:mod:`breakroom.fleet.holds`): nothing is typed into it or handed to
  its hooks, the dispatcher does not nudge it, the sweep's policy leaves its prompts to
  humans — everything waits;
- ``ops`` is told once per episode (a NOTICE each, and one line in the channel);
- it is resumed at the reset time the error or the screen names (the profile's
  ``limits.reset`` patterns: ``resets 3pm (Europe/Berlin)``, ``…|<epoch>``, ``try again in
  30s``), else after a backoff: ``limits.backoff`` seconds, doubled for each attempt in a
  row, at most ``limits.max_backoff``;
- resuming acknowledges the error on screen (:meth:`FleetObserver.acknowledge`), ends the
  hold and delivers one message — ``[breakroom] … carry on where you left off`` — so nobody
  has to type "keep going".  Failing again on the same limit continues the episode (a longer
  wait, ops not told again); a new episode is another limit, or one :data:`EPISODE_GAP` after
  the last was released.

``!resume SESSION`` ends a hold early (:meth:`Limits.resume`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from breakroom.fleet import panestate
from breakroom.fleet.delivery import Deliveries
from breakroom.fleet.holds import Holds, LimitHold, clock
from breakroom.fleet.host import FleetHost
from breakroom.fleet.manager import SessionManager
from breakroom.fleet.observer import PANE
from breakroom.fleet.states import PaneState
from breakroom.fleet.watch import FleetWatch
from breakroom.sanitize import Clean, one_line

log = logging.getLogger(__name__)

LIMIT_STATES = frozenset({PaneState.ERROR_RATE_LIMIT, PaneState.ERROR_OVERLOADED, PaneState.ERROR_SERVER,
                          PaneState.ERROR_USAGE_LIMIT, PaneState.ERROR_AUTH})
EPISODE_GAP = 3600.0     # the same limit this soon after it was released continues its episode
MAX_AHEAD = 8 * 86400.0  # a named reset further ahead than this is not believed: back off instead
REASON_MAX = 200         # characters of the error's text kept
RESUMER = "dispatcher"   # who the resuming message is from (it is a nudge)
KINDS = {PaneState.ERROR_RATE_LIMIT: "a rate limit",
         PaneState.ERROR_OVERLOADED: "an overloaded API",
         PaneState.ERROR_SERVER: "an API server error",
         PaneState.ERROR_USAGE_LIMIT: "a usage or credit limit",
         PaneState.ERROR_AUTH: "an authentication error"}


def reset_time(text: str, agent: str, now: float) -> float | None:
    """When the limit ``text`` speaks of resets, by the agent's ``limits.reset`` patterns;
    None when it names no time, or one that makes no sense (past, or over a week ahead)."""
    for pattern in panestate.reset_patterns(agent):
        match = pattern.search(text)
        if match is None:
            continue
        found = {k: v for k, v in match.groupdict().items() if v}
        when: float | None = None
        if "epoch" in found:
            when = float(found["epoch"])
        elif "clock" in found:
            when = _next_clock(found["clock"], found.get("tz"), now)
        else:
            seconds = (int(found.get("seconds", 0)) + 60 * int(found.get("minutes", 0))
                       + 3600 * int(found.get("hours", 0)))
            when = now + seconds if seconds else None
        if when is not None and now <= when <= now + MAX_AHEAD:
            return when
    return None


def _next_clock(text: str, tz: str | None, now: float) -> float | None:
    """The next ``3pm`` / ``3:30 pm`` / ``15:00`` after ``now``, in ``tz`` (else local time)."""
    match = re.fullmatch(r"(\d{1,2})(?::(\d\d))?\s*([ap]m)?", text.strip().lower())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if match.group(3):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match.group(3) == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    try:
        zone = ZoneInfo(tz) if tz else None
    except (ValueError, ZoneInfoNotFoundError):
        zone = None
    base = datetime.fromtimestamp(now, zone).astimezone(zone)
    moment = base.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if moment.timestamp() <= now:
        moment += timedelta(days=1)
    return moment.timestamp()


class Limits(FleetWatch):
    """Holds sessions that hit a limit and resumes them; one per breakroom."""

    def __init__(self, app: FleetHost, sessions: SessionManager, deliveries: Deliveries,
                 holds: Holds) -> None:
        super().__init__(app, sessions, deliveries, holds)
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def start(self) -> None:
        """Resume on time the holds a restart found (on the loop)."""
        for hold in list(self.holds.limits.values()):
            self._schedule(hold)

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        await super().stop()

    # ------------------------------------------------------------------ the ways in

    def from_hook(self, session: str, state: str, text: str) -> None:
        """A ``StopFailure`` hook's report: ``state`` from its error type, ``text`` its
        message (the reset time may be in it)."""
        try:
            parsed = PaneState(state)
        except ValueError:
            return
        if parsed in LIMIT_STATES and self.sessions.is_local(session):
            self._hit(session, parsed, text)

    def _after_poll(self) -> None:
        """A limit read off a screen (agents without the hook)."""
        for name, view in self.sessions.observer.snapshot.sessions.items():
            if (view.state in LIMIT_STATES and view.source == PANE and name not in self.holds.limits
                    and self.sessions.is_local(name)):
                self._hit(name, view.state, view.text)

    def _hit(self, session: str, state: PaneState, text: str, now: float | None = None) -> None:
        if session in self.holds.limits:
            return  # already held: the same failure, heard twice (hook and screen)
        now = time.time() if now is None else now
        last = self.holds.last_limit(session)
        attempt = (last.attempt + 1 if last is not None and last.released is not None
                   and last.state == state.value and now - last.released < EPISODE_GAP else 1)
        agent = self._agent(session)
        reset = reset_time(text, agent, now)
        limits = self.config.limits
        until = reset if reset is not None else now + min(limits.backoff * 2 ** (attempt - 1),
                                                          limits.max_backoff)
        why = "the reset time it names" if reset is not None else f"backing off, attempt {attempt}"
        hold = LimitHold(session, state.value, _reason(text) or state.value, now, until, attempt)
        self.holds.hold(hold)
        self._schedule(hold)
        log.warning("%s hit %s: held until %s (%s)", session, state, clock(until), why)
        if attempt == 1:
            nick = self._nick(session)
            resume = (f"resuming it at {clock(until)} ({why})" if limits.resume
                      else "!resume it when it is over")
            line = (f"{nick} hit {KINDS[state]} ({state}: {hold.reason}) — holding its messages "
                    f"and nudges, {resume}")
            self._say(session, f"{self.config.ops_prefix} {line}")
            for op in self.config.ops:
                self._say(session, line, op, notice=True)

    # ------------------------------------------------------------------ resuming

    def _schedule(self, hold: LimitHold) -> None:
        if not self.config.limits.resume:
            return
        old = self._timers.pop(hold.session, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, hold.until - time.time())
        self._timers[hold.session] = asyncio.get_running_loop().call_later(
            delay, self._spawn_resume, hold.session)

    def _spawn_resume(self, session: str) -> None:
        self._timers.pop(session, None)
        self._spawn(self.resume(session, None))

    async def resume(self, session: str, by: str | None) -> bool:
        """End ``session``'s limit hold (``by``: the operator who asked; None: it reset) and
        deliver the one message that sets it going; False when it was not held."""
        timer = self._timers.pop(session, None)
        if timer is not None:
            timer.cancel()
        self.sessions.observer.acknowledge(session)
        hold = self.holds.release(session)
        if hold is None:
            return False
        held_for = _duration(time.time() - hold.since)
        cause = "resumed by " + by if by else "its limit should have reset"
        self._say(session, f"{self._nick(session)}: {cause} after {held_for} on {hold.state}")
        text = (f"[breakroom] {KINDS.get(PaneState(hold.state), hold.state)} stopped your last turn "
                f"{held_for} ago ({hold.state}); it should be over now — carry on where you left off.")
        await self.deliveries.deliver(session, RESUMER, Clean(text))
        return True

    # ------------------------------------------------------------------ helpers

    def _agent(self, session: str) -> str:
        view = self.sessions.observer.snapshot.sessions.get(session)
        return view.agent if view is not None else self.config.session(session).agent or "claude-code"

    def _nick(self, session: str) -> str:
        return self.sessions.nick_for(session) or session

    def _say(self, session: str, text: str, target: str | None = None, *, notice: bool = False) -> None:
        key = self.sessions.bot_key(session)
        if key is not None:
            self.app.say(key, target or self.app.channel, text, notice=notice)


def _reason(text: str) -> str:
    """The error's words, one line, cut: the last line that says something."""
    lines = [line for line in (one_line(raw) for raw in text.splitlines()[-40:]) if line]
    words = next((line for line in reversed(lines) if re.search(r"(?i)error|limit|credit|overload|"
                                                                r"invalid|rate|quota|unauthori", line)),
                 lines[-1] if lines else "")
    return words if len(words) <= REASON_MAX else words[:REASON_MAX - 1] + "…"


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 90:
        return f"{seconds}s"
    if seconds < 5400:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
