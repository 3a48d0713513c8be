"""Delivery: a message for a session reaches its agent once, whole, and its sender hears how.

Every way a message reaches a session comes through here — a line on IRC (``bots/relay``),
another session's ``breakroom say`` (the control socket), the sweep's answers and the
dispatcher's nudges: :meth:`Deliveries.receive` for what someone sent (rate limit, hop
count, a reply to a pending ``ask`` taken out first), :meth:`Deliveries.deliver` for the
rest.  Both take only :data:`~breakroom.sanitize.Clean` text — sanitised once, where it
entered the breakroom (the relay bot, the control socket, the service bot that composed
it) — and store it in the session's inbox
(:mod:`breakroom.fleet.inbox`, ``queued``); then:

- **typed**: when the agent waits for input (``idle`` or ``waiting:question``, proven by a
  fresh look), the oldest queued message is typed into its pane
  (:func:`breakroom.fleet.pane.type_into_pane`: literal text, a separate verified Enter,
  never over a human's draft), one per idle period;
- **handed to a hook**: an agent whose hooks report to the breakroom gets its queued
  messages in its context mid-turn (:meth:`Deliveries.take_for_hook`: PostToolUse,
  UserPromptSubmit, Gemini CLI's AfterTool and BeforeAgent; Stop and AfterAgent keep it
  going to read them).  They are delivered once the hook confirms it holds them (a
  receipt on the control socket, :class:`breakroom.control.server.Handover`); a hook that
  gave up waiting on a loaded machine, or died, gives them back to the queue;
- the inbox row becomes ``delivered`` or ``failed``, and a sender that asked for it gets a
  NOTICE for each outcome (:meth:`FleetHost.say`);
- then **read** (the receipt): a typed message when the agent took it as a turn (its
  UserPromptSubmit hook names it, or the next look shows the agent at work on it, or done);
  a handed-over one at once (it is in the agent's context); a pointer when the agent runs
  ``breakroom read``.  Reads by the CLI are noticed after each poll; the sender that asked
  for NOTICEs hears of every read.

A held session (paused, or waiting for a limit to reset: :mod:`breakroom.fleet.holds`) gets
nothing typed or handed over; its messages wait in the inbox and go when the hold ends.

Which sessions exist, their bots' nicks and their states come from the session manager
(:class:`Sessions`, implemented by :class:`breakroom.fleet.manager.SessionManager`), which
calls back when a poll is done or a hook says a session is ready.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from breakroom.errors import BreakroomError
from breakroom.fleet import admission, hooks, inbox, panestate, recovery
from breakroom.fleet.holds import Holds
from breakroom.fleet.host import FleetHost
from breakroom.fleet.observer import FleetObserver, FleetSnapshot
from breakroom.fleet.pane import press_keys, type_into_pane
from breakroom.fleet.ratelimit import HopTracker, RateLimiter
from breakroom.fleet.remote import DELIVER_PREFIX, RemoteFleet, RemoteSession
from breakroom.fleet.states import READY_STATES, PaneState
from breakroom.fleet.tmux import Tmux
from breakroom.irc.nicks import irc_lower
from breakroom.sanitize import Clean, one_line

log = logging.getLogger(__name__)

HOOK_MAX_MESSAGES = 5  # per hook call; the rest wait for the next hook or typing
STOP_BLOCK_CAP = 3     # Stop (AfterAgent) hooks in a row that may keep an agent going
TURN_MATCH = 60        # characters of a typed message that must be in a prompt to count as it

# A line addressed to a session's bot that answers something its CLI waits for (a reply
# to ``breakroom ask``): given (bot nick, sender, text), True when it was taken.
ReplyTaker = Callable[[str, str, str], bool]


@dataclass
class Delivery:
    """The outcome of handing a message to a session: ``queued``, ``delivered`` or ``failed``
    — or ``sent``: on its way to a session on another host, whose bot NOTICEs the outcome."""

    id: int
    status: str
    reason: str = ""


@dataclass(frozen=True)
class HookHandover:
    """Queued messages on their way into an agent's context through one of its hooks."""

    session: str
    event: str
    messages: tuple[inbox.Message, ...]
    context: str        # what the hook puts into the context: the messages as rendered


class Sessions(Protocol):
    """What delivery needs to know about the fleet (the session manager)."""

    observer: FleetObserver
    remote: RemoteFleet
    after_poll: list[Callable[[], None]]
    on_ready: list[Callable[[str], None]]

    def is_local(self, session: str) -> bool: ...
    def bot_key(self, session: str) -> str | None: ...
    def nick_for(self, session: str) -> str | None: ...
    def state_of(self, session: str) -> PaneState: ...
    async def refresh(self, sessions: list[str]) -> FleetSnapshot: ...


class Deliveries:
    """Queues, types and hands over messages for the sessions of one breakroom."""

    def __init__(self, app: FleetHost, sessions: Sessions, tmux: Tmux, holds: Holds) -> None:
        self.app = app
        self.config = app.config
        self.sessions = sessions
        self.tmux = tmux
        self.holds = holds
        self.limiter = RateLimiter(self.config.delivery.rate_limit_per_minute)
        self.hops = HopTracker()
        self.reply_takers: list[ReplyTaker] = []
        self._locks: dict[str, asyncio.Lock] = {}
        self._drains: set[asyncio.Task[None]] = set()
        self._held: dict[str, str] = {}        # session -> why the last typing was put off
        self._stop_blocks: dict[str, int] = {}  # session -> Stop hooks in a row that kept it going
        self._typed: dict[str, list[tuple[int, float]]] = {}  # session -> typed, not yet read: (id, when)
        sessions.after_poll.append(self._kick_ready)
        sessions.after_poll.append(self._turns_taken)
        sessions.after_poll.append(self._tell_reads)
        sessions.on_ready.append(self._kick)
        holds.on_release.append(self._released)

    # ------------------------------------------------------------------ lifecycle

    async def recover(self) -> None:
        """Messages whose typing a crash interrupted: see :mod:`breakroom.fleet.recovery`."""
        for message in inbox.interrupted(self.app.db):
            outcome = await self.app.run_blocking(recovery.clear_leftover, self.tmux,
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
        tasks = list(self._drains)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ the ways in

    async def receive(self, session: str, sender: str, text: Clean, *, automated: bool,
                      from_session: str | None = None) -> Delivery | None:
        """A message addressed to the session's bot — from IRC, or from another session here.

        A reply to one of this session's pending ``ask`` goes to that CLI (returns None).
        Otherwise: the per-sender rate limit (refused: a NOTICE and a ``failed`` Delivery
        with id 0, nothing stored), the hop count (``automated``: the sender is one of this
        breakroom's bots), and :meth:`deliver` with NOTICEs.  ``from_session``: the session
        here that sent it (its receipts are kept for it)."""
        key = self.sessions.bot_key(session)
        nick = self.sessions.nick_for(session) or session
        if any(take(nick, sender, text) for take in self.reply_takers):
            return None
        if not self.limiter.allow(sender):
            reason = (f"rate limit: too many messages to {nick}; try again in "
                      f"{self.limiter.retry_after(sender):.0f}s")
            if key is not None:
                self.app.refuse(key, sender, reason)
            return Delivery(0, inbox.FAILED, reason)
        hops = self.hops.hop(irc_lower(sender), irc_lower(nick), automated=automated)
        return await self.deliver(session, sender, text, hops=hops, notify=True, from_session=from_session)

    async def deliver(self, session: str, sender: str, text: Clean, *, hops: int | None = None,
                      notify: bool = False, from_session: str | None = None) -> Delivery:
        """Queue ``text`` for ``session`` and type it in now if the agent waits for input.

        ``hops``: how many automated replies deep the message is (see
        :mod:`breakroom.fleet.ratelimit`); over ``delivery.hop_limit`` it is stored but not typed.
        None (a service bot delivering directly): counted here, so a session and a service
        bot answering each other cannot loop either.
        ``notify``: ``sender`` is an IRC nick that gets a NOTICE for every outcome
        (queued, delivered, failed), now and later."""
        if not self.sessions.is_local(session):
            remote = self.sessions.remote.find(session)
            if remote is not None:
                return self._send_to_host(remote, sender, text)
            return Delivery(0, inbox.FAILED, f"no session {session!r} in the breakroom")
        clean = text
        if not clean:
            return Delivery(0, inbox.FAILED, "nothing left after removing control characters")
        if hops is None:
            hops = self.hops.hop(irc_lower(sender),
                                 irc_lower(self.sessions.nick_for(session) or session),
                                 automated=self.app.is_own_nick(sender))
        limit = self.config.delivery.hop_limit
        if hops > limit:
            reason = (f"hop limit: {hops} automated replies deep (limit {limit}); "
                      f"not typed in, readable with `breakroom read`")
            message_id = inbox.add(self.app.db, session, sender, clean, hops=hops,
                                   state=inbox.FAILED, reason=reason, notify=notify,
                                   from_session=from_session)
            self._tell(inbox.stored(self.app.db, message_id), f"#{message_id} for {session}: {reason}")
            return Delivery(message_id, inbox.FAILED, reason)
        full = self._inbox_full(session, sender)
        if full:
            key = self.sessions.bot_key(session)
            if notify and key is not None:
                self.app.refuse(key, sender, f"not queued for {session}: {full}")
            return Delivery(0, inbox.FAILED, full)
        message_id = inbox.add(self.app.db, session, sender, clean, hops=hops, notify=notify,
                               from_session=from_session)
        await self._drain(session)
        message = inbox.stored(self.app.db, message_id)
        if message.state != inbox.QUEUED:
            return Delivery(message_id, message.state, message.reason or "")
        reason = self._why_waiting(session)
        self._tell(message, f"#{message_id} {reason}")
        return Delivery(message_id, inbox.QUEUED, reason)

    async def press(self, session: str, keys: list[str]) -> None:
        """Send named keys (e.g. ``["1"]``) to an approved prompt; the pane must settle again."""
        if not self.sessions.is_local(session) and self.sessions.remote.find(session) is not None:
            raise BreakroomError(f"{session} runs on another host; keys are pressed there")
        async with self._lock(session):
            await self.app.run_blocking(press_keys, self.tmux, session, keys)
            self.sessions.observer.touched(session)

    async def take_for_hook(self, session: str, event: str) -> HookHandover | None:
        """Queued messages for an agent hook to put into the agent's context, taken out of
        the queue (exactly once: typing holds the same lock); None when there are none.
        They count as delivered once the hook confirms it holds them (:meth:`handed`), and
        go back to the queue when it never does (:meth:`not_handed`).

        PostToolUse and UserPromptSubmit (Gemini CLI: AfterTool, BeforeAgent) reach the model
        within the turn; Stop (AfterAgent) keeps the agent going to handle them, at most
        :data:`STOP_BLOCK_CAP` times in a row so a stream of messages can never keep it from
        stopping (the events are :mod:`breakroom.fleet.hooks`')."""
        if (not self.sessions.is_local(session) or event not in hooks.DELIVERY_EVENTS
                or self.holds.why_held(session)):
            return None
        ends_turn = event in hooks.TURN_END_EVENTS
        async with self._lock(session):  # after a typing under way: what it typed is not queued
            queue = inbox.queued(self.app.db, session)[:HOOK_MAX_MESSAGES]
            blocks = self._stop_blocks.get(session, 0)
            if not ends_turn or not queue:
                blocks = self._stop_blocks[session] = 0
            if not queue or (ends_turn and blocks >= STOP_BLOCK_CAP):
                return None
            if ends_turn:
                self._stop_blocks[session] = blocks + 1
            for message in queue:
                inbox.mark_delivered(self.app.db, message.id, via=f"{event} hook")
            return HookHandover(session, event, tuple(queue),
                                "\n".join(self.render(message) for message in queue))

    def handed(self, handover: HookHandover) -> None:
        """The hook has the messages (it printed them for its agent): their senders hear
        so, and each that went whole is read (a pointer is read when it is followed)."""
        how = "before it stopped" if handover.event in hooks.TURN_END_EVENTS else "mid-turn"
        for message in handover.messages:
            self._tell(message, f"delivered #{message.id} to {handover.session} {how} "
                                f"(its {handover.event} hook)")
        typed = [m.id for m in handover.messages if len(m.text) <= self.config.delivery.max_chars]
        inbox.mark_read(self.app.db, typed, f"in its context ({handover.event} hook)")

    def not_handed(self, handover: HookHandover) -> None:
        """The hook never said it had them (it gave up waiting, or died): back to the queue,
        for the next hook or for typing when the agent is idle — never lost."""
        inbox.return_to_queue(self.app.db, [m.id for m in handover.messages])
        if handover.event in hooks.TURN_END_EVENTS:
            self._stop_blocks[handover.session] = max(0, self._stop_blocks.get(handover.session, 1) - 1)
        log.warning("%s's %s hook did not take #%s; queued again", handover.session, handover.event,
                    ", #".join(str(m.id) for m in handover.messages))

    def prompt_submitted(self, session: str, prompt: str) -> None:
        """A UserPromptSubmit hook's prompt: the typed messages it carries started a turn."""
        ids = [m for m, _ in self._typed.get(session, [])
               if self.render(inbox.stored(self.app.db, m))[:TURN_MATCH] in prompt]
        self._read_as_turns(session, ids, "a turn (its UserPromptSubmit hook)")

    def _turns_taken(self) -> None:
        """After a poll: a typed message is read once a look after its typing shows the agent
        at work, or done (idle again, proven)."""
        snapshot = self.sessions.observer.snapshot
        for session, typed in list(self._typed.items()):
            view = snapshot.sessions.get(session)
            if view is None:
                del self._typed[session]
                continue
            took = view.state is PaneState.WORKING or (view.state in READY_STATES and not view.settling)
            ids = [m for m, at in typed if snapshot.at > at and took]
            self._read_as_turns(session, ids, "a turn")

    def _read_as_turns(self, session: str, ids: list[int], via: str) -> None:
        if ids:
            inbox.mark_read(self.app.db, ids, via)
            left = [(m, at) for m, at in self._typed.get(session, []) if m not in ids]
            if left:
                self._typed[session] = left
            else:
                self._typed.pop(session, None)

    def _tell_reads(self) -> None:
        """Tell senders that asked for NOTICEs that their messages were read (however that
        was noticed: here, or by the CLI writing the inbox)."""
        for message in inbox.reads_to_tell(self.app.db):
            inbox.told(self.app.db, message.id)
            self._tell(message, f"#{message.id} was read by {message.session} ({message.read_via})")

    # ------------------------------------------------------------------ policy

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

    def _send_to_host(self, remote: RemoteSession, sender: str, text: str) -> Delivery:
        """A private message from ``sender``'s bot to the remote session's bot, whose host
        delivers it (and NOTICEs the outcome back)."""
        if self.app.nick_now(sender) is None:
            return Delivery(0, inbox.FAILED, f"{sender} has no bot here to reach {remote.host}")
        self.app.say(sender, remote.nick, DELIVER_PREFIX + text)
        return Delivery(0, "sent", f"sent to {remote.nick} on {remote.host}")

    def _refusal(self, session: str) -> str:
        """Why nothing may be typed into ``session`` at all (its foreground program is a
        shell, or an agent no profile knows, and it has not opted in), or ""."""
        view = self.sessions.observer.snapshot.sessions.get(session)
        if view is None:
            return ""
        return admission.refusal(view.agent, view.current_command,
                                 self.config.session(session).deliver) or ""

    def _why_waiting(self, session: str) -> str:
        local = self.sessions.is_local(session)
        hold = self.holds.why_held(session) if local else None
        if hold:
            return f"queued: {hold}; delivered when that ends"
        refused = self._refusal(session)
        if local and refused:
            return (f"queued in {session}'s inbox, not typed: {refused} "
                    f"(`breakroom inbox` reads it; sessions.{session}.deliver: any allows typing)")
        state = self.sessions.state_of(session) if local else PaneState.GONE
        held = self._held.get(session, "")
        if local and state in READY_STATES and held:
            return f"queued: {held} in {session}'s pane; typed in when it is clear"
        return f"queued behind a busy agent ({session} is {state}); typed in when it is idle"

    def render(self, message: inbox.Message) -> str:
        """The line typed into the pane: says who it is from and how to answer, or, for long
        text, where to read it."""
        delivery = self.config.delivery
        if len(message.text) > delivery.max_chars:
            return delivery.pointer_template.format(id=message.id, sender=message.sender)
        return delivery.template.format(id=message.id, sender=message.sender, text=message.text)

    # ------------------------------------------------------------------ typing

    def _lock(self, session: str) -> asyncio.Lock:
        return self._locks.setdefault(session, asyncio.Lock())

    def _kick_ready(self) -> None:
        """After a poll: start typing into every ready session that has mail."""
        for name in inbox.sessions_with_queued(self.app.db):
            if self.sessions.is_local(name) and self.sessions.state_of(name) in READY_STATES:
                self._kick(name)

    def _released(self, session: str | None) -> None:
        """A hold ended (``None``: the fleet's pause): deliver what waited, where ready."""
        if session is None:
            self._kick_ready()
        elif self.sessions.is_local(session):
            self._kick(session)

    def _kick(self, session: str) -> None:
        """Start draining a session's queue in the background unless that is under way."""
        if self._lock(session).locked():
            return
        task = asyncio.get_running_loop().create_task(self._drain(session))
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)

    async def _ready_now(self, session: str) -> bool:
        """A fresh look at one session: is its agent waiting for typed input right now?"""
        if not self.sessions.is_local(session):
            return False
        wait = self.sessions.observer.seconds_to_stable(session)
        if wait > 0:
            await asyncio.sleep(wait)
        view = (await self.sessions.refresh([session])).sessions.get(session)
        return view is not None and view.state in READY_STATES

    async def _drain(self, session: str) -> None:
        """Type the oldest queued message if the agent waits for input; one per idle period."""
        async with self._lock(session):
            queue = inbox.queued(self.app.db, session)
            if not queue or self.holds.why_held(session) or not await self._ready_now(session):
                return
            if self._refusal(session):
                return  # a shell or an unknown program: the message stays in the inbox
            message = queue[0]
            delivery = self.config.delivery
            view = self.sessions.observer.snapshot.sessions.get(session)
            patterns = panestate.typing_patterns(view.agent if view is not None else "unknown")
            inbox.begin_attempt(self.app.db, message.id)
            loop = asyncio.get_running_loop()

            def entered() -> None:  # in the typing thread: recorded before Enter, on the loop
                asyncio.run_coroutine_threadsafe(self._mark_entered(message.id), loop).result(10)

            result = await self.app.run_blocking(
                lambda: type_into_pane(self.tmux, session, self.render(message),
                                       enter_delay=delivery.enter_delay,
                                       enter_retries=delivery.enter_retries, patterns=patterns,
                                       before_enter=entered))
            if result.status == "busy":  # nothing was typed
                inbox.cancel_attempt(self.app.db, message.id)
            # the agent reacts: idle must be proven afresh, and an earlier "idle" hook is stale
            delivered = result.status == "delivered"
            self.sessions.observer.touched(session, state=PaneState.WORKING if delivered else None,
                                           reason="a message was just typed in")
            self._held[session] = result.reason if result.status == "busy" else ""
            if delivered:
                inbox.mark_delivered(self.app.db, message.id)
                self._tell(message, f"delivered #{message.id} to {session}")
                if len(message.text) <= delivery.max_chars:  # a pointer is read with breakroom read
                    self._typed.setdefault(session, []).append((message.id, time.time()))
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
        key = self.sessions.bot_key(message.session)
        if key is not None:
            self.app.say(key, message.sender, one_line(text), notice=True)
