"""Drift: the agent in a pane moved away from what Breakroom was proven to read.

Every tool that reads agent screens has shipped a detector the next agent release broke,
and the break is silent: a screen no pattern names reads ``unknown`` and nothing happens.
Here it is loud, once:

- a pane of a known agent whose screen has read ``unknown`` for ``agents.unknown_after``
  seconds (nothing is typed into an unknown screen meanwhile — delivery waits for idle);
- an agent reporting a release newer than every one its profile's ``tested`` lists
  (:mod:`breakroom.fleet.agentversion` finds it without typing into the pane).

Each gets one NOTICE to ``ops`` (:meth:`breakroom.fleet.host.FleetHost.tell_ops`) and
stays on the session's status, which ``breakroom doctor`` prints as a problem with the
command that saves the screen as a fixture.  A pane that reads right again is re-armed: a
later unknown spell is news again; a release is announced once per session.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from breakroom.fleet import panestate
from breakroom.fleet.observer import PaneView
from breakroom.fleet.states import PaneState

UNKNOWN_SCREEN, UNTESTED_RELEASE = "unknown-screen", "untested-release"


@dataclass(frozen=True)
class Drift:
    """One session's drift: its ``kind``, the ``problem`` in a few words (``breakroom
    doctor`` shows it) and the NOTICE ``text`` (what is wrong and what to run)."""

    session: str
    kind: str
    problem: str
    text: str


def save_hint(session: str) -> str:
    """The command that saves the session's screen as a fixture of its true state."""
    return f"breakroom screens save {shlex.quote(session)} --state STATE"


def _duration(seconds: float) -> str:
    return f"{int(seconds)}s" if seconds < 120 else f"{int(seconds // 60)}m"


def drift_of(view: PaneView, now: float, unknown_after: float) -> Drift | None:
    """What is drifting in this pane, if anything (an untested release first: it explains
    an unknown screen too)."""
    if view.agent == panestate.UNKNOWN_AGENT or view.agent not in panestate.available_agents():
        return None  # no profile claims it: `doctor` says to name its agent, that is not drift
    profile = panestate.load_profile(view.agent)
    agent = f"{view.agent} {view.version}" if view.version else view.agent
    if view.version and profile.untested(view.version):
        problem = f"{agent} is newer than any release Breakroom was tested with ({', '.join(profile.tested)})"
        return Drift(view.session, UNTESTED_RELEASE, problem,
                     f"{view.session}: {problem}; a screen may read wrong. If one does, save it with "
                     f"its true state: {save_hint(view.session)}")
    if view.state is PaneState.UNKNOWN and now - view.since >= unknown_after:
        problem = f"no pattern of {agent} has read its screen for {_duration(now - view.since)}"
        return Drift(view.session, UNKNOWN_SCREEN, problem,
                     f"{view.session}: {problem}; nothing is typed into it until one does. Save the "
                     f"screen with its true state: {save_hint(view.session)}")
    return None


class DriftWatch:
    """The fleet's drift, and which of it was announced (one NOTICE per spell)."""

    def __init__(self, unknown_after: float) -> None:
        self.unknown_after = unknown_after
        self.current: dict[str, Drift] = {}
        self._announced: set[tuple[str, str]] = set()   # (session, kind or release)

    def check(self, views: Mapping[str, PaneView], now: float) -> list[Drift]:
        """Update the picture from one poll; the drifts to announce now (new ones)."""
        news: list[Drift] = []
        self.current = {}
        for name, view in views.items():
            drift = drift_of(view, now, self.unknown_after)
            if drift is None:
                self._announced.discard((name, UNKNOWN_SCREEN))  # reads right again: re-armed
                continue
            self.current[name] = drift
            key = (name, view.version or "") if drift.kind == UNTESTED_RELEASE else (name, drift.kind)
            if key not in self._announced:
                self._announced.add(key)
                news.append(drift)
        self._announced = {k for k in self._announced if k[0] in views}
        return news
