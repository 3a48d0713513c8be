"""The fleet of tmux sessions: one bot per session, each session's state, and delivery.

Every ``tmux.poll_interval`` seconds the manager has the fleet observer
(:mod:`breakroom.fleet.observer`) poll every watched session's active pane — one batched
capture — and publishes its snapshot to everyone who reads the fleet; then:

- **bots**: a new session gets a bot (``bots.relay``) under its IRC-legal nick; a killed
  session's bot QUITs with a reason; a renamed session (same pane, new name) QUITs with
  "renamed to …", comes back under the new nick, and keeps its queued messages;
- **state**: the observer's (classified once, stabilised once; a fresh hook report from
  :meth:`set_hook_state` wins over scraping);
- **delivery**: queued inbox messages are typed into panes whose agent waits for input
  (``idle``, or ``waiting:question`` — the sweep's answers), one per idle period, oldest
  first (:mod:`breakroom.fleet.pane` does the typing, and refuses while someone is typing).
  A new message to a waiting session is typed at once, not at the next poll.

Everything here runs on the app's loop; tmux work goes through ``app.run_blocking``.  The
manager reaches the IRC side only through :class:`breakroom.fleet.host.FleetHost` (session
bots by key, NOTICEs about outcomes): nothing here imports irc3.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass

from breakroom.fleet import inbox, panestate
from breakroom.fleet.host import FleetHost
from breakroom.fleet.nicks import assign_nicks, irc_lower
from breakroom.fleet.observer import HOOK, MIN_STABLE_GAP, FleetObserver, FleetSnapshot, PaneView
from breakroom.fleet.tmux import Tmux
from breakroom.irc.ratelimit import HopTracker, RateLimiter
from breakroom.sanitize import one_line, sanitize
from breakroom.fleet.delivery import SessionOps
from breakroom.fleet.pane import press_keys, type_into_pane

log = logging.getLogger(__name__)

# Hook events whose output reaches the agent's context (FIELD-NOTES, Claude Code 2.1.197).
HOOK_DELIVERY_EVENTS = frozenset({"PostToolUse", "UserPromptSubmit", "Stop"})
HOOK_MAX_MESSAGES = 5  # per hook call; the rest wait for the next hook or typing
STOP_BLOCK_CAP = 3     # Stop hooks in a row that may keep an agent going

# States in which the agent waits for typed input: idle at its prompt, or asking a question
# (the sweep delivers answers to those).  Permission dialogs take keys (press), not text.
READY_STATES = ("idle", "waiting:question")


@dataclass
class SessionStatus:
    session: str
    nick: str
    agent: str
    state: str
    since: float        # epoch seconds when ``state`` began
    project: str | None
    role: str | None
    hook_fresh: bool    # the state comes from a fresh hook report, not the screen
    reason: str = ""
    question: str | None = None
    hook_at: float | None = None  # epoch of the last hook report (``breakroom doctor``)


@dataclass
class Delivery:
    """The outcome of handing a message to a session: ``queued``, ``delivered`` or ``failed``."""

    id: int
    status: str
    reason: str = ""


@dataclass
class _Tracked:
    """What the manager remembers about one session's bot between polls."""

    nick: str                    # the nick its bot was spawned with
    pane_id: str = ""
    held: str = ""               # why the last typing attempt was put off (someone typing, …)
    stop_blocks: int = 0         # Stop hooks in a row that kept the agent going with messages


class SessionManager:
    """Discovers tmux sessions, gives each a bot, tracks its state and delivers into it."""

    def __init__(self, app: FleetHost) -> None:
        self.app = app
        self.config = app.config
        self.observer = FleetObserver(self.config, Tmux(self.config.tmux.socket_name))
        self._tracked: dict[str, _Tracked] = {}
        self._polling = asyncio.Lock()
        self._locks: dict[str, asyncio.Lock] = {}
        self._task: asyncio.Task | None = None
        self._drains: set[asyncio.Task] = set()
        self.limiter = RateLimiter(self.config.delivery.rate_limit_per_minute)
        self.hops = HopTracker()
        self.ops = SessionOps(self)  # the control ops: say, ask, fleet, hook

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Take a first look at once (so bots appear quickly), then poll in the background."""
        inbox.fail_interrupted(self.app.db, "the breakroom stopped while typing it; not typed "
                               "again (it may be in the pane already): breakroom read shows it")
        try:
            await self.look()
        except Exception:  # a bad first look must not keep the breakroom from starting
            log.exception("session poll failed")
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop watching; the app stops the bots."""
        tasks = [t for t in (self._task, *self._drains) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
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
        return [self._status(name, t, views[name]) for name, t in sorted(self._tracked.items())
                if name in views]

    def _status(self, name: str, tracked: _Tracked, view: PaneView) -> SessionStatus:
        cfg = self.config.session(name)
        return SessionStatus(session=name, nick=self._nick(tracked), agent=view.agent,
                             state=view.state, since=view.since, project=cfg.project,
                             role=cfg.role, hook_fresh=view.source == HOOK,
                             reason=view.reason, question=view.question,
                             hook_at=self.observer.hook_seen.get(name))

    def state_of(self, session: str) -> str:
        view = self.observer.snapshot.sessions.get(session)
        return view.state if view is not None else "gone"

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

    async def deliver(self, session: str, sender: str, text: str, *, hops: int | None = None,
                      notify: bool = False) -> Delivery:
        """Queue ``text`` for ``session`` and type it in now if the agent waits for input.

        ``hops``: how many automated replies deep the message is (see
        :mod:`breakroom.irc.ratelimit`); over ``delivery.hop_limit`` it is stored but not typed.
        None (a service bot delivering directly): counted here, so a session and a service
        bot answering each other cannot loop either.
        ``notify``: ``sender`` is an IRC nick that gets a NOTICE for every outcome
        (queued, delivered, failed), now and later."""
        if session not in self._tracked:
            return Delivery(0, inbox.FAILED, f"no session {session!r} in the breakroom")
        clean = sanitize(text)
        if not clean:
            return Delivery(0, inbox.FAILED, "nothing left after removing control characters")
        if hops is None:
            hops = self.hops.hop(irc_lower(sender), irc_lower(self.nick_for(session) or session),
                                 automated=self.app.is_own_nick(sender))
        limit = self.config.delivery.hop_limit
        if hops > limit:
            reason = (f"hop limit: {hops} automated replies deep (limit {limit}); "
                      f"not typed in, readable with `breakroom read`")
            message_id = inbox.add(self.app.db, session, sender, clean, hops=hops,
                                   state=inbox.FAILED, reason=reason, notify=notify)
            self._tell(inbox.get(self.app.db, message_id), f"#{message_id} for {session}: {reason}")
            return Delivery(message_id, inbox.FAILED, reason)
        full = self._inbox_full(session, sender)
        if full:
            key = self.bot_key(session)
            if notify and key is not None:
                self.app.refuse(key, sender, f"not queued for {session}: {full}")
            return Delivery(0, inbox.FAILED, full)
        message_id = inbox.add(self.app.db, session, sender, clean, hops=hops, notify=notify)
        await self._drain(session)
        message = inbox.get(self.app.db, message_id)
        if message.state != inbox.QUEUED:
            return Delivery(message_id, message.state, message.reason or "")
        reason = self._why_waiting(session)
        self._tell(message, f"#{message_id} {reason}")
        return Delivery(message_id, inbox.QUEUED, reason)

    def _inbox_full(self, session: str, sender: str) -> str:
        """Why a new message from ``sender`` may not be queued for ``session`` ("" if it may):
        one sender cannot fill an inbox, nor can all of them together."""
        delivery = self.config.delivery
        if inbox.count_queued(self.app.db, session, sender) >= delivery.max_queued_per_sender:
            return (f"{sender} already has {delivery.max_queued_per_sender} messages waiting "
                    f"(delivery.max_queued_per_sender); try again when they are read")
        if inbox.count_queued(self.app.db, session) >= delivery.max_queued_per_session:
            return (f"its inbox is full ({delivery.max_queued_per_session} waiting, "
                    "delivery.max_queued_per_session)")
        return ""

    async def receive(self, session: str, sender: str, text: str, *,
                      automated: bool) -> Delivery | None:
        """A message addressed to the session's bot — from IRC, or from another session here.

        A reply carrying the id of one of this session's pending ``ask`` goes to that CLI
        (returns None).  Otherwise: the per-sender rate limit (refused: a NOTICE and a
        ``failed`` Delivery with id 0, nothing stored), the hop count (``automated``: the
        sender is one of this breakroom's bots), and :meth:`deliver` with NOTICEs."""
        key = self.bot_key(session)
        nick = self.nick_for(session) or session
        if self.ops.take_reply(nick, sender, text):
            return None
        if not self.limiter.allow(sender):
            reason = (f"rate limit: too many messages to {nick}; try again in "
                      f"{self.limiter.retry_after(sender):.0f}s")
            if key is not None:
                self.app.refuse(key, sender, reason)
            return Delivery(0, inbox.FAILED, reason)
        hops = self.hops.hop(irc_lower(sender), irc_lower(nick), automated=automated)
        return await self.deliver(session, sender, text, hops=hops, notify=True)

    async def press(self, session: str, keys: list[str]) -> None:
        """Send named keys (e.g. ``["1"]``) to an approved prompt; the pane must settle again."""
        async with self._lock(session):
            await self.app.run_blocking(press_keys, self.config.tmux.socket_name, session, keys)
            self.observer.touched(session)

    def set_hook_state(self, session: str, state: str) -> None:
        """A hook's report: it wins over scraping while fresh, and takes effect at once."""
        if session not in self._tracked:
            self.observer.report_hook(session, state)  # validates; kept for a later capture
            return
        view = self.observer.report_hook(session, state)
        if view is not None and view.state in READY_STATES:
            self._kick(session)

    async def take_for_hook(self, session: str, event: str) -> str:
        """Queued messages for an agent hook to put into the agent's context, marked
        delivered (exactly once: typing holds the same lock); "" when there are none.

        PostToolUse and UserPromptSubmit reach the model within the turn; Stop keeps the
        agent going to handle them, at most :data:`STOP_BLOCK_CAP` times in a row so a
        stream of messages can never keep it from stopping."""
        tracked = self._tracked.get(session)
        if tracked is None or event not in HOOK_DELIVERY_EVENTS or self._lock(session).locked():
            return ""
        async with self._lock(session):
            queue = inbox.queued(self.app.db, session)[:HOOK_MAX_MESSAGES]
            if event != "Stop" or not queue:
                tracked.stop_blocks = 0
            if not queue or (event == "Stop" and tracked.stop_blocks >= STOP_BLOCK_CAP):
                return ""
            if event == "Stop":
                tracked.stop_blocks += 1
            how = "mid-turn" if event != "Stop" else "before it stopped"
            for message in queue:
                inbox.mark_delivered(self.app.db, message.id, via=f"{event} hook")
                self._tell(message, f"delivered #{message.id} to {session} {how} (its {event} hook)")
            return "\n".join(self.render(message) for message in queue)

    # ------------------------------------------------------------------ discovery

    async def poll(self) -> FleetSnapshot:
        """One shared poll of the whole fleet: capture, fold, bots follow the sessions."""
        async with self._polling:
            captures = await self.app.run_blocking(self.observer.capture)
            if captures is not None:
                await self._sync_bots(self.observer.fold(captures))
        for name in inbox.sessions_with_queued(self.app.db):
            if name in self._tracked and self.state_of(name) in READY_STATES:
                self._kick(name)
        return self.observer.snapshot

    async def look(self) -> FleetSnapshot:
        """A poll now, confirming idle-looking screens a moment later (the sweep's walk and
        the first look at start-up: an idle screen is trusted only when it holds still)."""
        snapshot = await self.poll()
        if snapshot.settling:
            await asyncio.sleep(MIN_STABLE_GAP)
            snapshot = await self._refresh(snapshot.settling)
        return snapshot

    async def _refresh(self, sessions: list[str]) -> FleetSnapshot:
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
        nicks = assign_nicks(list(views), current={n: t.nick for n, t in self._tracked.items()})
        for name in new:
            self._tracked[name] = _Tracked(nick=nicks[name], pane_id=views[name].pane_id)
            self.app.join_session(nicks[name], name)

    # ------------------------------------------------------------------ state

    async def _ready_now(self, session: str) -> bool:
        """A fresh look at one session: is its agent waiting for typed input right now?"""
        if session not in self._tracked:
            return False
        wait = self.observer.seconds_to_stable(session)
        if wait > 0:
            await asyncio.sleep(wait)
        view = (await self._refresh([session])).sessions.get(session)
        return view is not None and view.state in READY_STATES

    def _why_waiting(self, session: str) -> str:
        tracked = self._tracked.get(session)
        state = self.state_of(session) if tracked else "gone"
        if tracked is not None and state in READY_STATES and tracked.held:
            return f"queued: {tracked.held} in {session}'s pane; typed in when it is clear"
        return f"queued behind a busy agent ({session} is {state}); typed in when it is idle"

    # ------------------------------------------------------------------ delivery

    def _lock(self, session: str) -> asyncio.Lock:
        return self._locks.setdefault(session, asyncio.Lock())

    def _kick(self, session: str) -> None:
        """Start draining a session's queue in the background unless that is under way."""
        if self._lock(session).locked():
            return
        task = asyncio.get_running_loop().create_task(self._drain(session))
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)

    def render(self, message: inbox.Message) -> str:
        """The line typed into the pane: says who it is from and how to answer, or, for long
        text, where to read it."""
        delivery = self.config.delivery
        if len(message.text) > delivery.max_chars:
            return delivery.pointer_template.format(id=message.id, sender=message.sender)
        return delivery.template.format(id=message.id, sender=message.sender, text=message.text)

    async def _drain(self, session: str) -> None:
        """Type the oldest queued message if the agent waits for input; one per idle period."""
        async with self._lock(session):
            queue = inbox.queued(self.app.db, session)
            if not queue or not await self._ready_now(session):
                return
            message = queue[0]
            delivery = self.config.delivery
            view = self.observer.snapshot.sessions.get(session)
            patterns = panestate.typing_patterns(view.agent if view is not None else "unknown")
            inbox.begin_attempt(self.app.db, message.id)
            result = await self.app.run_blocking(
                lambda: type_into_pane(self.config.tmux.socket_name, session, self.render(message),
                                       enter_delay=delivery.enter_delay,
                                       enter_retries=delivery.enter_retries, patterns=patterns))
            if result.status == "busy":  # nothing was typed
                inbox.cancel_attempt(self.app.db, message.id)
            # the agent reacts: idle must be proven afresh, and an earlier "idle" hook is stale
            tracked = self._tracked.get(session)
            delivered = result.status == "delivered"
            self.observer.touched(session, state="working" if delivered else None,
                                  reason="a message was just typed in")
            if tracked is not None:
                tracked.held = result.reason if result.status == "busy" else ""
            if delivered:
                inbox.mark_delivered(self.app.db, message.id)
                self._tell(message, f"delivered #{message.id} to {session}")
            elif result.status == "failed":
                inbox.mark_failed(self.app.db, message.id, result.reason)
                self._tell(message, f"failed to deliver #{message.id} to {session}: {result.reason}")
            else:
                log.info("not typing into %s: %s", session, result.reason)

    def _tell(self, message: inbox.Message, text: str) -> None:
        """NOTICE the sender about its message, from the session's bot."""
        if not message.notify:
            return
        key = self.bot_key(message.session)
        if key is not None:
            self.app.say(key, message.sender, one_line(text), notice=True)

    def status_dicts(self) -> list[dict]:
        return [asdict(s) for s in self.status()]
