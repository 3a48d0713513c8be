"""The fleet of tmux sessions: one bot per session, each session's state, and delivery.

Every ``tmux.poll_interval`` seconds the manager captures every session's active pane in
one tmux call (:func:`breakroom.fleet.capture.capture_all`), keeps the sessions matching
``tmux.include`` / ``tmux.exclude``, and:

- **bots**: a new session gets a bot (``bots.relay``) under its IRC-legal nick; a killed
  session's bot QUITs with a reason; a renamed session (same pane, new name) QUITs with
  "renamed to …", comes back under the new nick, and keeps its queued messages;
- **state**: the pane is classified with the agent's profile (:mod:`breakroom.fleet.panestate`),
  idle only when two captures at least :data:`MIN_STABLE_GAP` apart are identical; a
  *fresh* hook report (:meth:`set_hook_state`) wins over scraping — fresh means made after
  the pane last changed, or within :data:`HOOK_GRACE` seconds;
- **delivery**: queued inbox messages are typed into panes whose agent waits for input
  (``idle``, or ``waiting:question`` — the sweep's answers), one per idle period, oldest
  first (:mod:`breakroom.fleet.pane` does the typing, and refuses while someone is typing).
  A new message to a waiting session is typed at once, not at the next poll.

Everything here runs on the app's loop; tmux work goes through ``app.run_blocking``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from breakroom.fleet import admission, inbox, recovery
from breakroom.fleet import panestate
from breakroom.fleet.capture import PaneCapture, capture_all, list_sessions
from breakroom.fleet.nicks import assign_nicks, irc_lower
from breakroom.irc.ratelimit import HopTracker, RateLimiter
from breakroom.sanitize import one_line, sanitize
from breakroom.fleet.delivery import SessionOps
from breakroom.fleet.pane import press_keys, type_into_pane
from breakroom.fleet.recovery import clear_leftover

log = logging.getLogger(__name__)

HOOK_GRACE = 3.0        # a hook report this recent wins even if the pane has changed since
MIN_STABLE_GAP = 0.25   # two captures closer than this don't prove a pane is still
CAPTURE_LINES = 60
SESSION_PLUGINS = ["bots.relay"]
HOOK_STATES = set(panestate.STATES)
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
    hook_fresh: bool


@dataclass
class Delivery:
    """The outcome of handing a message to a session: ``queued``, ``delivered`` or ``failed``."""

    id: int
    status: str
    reason: str = ""


@dataclass
class _Tracked:
    """What the manager remembers about one session between polls."""

    status: SessionStatus
    pane_id: str = ""
    text: str = ""
    changed_at: float = 0.0      # when the pane text last changed (epoch)
    captured_at: float = 0.0     # monotonic time of the last capture
    hook: tuple[str, float] | None = None  # (state, epoch) of the last hook report
    held: str = ""               # why the last typing attempt was put off (someone typing, …)
    refused: str = ""            # why nothing may be typed here at all (a shell, …), or ""


class SessionManager:
    """Discovers tmux sessions, gives each a bot, tracks its state and delivers into it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.config = app.config
        self._tracked: dict[str, _Tracked] = {}
        self._stability = panestate.IdleStability()
        self._locks: dict[str, asyncio.Lock] = {}
        self._task: asyncio.Task | None = None
        self._drains: set[asyncio.Task] = set()
        self.limiter = RateLimiter(self.config.delivery.rate_limit_per_minute)
        self.hops = HopTracker()
        inbox.ensure_schema(app.db)
        self.ops = SessionOps(self)  # the control ops: say, ask, fleet, hook

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Clear what a crash left half-typed, take a first look at once (so bots appear
        quickly), then poll in the background."""
        await self._recover_interrupted()
        await self._poll_safely()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _recover_interrupted(self) -> None:
        """Messages whose typing a crash interrupted: see :mod:`breakroom.fleet.recovery`."""
        for message in inbox.interrupted(self.app.db):
            outcome = await self.app.run_blocking(clear_leftover, self.config.tmux.socket_name,
                                                  message.session, self.render(message))
            if outcome == recovery.GONE:
                inbox.mark_failed(self.app.db, message.id, f"tmux session {message.session} is gone")
            elif outcome == recovery.CLEAN and message.entered is not None:
                inbox.mark_delivered(self.app.db, message.id)  # Enter was pressed and taken
            else:
                if outcome == recovery.FOREIGN:
                    log.warning("%s's input line holds a draft that is not ours; #%d waits for it",
                                message.session, message.id)
                inbox.requeue(self.app.db, message.id)

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
        return [replace(t.status, nick=self._nick(t)) for _, t in sorted(self._tracked.items())]

    def nick_for(self, session: str) -> str | None:
        tracked = self._tracked.get(session)
        return self._nick(tracked) if tracked else None

    def session_for(self, nick: str) -> str | None:
        """The session whose bot has ``nick`` now (not a human who took the nick first)."""
        key = irc_lower(nick)
        return next((name for name, t in self._tracked.items()
                     if irc_lower(self._nick(t)) == key), None)

    def bot_for(self, session: str) -> Any | None:
        """The session's running bot (``app.bots`` is keyed by the nick it was spawned with)."""
        tracked = self._tracked.get(session)
        return self.app.bots.get(tracked.status.nick) if tracked else None

    def _nick(self, tracked: _Tracked) -> str:
        """The nick the bot really has: the server may have made it take another (433)."""
        bot = self.app.bots.get(tracked.status.nick)
        return bot.nick if bot is not None else tracked.status.nick

    async def deliver(self, session: str, sender: str, text: str, *, hops: int = 0,
                      notify: bool = False) -> Delivery:
        """Queue ``text`` for ``session`` and type it in now if the agent waits for input.

        ``hops``: how many automated replies deep the message is (see
        :mod:`breakroom.irc.ratelimit`); over ``delivery.hop_limit`` it is stored but not typed.
        ``notify``: ``sender`` is an IRC nick that gets a NOTICE for every outcome
        (queued, delivered, failed), now and later."""
        if session not in self._tracked:
            return Delivery(0, inbox.FAILED, f"no session {session!r} in the breakroom")
        clean = sanitize(text)
        if not clean:
            return Delivery(0, inbox.FAILED, "nothing left after removing control characters")
        limit = self.config.delivery.hop_limit
        if hops > limit:
            reason = (f"hop limit: {hops} automated replies deep (limit {limit}); "
                      f"not typed in, readable with `breakroom read`")
            message_id = inbox.add(self.app.db, session, sender, clean, hops=hops,
                                   state=inbox.FAILED, reason=reason, notify=notify)
            self._tell(inbox.get(self.app.db, message_id), f"#{message_id} for {session}: {reason}")
            return Delivery(message_id, inbox.FAILED, reason)
        message_id = inbox.add(self.app.db, session, sender, clean, hops=hops, notify=notify)
        await self._drain(session)
        message = inbox.get(self.app.db, message_id)
        if message.state != inbox.QUEUED:
            return Delivery(message_id, message.state, message.reason or "")
        reason = self._why_waiting(session)
        self._tell(message, f"#{message_id} {reason}")
        return Delivery(message_id, inbox.QUEUED, reason)

    async def receive(self, session: str, sender: str, text: str, *,
                      automated: bool) -> Delivery | None:
        """A message addressed to the session's bot — from IRC, or from another session here.

        A reply carrying the id of one of this session's pending ``ask`` goes to that CLI
        (returns None).  Otherwise: the per-sender rate limit (refused: a NOTICE and a
        ``failed`` Delivery with id 0, nothing stored), the hop count (``automated``: the
        sender is one of this breakroom's bots), and :meth:`deliver` with NOTICEs."""
        bot = self.bot_for(session)
        nick = bot.nick if bot is not None else session
        if self.ops.take_reply(nick, sender, text):
            return None
        if not self.limiter.allow(sender):
            reason = (f"rate limit: too many messages to {nick}; try again in "
                      f"{self.limiter.retry_after(sender):.0f}s")
            if bot is not None:
                self.app.notice(bot, sender, reason)
            return Delivery(0, inbox.FAILED, reason)
        hops = self.hops.hop(irc_lower(sender), irc_lower(nick), automated=automated)
        return await self.deliver(session, sender, text, hops=hops, notify=True)

    async def press(self, session: str, keys: list[str]) -> None:
        """Send named keys (e.g. ``["1"]``) to an approved prompt; the pane must settle again."""
        async with self._lock(session):
            await self.app.run_blocking(press_keys, self.config.tmux.socket_name, session, keys)
            self._stability.forget(session)
            if session in self._tracked:
                self._tracked[session].hook = None

    def set_hook_state(self, session: str, state: str) -> None:
        """A hook's report: it wins over scraping while fresh, and takes effect at once."""
        if state not in HOOK_STATES and not state.startswith(panestate.ERROR_PREFIX):
            raise ValueError(f"unknown state {state!r}")
        tracked = self._tracked.get(session)
        if tracked is None:
            return
        tracked.hook = (state, time.time())
        self._set_state(tracked, state, hook_fresh=True)
        if state in READY_STATES:
            self._kick(session)

    # ------------------------------------------------------------------ discovery

    async def _capture(self, sessions: list[str] | None = None) -> dict[str, PaneCapture]:
        captures = await self.app.run_blocking(capture_all, self.config.tmux.socket_name,
                                               CAPTURE_LINES, sessions)
        return {name: cap for name, cap in captures.items() if self.config.tmux.watches(name)}

    async def poll(self) -> None:
        """One discovery and state pass over the whole tmux server."""
        captures = await self._capture()
        if not captures and self._tracked:
            names = await self.app.run_blocking(list_sessions, self.config.tmux.socket_name)
            if any(self.config.tmux.watches(name) for name in names):
                return  # the capture failed, the sessions did not vanish: keep the bots
        await self._sync_bots(captures)
        for name, capture in captures.items():
            self._observe(self._tracked[name], capture)
        for name in inbox.sessions_with_queued(self.app.db):
            if name in self._tracked and self._tracked[name].status.state in READY_STATES:
                self._kick(name)

    async def _sync_bots(self, captures: dict[str, PaneCapture]) -> None:
        gone = [name for name in self._tracked if name not in captures]
        new = [name for name in captures if name not in self._tracked]
        pane_of = {captures[name].pane_id: name for name in new}
        for name in gone:
            tracked = self._tracked.pop(name)
            self._stability.forget(name)
            renamed_to = pane_of.get(tracked.pane_id)
            if renamed_to:
                inbox.rename_session(self.app.db, name, renamed_to)
                reason = f"tmux session {name} was renamed to {renamed_to}"
            else:
                reason = f"tmux session {name} was closed"
            await self.app.stop_bot(tracked.status.nick, reason)
        if not new:
            return
        nicks = assign_nicks(list(captures),
                             current={n: t.status.nick for n, t in self._tracked.items()})
        now = time.time()
        for name in new:
            cfg = self.config.session(name)
            status = SessionStatus(session=name, nick=nicks[name], agent=cfg.agent or "unknown",
                                   state="unknown", since=now, project=cfg.project,
                                   role=cfg.role, hook_fresh=False)
            self._tracked[name] = _Tracked(status=status, pane_id=captures[name].pane_id)
            self.app.spawn_bot(status.nick, SESSION_PLUGINS, session=name)

    # ------------------------------------------------------------------ state

    def _observe(self, tracked: _Tracked, capture: PaneCapture) -> str:
        """Fold one capture into the session's state; returns the effective state."""
        name = tracked.status.session
        now = time.time()
        if capture.text != tracked.text:
            tracked.text, tracked.changed_at = capture.text, now
        tracked.captured_at = time.monotonic()
        tracked.pane_id = capture.pane_id
        agent = self.config.session(name).agent
        if agent is None:
            agent = panestate.guess_agent(capture.text, capture.current_command)
        tracked.status.agent = agent
        tracked.refused = admission.refusal(agent, capture.current_command,
                                            self.config.session(name).deliver) or ""
        detection = panestate.detect(capture.text, agent, capture.current_command)
        detection = self._stability.observe(name, capture.text, detection)
        hook = tracked.hook
        if hook is not None and (hook[1] >= tracked.changed_at or now - hook[1] <= HOOK_GRACE):
            self._set_state(tracked, hook[0], hook_fresh=True)
        else:
            self._set_state(tracked, detection.state, hook_fresh=False)
        return tracked.status.state

    @staticmethod
    def _set_state(tracked: _Tracked, state: str, *, hook_fresh: bool) -> None:
        if state != tracked.status.state:
            tracked.status.state, tracked.status.since = state, time.time()
        tracked.status.hook_fresh = hook_fresh

    async def _ready_now(self, session: str) -> bool:
        """A fresh look at one session: is its agent waiting for typed input right now?"""
        tracked = self._tracked.get(session)
        if tracked is None:
            return False
        wait = MIN_STABLE_GAP - (time.monotonic() - tracked.captured_at)
        if wait > 0:
            await asyncio.sleep(wait)
        capture = (await self._capture([session])).get(session)
        if capture is None:
            return False
        return self._observe(tracked, capture) in READY_STATES

    def _why_waiting(self, session: str) -> str:
        tracked = self._tracked.get(session)
        if tracked is not None and tracked.refused:
            return (f"queued in {session}'s inbox, not typed: {tracked.refused} "
                    f"(`breakroom inbox` reads it; sessions.{session}.deliver: any allows typing)")
        if tracked is not None and tracked.status.state in READY_STATES and tracked.held:
            return f"queued: {tracked.held} in {session}'s pane; typed in when it is clear"
        state = tracked.status.state if tracked else "gone"
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
            tracked = self._tracked.get(session)
            if tracked is not None and tracked.refused:
                return  # a shell or an unknown program: the message stays in the inbox
            message = queue[0]
            delivery = self.config.delivery
            inbox.begin_attempt(self.app.db, message.id)
            loop = asyncio.get_running_loop()

            def entered() -> None:  # in the typing thread: recorded before Enter, on the loop
                asyncio.run_coroutine_threadsafe(self._mark_entered(message.id), loop).result(10)

            result = await self.app.run_blocking(
                lambda: type_into_pane(self.config.tmux.socket_name, session, self.render(message),
                                       enter_delay=delivery.enter_delay,
                                       enter_retries=delivery.enter_retries, before_enter=entered))
            if result.status == "busy":  # nothing was typed
                inbox.cancel_attempt(self.app.db, message.id)
            # the agent reacts: idle must be proven afresh, and an earlier "idle" hook is stale
            tracked = self._tracked.get(session)
            if tracked is not None:
                self._stability.forget(session)
                tracked.hook = None
                tracked.held = result.reason if result.status == "busy" else ""
            if result.status == "delivered":
                inbox.mark_delivered(self.app.db, message.id)
                if tracked is not None:
                    self._set_state(tracked, "working", hook_fresh=False)
                self._tell(message, f"delivered #{message.id} to {session}")
            elif result.status == "failed":
                inbox.mark_failed(self.app.db, message.id, result.reason)
                self._tell(message, f"failed to deliver #{message.id} to {session}: {result.reason}")
            else:
                log.info("not typing into %s: %s", session, result.reason)

    async def _mark_entered(self, message_id: int) -> None:
        inbox.mark_entered(self.app.db, message_id)

    def _tell(self, message: inbox.Message, text: str) -> None:
        """NOTICE the sender about its message, from the session's bot."""
        if not message.notify:
            return
        bot = self.bot_for(message.session)
        if bot is not None:
            self.app.notice(bot, message.sender, one_line(text))

    def status_dicts(self) -> list[dict]:
        return [asdict(s) for s in self.status()]
