"""Sessions on other hosts, as their hosts report them to the hub over IRC.

A host (``breakroom up --role host``) reports each of its sessions in a private message
from that session's own bot to the hub's ``sweep``: one line, ``BRFLEET1 {json}``, sent when
the session's state changes and every :data:`HEARTBEAT` seconds.  The format is ours, between
our own bots, and never parsed from human-readable lines.  A report only ever describes its
sender: the hub files it under the sending nick, so a forged report can at most make the hub
talk to the forger.  Ages, not timestamps, cross the wire (two machines' clocks differ).

The hub reads remote sessions like local ones — the sweep and the dispatcher see them in the
same snapshot — and reaches a remote pane by a private message to the session's bot, which
delivers it on its host like any message (queued while busy, typed when idle, attributed).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace

from breakroom.fleet.observer import HOOK, PANE, PaneView
from breakroom.fleet.states import PaneState, known_state
from breakroom.irc.nicks import irc_lower
from breakroom.sanitize import one_line

log = logging.getLogger(__name__)

PREFIX = "BRFLEET1 "
# A hub's service bot delivering to a session on a host (the sweep's answer, a nudge): the
# host's session bot types it in, where any other line from a service bot is for humans only.
DELIVER_PREFIX = "BRDELIVER1 "
REPORT_TO = "sweep"       # the hub's bot that owns the fleet's picture
HEARTBEAT = 30.0          # a host re-reports an unchanged session this often (seconds)
EXPIRY = 3 * HEARTBEAT    # the hub forgets a session not reported for this long
QUESTION_CHARS = 240      # a report stays one IRC line


@dataclass(frozen=True)
class RemoteSession:
    """One session on another host, as its latest report says."""

    nick: str
    host: str
    session: str          # its tmux name on that host
    agent: str
    state: PaneState
    since: float          # on the hub's clock
    question: str | None
    project: str | None
    role: str | None
    hook: bool
    at: float             # when the report arrived (monotonic)

    def view(self) -> PaneView:
        """As the hub's snapshot holds it: keyed by nick (unique across hosts), no screen."""
        return PaneView(session=self.nick, agent=self.agent, state=self.state, since=self.since,
                        reason=f"reported by {self.host}", question=self.question,
                        source=HOOK if self.hook else PANE, settling=False, pane_id="",
                        current_command="", text="")


def encode(host: str, view: PaneView, project: str | None, role: str | None) -> str:
    """The report line for one of this host's sessions."""
    question = one_line(view.question)[:QUESTION_CHARS] if view.question else None
    body = {"h": host, "s": view.session, "a": view.agent, "st": view.state,
            "age": round(max(0.0, time.time() - view.since), 1), "q": question,
            "p": project, "r": role, "hk": view.source == HOOK}
    return PREFIX + json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _text(value: object, limit: int = 200) -> str | None:
    """A report's text field, cleaned and capped; None when absent or not text."""
    if not isinstance(value, str):
        return None
    return one_line(value)[:limit] or None


def decode(nick: str, line: str) -> RemoteSession | None:
    """A report from ``nick``, or None when the line is not a well-formed one (untrusted)."""
    if not line.startswith(PREFIX):
        return None
    try:
        body = json.loads(line[len(PREFIX):])
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    host, state, age = body.get("h"), body.get("st"), body.get("age")
    if not isinstance(host, str) or not irc_lower(nick).endswith("-" + irc_lower(host)):
        return None  # a host's session nicks end in -host (nicks.assign_nicks)
    known = known_state(state)
    if known is None:
        return None
    if isinstance(age, bool) or not isinstance(age, (int, float)) or age < 0:
        return None
    return RemoteSession(nick=nick, host=host, session=_text(body.get("s")) or nick,
                         agent=_text(body.get("a"), 40) or "unknown", state=known,
                         since=time.time() - float(age),
                         question=_text(body.get("q"), QUESTION_CHARS), project=_text(body.get("p")),
                         role=_text(body.get("r")), hook=body.get("hk") is True,
                         at=time.monotonic())


class RemoteFleet:
    """The hub's picture of the sessions on its hosts."""

    def __init__(self) -> None:
        self._sessions: dict[str, RemoteSession] = {}

    def take(self, nick: str, line: str) -> bool:
        """File a report line from ``nick``; False when it is not a report."""
        report = decode(nick, line)
        if report is None:
            if line.startswith(PREFIX):
                log.info("ignored a malformed fleet report from %s", nick)
            return False
        before = self._sessions.get(irc_lower(nick))
        if before is not None and before.state == report.state:
            # the same state continues: keep the hub's own start (reports round ages)
            report = replace(report, since=before.since)
        self._sessions[irc_lower(nick)] = report
        return True

    def forget(self, nick: str) -> None:
        self._sessions.pop(irc_lower(nick), None)

    def sessions(self) -> dict[str, RemoteSession]:
        """The live ones (reported within :data:`EXPIRY`), by nick."""
        cutoff = time.monotonic() - EXPIRY
        for key in [k for k, s in self._sessions.items() if s.at < cutoff]:
            del self._sessions[key]
        return {s.nick: s for s in self._sessions.values()}

    def find(self, nick: str) -> RemoteSession | None:
        return self.sessions().get(nick) or next(
            (s for s in self.sessions().values() if irc_lower(s.nick) == irc_lower(nick)), None)


class Reporter:
    """A host's side: which report lines to send after a poll (changed, or due again)."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._sent: dict[str, tuple[str, float]] = {}  # session -> (state key, monotonic)

    def due(self, view: PaneView, project: str | None, role: str | None) -> str | None:
        key = f"{view.state}|{view.question}|{view.agent}"
        last = self._sent.get(view.session)
        now = time.monotonic()
        if last is not None and last[0] == key and now - last[1] < HEARTBEAT:
            return None
        self._sent[view.session] = (key, now)
        return encode(self.host, view, project, role)

    def forget(self, session: str) -> None:
        self._sent.pop(session, None)
