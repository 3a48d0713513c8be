"""The fleet of tmux sessions: one bot per session, each session's state, and delivery.

Every ``tmux.poll_interval`` seconds the manager has the fleet observer
(:mod:`breakroom.fleet.observer`) poll every watched session's active pane — one batched
capture — and publishes its snapshot to everyone who reads the fleet; then:

- **bots**: a new session gets a bot (``bots.relay``) under its IRC-legal nick; a killed
  session's bot QUITs with a reason; a renamed session (same pane, new name) QUITs with
  "renamed to …", comes back under the new nick, and keeps its queued messages;
- **state**: the observer's (classified once, stabilised once; a fresh hook report from
  :meth:`set_hook_state` wins over scraping);
- **ready**: after each poll, and when a hook says a session waits for input, the
  listeners hear of it (:attr:`SessionManager.after_poll`, :attr:`SessionManager.on_ready`):
  that is how :mod:`breakroom.fleet.delivery` knows when to type;
- **drift**: a screen no pattern reads for too long, or an agent release newer than any
  tested, is told to ``ops`` once (:mod:`breakroom.fleet.drift`).

Everything here runs on the app's loop; tmux work goes through ``app.run_blocking``.  The
manager reaches the IRC side only through :class:`breakroom.fleet.host.FleetHost` (session
bots by key, NOTICEs about outcomes): nothing here imports irc3.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from breakroom.fleet import inbox
from breakroom.fleet.drift import DriftWatch
from breakroom.fleet.host import FleetHost
from breakroom.fleet.observer import HOOK, MIN_STABLE_GAP, FleetObserver, FleetSnapshot, PaneView
from breakroom.fleet.remote import REPORT_TO, RemoteFleet, RemoteSession, Reporter
from breakroom.fleet.states import READY_STATES, PaneState
from breakroom.fleet.tmux import Tmux
from breakroom.irc.nicks import assign_nicks, irc_lower

log = logging.getLogger(__name__)

@dataclass
class SessionStatus:
    session: str
    nick: str
    agent: str
    state: PaneState
    since: float        # epoch seconds when ``state`` began
    project: str | None
    role: str | None
    hook_fresh: bool    # the state comes from a fresh hook report, not the screen
    reason: str = ""
    question: str | None = None
    hook_at: float | None = None  # epoch of the last hook report (``breakroom doctor``)
    host: str = ""      # the machine the session runs on (``host_name``; "" on one machine)
    version: str | None = None  # the agent's release, when known
    drift: str = ""     # what drifted from what Breakroom was tested with (``breakroom doctor``)


@dataclass
class _Tracked:
    """What the manager remembers about one session's bot between polls."""

    nick: str                    # the nick its bot was spawned with
    pane_id: str = ""


class SessionManager:
    """Discovers tmux sessions, gives each a bot and tracks its state."""

    def __init__(self, app: FleetHost, tmux: Tmux) -> None:
        self.app = app
        self.config = app.config
        self.observer = FleetObserver(self.config, tmux)
        self.drift = DriftWatch(self.config.agents.unknown_after)
        self._tracked: dict[str, _Tracked] = {}
        self._polling = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._watching = False  # a hub's manager never watches: its sessions run on hosts
        self.remote = RemoteFleet()  # sessions on other hosts, as they report them (a hub's)
        self._reporter: Reporter | None = None  # a host's: reports its sessions to the hub
        self.after_poll: list[Callable[[], None]] = []   # run after every poll
        self.on_ready: list[Callable[[str], None]] = []  # a hook says the session waits for input

    # ------------------------------------------------------------------ lifecycle

    async def start(self, *, report: bool = False) -> None:
        """Take a first look at once (so bots appear quickly), then poll in the background.
        ``report``: this is a host; each session's bot reports it to the hub after a poll."""
        if report:
            self._reporter = Reporter(self.config.host_name or "")
        self._watching = True
        try:
            await self.look()
        except Exception:  # a bad first look must not keep the breakroom from starting
            log.exception("session poll failed")
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop watching; the app stops the bots."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.config.tmux.poll_interval)
            await self._poll_safely()

    async def _poll_safely(self) -> None:
        try:
            await self.poll()
        except Exception:  # a bad poll (tmux missing, a pane vanishing) must not end discovery
            log.exception("session poll failed")

    # ------------------------------------------------------------------ public API

    def status(self) -> list[SessionStatus]:
        """Every watched session's state, by session name (copies: safe to keep)."""
        views = self.observer.snapshot.sessions
        local = [self._status(name, t, views[name]) for name, t in sorted(self._tracked.items())
                 if name in views]
        return local + [self._remote_status(r) for _, r in sorted(self.remote.sessions().items())]

    @staticmethod
    def _remote_status(remote: RemoteSession) -> SessionStatus:
        """A session on another host: known by its bot's nick, which is unique on the network."""
        return SessionStatus(session=remote.nick, nick=remote.nick, agent=remote.agent,
                             state=remote.state, since=remote.since, project=remote.project,
                             role=remote.role, hook_fresh=remote.hook,
                             reason=f"reported by {remote.host}", question=remote.question,
                             host=remote.host)

    def _status(self, name: str, tracked: _Tracked, view: PaneView) -> SessionStatus:
        cfg = self.config.session(name)
        return SessionStatus(session=name, nick=self._nick(tracked), agent=view.agent,
                             state=view.state, since=view.since, project=cfg.project,
                             role=cfg.role, hook_fresh=view.source == HOOK,
                             reason=view.reason, question=view.question,
                             hook_at=self.observer.hook_seen.get(name),
                             host=self.config.host_name or "", version=view.version,
                             drift=drift.problem if (drift := self.drift.current.get(name)) else "")

    def state_of(self, session: str) -> PaneState:
        view = self.observer.snapshot.sessions.get(session)
        if view is None:
            remote = self.remote.find(session)
            return remote.state if remote is not None else PaneState.GONE
        return view.state

    def is_local(self, session: str) -> bool:
        """A session of this machine's tmux server that has a bot here."""
        return session in self._tracked

    def nick_for(self, session: str) -> str | None:
        tracked = self._tracked.get(session)
        return self._nick(tracked) if tracked else None

    def session_for(self, nick: str) -> str | None:
        """The session whose bot has ``nick`` now (not a human who took the nick first)."""
        key = irc_lower(nick)
        return next((name for name, t in self._tracked.items()
                     if irc_lower(self._nick(t)) == key), None)

    def bot_key(self, session: str) -> str | None:
        """The nick the session's bot was spawned with: how the host names that bot."""
        tracked = self._tracked.get(session)
        return tracked.nick if tracked else None

    def _nick(self, tracked: _Tracked) -> str:
        """The nick the bot really has: the server may have made it take another (433)."""
        return self.app.nick_now(tracked.nick) or tracked.nick

    def set_hook_state(self, session: str, state: str) -> None:
        """A hook's report: it wins over scraping while fresh, and takes effect at once."""
        if session not in self._tracked:
            self.observer.report_hook(session, state)  # validates; kept for a later capture
            return
        view = self.observer.report_hook(session, state)
        if view is not None and view.state in READY_STATES:
            for listener in self.on_ready:
                listener(session)

    # ------------------------------------------------------------------ discovery

    async def poll(self) -> FleetSnapshot:
        """One shared poll of the whole fleet: capture, fold, bots follow the sessions."""
        if not self._watching:
            return self._with_remote(self.observer.snapshot)
        async with self._polling:
            captures = await self.app.run_blocking(self.observer.capture)
            if captures is not None:
                snapshot = self.observer.fold(captures)
                await self._sync_bots(snapshot)
                for drift in self.drift.check(snapshot.sessions, snapshot.at):
                    self.app.tell_ops(drift.text)
        for listener in self.after_poll:
            listener()
        self._report()
        return self._with_remote(self.observer.snapshot)

    def _with_remote(self, snapshot: FleetSnapshot) -> FleetSnapshot:
        """The local picture plus the sessions the hosts report (a hub's whole fleet)."""
        remote = self.remote.sessions()
        if not remote:
            return snapshot
        return FleetSnapshot(snapshot.at, {**snapshot.sessions,
                                           **{nick: r.view() for nick, r in remote.items()}})

    def _report(self) -> None:
        """A host tells the hub about each session whose state changed (or is due again)."""
        if self._reporter is None:
            return
        for name, view in self.observer.snapshot.sessions.items():
            key = self.bot_key(name)
            if key is None or self.app.nick_now(key) is None:
                continue
            cfg = self.config.session(name)
            line = self._reporter.due(view, cfg.project, cfg.role)
            if line is not None:
                self.app.send_report(key, REPORT_TO, line)

    async def look(self) -> FleetSnapshot:
        """A poll now, confirming idle-looking screens a moment later (the sweep's walk and
        the first look at start-up: an idle screen is trusted only when it holds still)."""
        snapshot = await self.poll()
        if snapshot.settling:
            await asyncio.sleep(MIN_STABLE_GAP)
            snapshot = await self.refresh(snapshot.settling)
        return snapshot

    async def refresh(self, sessions: list[str]) -> FleetSnapshot:
        """A poll of a few sessions only (the others keep their views)."""
        async with self._polling:
            captures = await self.app.run_blocking(self.observer.capture, sessions)
            return self.observer.fold(captures or {}, partial=True)

    async def _sync_bots(self, snapshot: FleetSnapshot) -> None:
        views = snapshot.sessions
        gone = [name for name in self._tracked if name not in views]
        new = [name for name in views if name not in self._tracked]
        pane_of = {views[name].pane_id: name for name in new}
        for name in gone:
            tracked = self._tracked.pop(name)
            if self._reporter is not None:
                self._reporter.forget(name)
            renamed_to = pane_of.get(tracked.pane_id)
            if renamed_to:
                inbox.rename_session(self.app.db, name, renamed_to)
                reason = f"tmux session {name} was renamed to {renamed_to}"
            else:
                reason = f"tmux session {name} was closed"
            await self.app.leave_session(tracked.nick, reason)
        for name, view in views.items():
            if name in self._tracked:
                self._tracked[name].pane_id = view.pane_id
        if not new:
            return
        nicks = assign_nicks(list(views), current={n: t.nick for n, t in self._tracked.items()},
                             host=self.config.host_name)
        for name in new:
            self._tracked[name] = _Tracked(nick=nicks[name], pane_id=views[name].pane_id)
            self.app.join_session(nicks[name], name)

    def status_dicts(self) -> list[dict[str, Any]]:
        return [asdict(s) for s in self.status()]
