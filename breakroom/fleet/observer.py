"""The fleet observer: every pane captured once per poll, classified once, stabilised once.

Everyone who reads the fleet — delivery, the sweep, the dispatcher, ``!fleet`` and
``breakroom fleet`` — reads the same :class:`FleetSnapshot`, so no two of them can disagree
about a pane.  One poll is one batched capture (:func:`breakroom.fleet.capture.capture_all`:
a ``list-panes`` plus one invocation per chunk of captures) folded into the picture:

- each pane is classified with its agent's profile (:func:`breakroom.fleet.panestate.detect`);
- an idle-looking screen is trusted only when two captures at least :data:`MIN_STABLE_GAP`
  apart agree (:class:`~breakroom.fleet.panestate.IdleStability`); until then the session is
  ``working`` and ``settling``;
- a *fresh* hook report (:meth:`FleetObserver.report_hook`) wins over the screen — fresh
  means made after the pane last changed, or within :data:`HOOK_GRACE` seconds — except that
  the screen may refine a hook's ``idle`` into ``waiting:question`` (the hook cannot see
  that the agent's last message asks something);
- the agent's release is asked of its process once (:mod:`breakroom.fleet.agentversion`,
  in the capture half: it runs a program), else read off its banner.
- an error the breakroom has dealt with (:meth:`FleetObserver.acknowledge`: a limit that
  reset) reads ``idle`` while the transcript above the input box stays as it was, so the
  message resuming the agent can be typed (and its draft seen) under it.

The blocking half (:meth:`FleetObserver.capture`, tmux) runs in a worker thread; the folding
half (:meth:`FleetObserver.fold`) on the caller's thread — the running breakroom's loop — so
the picture is only ever changed from one thread.  :meth:`FleetObserver.poll` and
:meth:`FleetObserver.settle` do both in the calling thread (CLI walks, benchmarks, tests).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from breakroom.config import Config
from breakroom.fleet import panestate
from breakroom.fleet.agentversion import VersionProbe, banner_release
from breakroom.fleet.capture import PaneCapture, capture_all
from breakroom.fleet.states import PaneState, parse_state
from breakroom.fleet.tmux import Tmux

HOOK_GRACE = 3.0        # a hook report this recent wins even if the pane has changed since
MIN_STABLE_GAP = 0.25   # two captures closer than this don't prove a pane is still
CAPTURE_LINES = 60
HOOK, PANE = "hook", "pane"  # where a session's state came from


@dataclass(frozen=True)
class PaneView:
    """One session as the latest poll saw it."""

    session: str
    agent: str
    state: PaneState
    since: float            # epoch seconds when ``state`` began
    reason: str             # what matched on the screen, or "hook report"
    question: str | None    # the agent's asking message, for ``waiting:question``
    source: str             # HOOK or PANE
    settling: bool          # the screen looks idle (or asking), not yet proven by a second capture
    pane_id: str
    current_command: str
    text: str               # the captured screen (raw: consumers scrub what they keep)
    version: str | None = None  # the agent's release, when its process or banner says


@dataclass(frozen=True)
class FleetSnapshot:
    """The whole fleet at one poll; immutable, so it is safe to keep and share."""

    at: float                                   # epoch of the poll (0: never polled)
    sessions: Mapping[str, PaneView] = field(default_factory=dict)

    @property
    def settling(self) -> list[str]:
        return [name for name, view in self.sessions.items() if view.settling]


@dataclass
class _Pane:
    """What the observer remembers about one pane between polls."""

    text: str = ""
    changed_at: float = 0.0      # when the pane text last changed (epoch)
    captured_at: float = 0.0     # monotonic time of the last capture
    banner: str | None = None    # the release the agent's banner last showed (it scrolls away)
    pid: int = 0                 # the pane's first process (the version probe's key)


class FleetObserver:
    """One per breakroom (or per CLI walk): the shared picture of the fleet."""

    def __init__(self, config: Config, tmux: Tmux) -> None:
        panestate.use_profile_dirs(config.agents.profiles_dir)  # the user's patterns first
        self.config = config
        self.tmux = tmux
        self.snapshot = FleetSnapshot(0.0)
        self._panes: dict[str, _Pane] = {}
        self._hooks: dict[str, tuple[PaneState, float]] = {}  # session -> (state, epoch)
        self._acknowledged: dict[str, str] = {}  # session -> the transcript of an error dealt with
        self.hook_seen: dict[str, float] = {}  # session -> epoch of its last hook report, ever
        self._stability = panestate.IdleStability()
        self.versions = VersionProbe()

    # ------------------------------------------------------------ blocking half

    def capture(self, sessions: list[str] | None = None) -> dict[str, PaneCapture] | None:
        """Capture the watched sessions' panes (or only ``sessions``).  None when the capture
        failed while watched sessions still exist (keep the picture rather than lose it)."""
        captures = {name: cap for name, cap in
                    capture_all(self.tmux, CAPTURE_LINES, sessions).items()
                    if self.config.tmux.watches(name)}
        if (not captures and sessions is None and self.snapshot.sessions
                and any(self.config.tmux.watches(name) for name in self.tmux.list_sessions())):
            return None
        for capture in captures.values():
            agent = self._agent(capture)
            if agent in panestate.available_agents():
                self.versions.ask(capture.pid, panestate.load_profile(agent))
        return captures

    def _agent(self, capture: PaneCapture) -> str:
        """The session's agent kind: as configured, else guessed from the pane."""
        return (self.config.session(capture.session).agent
                or panestate.guess_agent(capture.text, capture.current_command))

    # ------------------------------------------------------------ folding half

    def fold(self, captures: Mapping[str, PaneCapture], *, partial: bool = False) -> FleetSnapshot:
        """Fold captures into the picture and publish it.  ``partial``: only these sessions
        were captured (the others keep their views; none is taken for gone)."""
        now = time.time()
        views = dict(self.snapshot.sessions)
        if not partial:
            for gone in set(views) - set(captures):
                del views[gone]
                self._forget_pane(gone)
            for unseen in set(self._hooks) - set(captures):  # reports about no watched session
                del self._hooks[unseen]
        for name, capture in captures.items():
            views[name] = self._view(capture, views.get(name), now)
        self.snapshot = FleetSnapshot(now, views)
        return self.snapshot

    def _view(self, capture: PaneCapture, before: PaneView | None, now: float) -> PaneView:
        name = capture.session
        pane = self._panes.setdefault(name, _Pane())
        if capture.text != pane.text or not pane.changed_at:
            pane.text, pane.changed_at = capture.text, now
        pane.captured_at, pane.pid = time.monotonic(), capture.pid
        agent = self._agent(capture)
        raw = panestate.detect(capture.text, agent, capture.current_command)
        if agent in panestate.available_agents():
            pane.banner = banner_release(capture.text, panestate.load_profile(agent)) or pane.banner
        if name in self._acknowledged:
            if self._acknowledged[name] != panestate.transcript(capture.text, agent):
                del self._acknowledged[name]  # the agent moved on: a new error is a new one
            elif raw.state.is_error:
                raw = panestate.Detection(PaneState.IDLE, f"dealt with: {raw.reason}")
        screen = self._stability.observe(name, capture.text, raw)
        state, reason, question, source = screen.state, screen.reason, screen.question, PANE
        hook = self._hooks.get(name)
        if hook is not None and (hook[1] >= pane.changed_at or now - hook[1] <= HOOK_GRACE) \
                and not (hook[0] is PaneState.IDLE and screen.state is PaneState.WAITING_QUESTION):
            state, reason, source = hook[0], "hook report", HOOK
            question = screen.question if state is PaneState.WAITING_QUESTION else None
        since = before.since if before is not None and before.state == state else now
        return PaneView(session=name, agent=agent, state=state, since=since, reason=reason,
                        question=question, source=source,
                        settling=screen.state != raw.state,
                        pane_id=capture.pane_id, current_command=capture.current_command,
                        text=capture.text,
                        version=self.versions.release(capture.pid) or pane.banner)

    def _forget_pane(self, session: str) -> None:
        pane = self._panes.pop(session, None)
        if pane is not None:
            self.versions.forget(pane.pid)
        self._hooks.pop(session, None)
        self._acknowledged.pop(session, None)
        self.hook_seen.pop(session, None)
        self._stability.forget(session)

    # ------------------------------------------------------------ both halves, one thread

    def poll(self, sessions: list[str] | None = None) -> FleetSnapshot:
        """Capture and fold in the calling thread."""
        captures = self.capture(sessions)
        if captures is None:
            return self.snapshot
        return self.fold(captures, partial=sessions is not None)

    def settle(self, delay: float = MIN_STABLE_GAP) -> FleetSnapshot:
        """Poll, and once more after ``delay`` for the sessions whose idle is unproven."""
        snapshot = self.poll()
        if snapshot.settling:
            time.sleep(delay)
            snapshot = self.poll(snapshot.settling)
        return snapshot

    # ------------------------------------------------------------ what others tell us

    def report_hook(self, session: str, reported: str) -> PaneView | None:
        """A hook's report: it wins over the screen while fresh, and takes effect at once.
        ValueError for a state that is not one."""
        state = parse_state(reported)
        now = time.time()
        self._hooks[session] = (state, now)
        self.hook_seen[session] = now
        view = self.snapshot.sessions.get(session)
        if view is None:
            return None  # applied when the session is first captured
        if not (state is PaneState.IDLE and view.state is PaneState.WAITING_QUESTION
                and view.source == PANE):
            view = self._publish(replace(view, state=state, reason="hook report", source=HOOK,
                                         settling=False,
                                         question=view.question
                                         if state is PaneState.WAITING_QUESTION else None))
        return view

    def touched(self, session: str, *, state: PaneState | None = None, reason: str = "") -> None:
        """Our own keys went into the pane: idle must be proven afresh, an earlier hook
        report is stale, and (``state``) what the pane is now, until the next poll says."""
        self._hooks.pop(session, None)
        self._stability.forget(session)
        view = self.snapshot.sessions.get(session)
        if view is not None and state is not None:
            self._publish(replace(view, state=state, reason=reason, source=PANE, settling=False))

    def acknowledge(self, session: str) -> None:
        """The error on ``session``'s screen has been dealt with (its limit reset): while the
        screen shows just that, it reads idle; a hook's error report is dropped."""
        self._hooks.pop(session, None)
        pane, view = self._panes.get(session), self.snapshot.sessions.get(session)
        if pane is not None and view is not None:
            self._acknowledged[session] = panestate.transcript(pane.text, view.agent)

    def seconds_to_stable(self, session: str) -> float:
        """How long until a new capture of ``session`` can prove its screen still."""
        pane = self._panes.get(session)
        if pane is None:
            return 0.0
        return max(0.0, MIN_STABLE_GAP - (time.monotonic() - pane.captured_at))

    def _publish(self, view: PaneView) -> PaneView:
        before = self.snapshot.sessions.get(view.session)
        if before is not None and before.state != view.state:
            view = replace(view, since=time.time())
        elif before is not None:
            view = replace(view, since=before.since)
        self.snapshot = FleetSnapshot(self.snapshot.at, {**self.snapshot.sessions,
                                                         view.session: view})
        return view
