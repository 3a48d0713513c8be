"""dispatcher: every ``dispatcher.interval`` seconds, one nudge to one idle session (or none).

The decision is ``breakroom.work.dispatch``'s; this bot only runs it on a timer, delivers the
nudge through the session's normal delivery path, and answers humans in the channel:
``!queue [project]``, ``!issue N``, ``!audit [N]``, ``!dnd SESSION [minutes]``, ``!cost
[SESSION]`` for anyone;
``!pause [SESSION]``, ``!resume [SESSION]``, ``!nudge SESSION`` and ``!dispatch`` (run a
cycle now) for server-verified operators.  A pause holds everything for the fleet or one
session — deliveries, nudges, the sweep's answers (:mod:`breakroom.fleet.holds`) — and
``!resume SESSION`` also ends a limit hold early (:mod:`breakroom.fleet.limits`).  A session
over its daily budget, or every session when the fleet is over its (``budget``,
``sessions.NAME.budget``: :mod:`breakroom.work.spend`), is not nudged.  It never routes
conversations.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import irc3

from bots.base import Sender, command, is_operator, runtime_of
from breakroom.errors import BreakroomError
from breakroom.fleet import inbox
from breakroom.fleet.holds import FLEET
from breakroom.irc.bot import BreakroomBot
from breakroom.paths import SKILLS_DIR
from breakroom.sanitize import sanitize
from breakroom.work import dispatch, spend
from breakroom.work import queue as workqueue
from breakroom.work.dispatch import Decision
from breakroom.work.skills import load_skills

log = logging.getLogger(__name__)

QUEUE_LINES = 8
AUDIT_DEFAULT, AUDIT_MAX = 5, 20


@irc3.plugin
class Dispatcher:
    def __init__(self, bot: BreakroomBot):
        self.bot = bot
        self.app = runtime_of(bot)
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._schedule()
        self.app.control.handle("dispatch_now")(self._control_dispatch)

    # ------------------------------------------------------------ the cycle

    def _schedule(self) -> None:
        self._timer = self.app.loop.call_later(self.app.config.dispatcher.interval, self._tick)

    def _tick(self) -> None:
        if self.app.bots.get(self.bot.nick) is not self.bot:
            return  # this bot was stopped: so is its timer
        self.app.loop.create_task(self.cycle())
        self._schedule()

    async def cycle(self, *, only: str | None = None, force: bool = False) -> Decision:
        """Run one cycle, deliver its nudge, and record the delivery outcome in the audit."""
        async with self._lock:
            skills = load_skills(SKILLS_DIR)  # read each cycle: an edited brief takes effect at once
            for problem in skills.problems:
                log.warning("skill not loaded: %s", problem)
            statuses = self.app.sessions.status()
            names = [s.session for s in statuses]
            budgets = spend.budgets(self.app.db, self.app.config, prices=self.app.spend.prices)
            held = {**spend.over_budget(budgets, names), **self.app.holds.held(names, fleet=False)}
            decision, audit_id = dispatch.run_cycle(
                self.app.db, self.app.config.dispatcher, statuses, skills, only=only, force=force,
                paused=FLEET in self.app.holds.pauses, held=held)
            action = decision.action
            if action is not None:
                delivery = await self.app.deliveries.deliver(action.session, self.bot.nick,
                                                             sanitize(action.text))
                failed = delivery.status == "failed" and delivery.reason
                outcome = f"failed: {delivery.reason}" if failed else delivery.status
                dispatch.record_delivery(self.app.db, audit_id, outcome)
            return decision

    async def _control_dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        session = request.get("session")
        decision = await self.cycle(only=session, force=bool(session))
        action = decision.action
        return {"ok": True, "acted": action is not None, "reason": decision.reason,
                "session": action and action.session, "text": action and action.text}

    # ------------------------------------------------------------ helpers

    def reply(self, target: str, text: str) -> None:
        self.app.send(self.bot, target, text)

    async def _operator(self, mask: Sender, target: str, what: str) -> bool:
        if await is_operator(self.bot, mask.nick):
            return True
        self.reply(target, f"{mask.nick}: {what} needs an IRC operator (/oper)")
        return False

    def _session(self, name: str) -> str | None:
        """A session by its tmux name or its bot's nick."""
        known = {s.session for s in self.app.sessions.status()}
        if name in known:
            return name
        by_nick = self.app.sessions.session_for(name)
        return by_nick if by_nick in known else None

    # ------------------------------------------------------------ commands for everyone

    @command("queue")
    def queue(self, mask: Sender, target: str, args: str) -> None:
        """!queue [PROJECT] — open issues, most urgent first."""
        project = args.split()[0] if args.split() else None
        issues = workqueue.list_issues(self.app.db, project=project)
        if not issues:
            self.reply(target, f"queue{' for ' + project if project else ''}: empty")
            return
        for issue in issues[:QUEUE_LINES]:
            held = f" @{issue.assignee}" if issue.assignee else ""
            self.reply(target, f"#{issue.id} P{issue.priority} {issue.state} ({issue.where()}) "
                               f"{issue.title}{held}")
        if len(issues) > QUEUE_LINES:
            self.reply(target, f"… and {len(issues) - QUEUE_LINES} more (breakroom issue list)")

    @command("issue")
    def issue(self, mask: Sender, target: str, args: str) -> None:
        """!issue N — one issue: state, priority, holder and its last move."""
        try:
            issue = workqueue.get_issue(self.app.db, int(args.strip().lstrip("#")))
        except ValueError:
            self.reply(target, "usage: !issue N")
            return
        except BreakroomError as exc:
            self.reply(target, str(exc))
            return
        last = workqueue.history(self.app.db, issue.id)[-1]
        step = f"{last.from_state} → {last.to_state}" if last.from_state else "filed"
        note = f" ({last.note})" if last.note and last.from_state else ""
        self.reply(target, f'#{issue.id} "{issue.title}" — {issue.state}, P{issue.priority}, '
                           f"{issue.where()}, held by {issue.assignee or 'nobody'}; "
                           f"last: {step} by {last.who} at {last.ts[11:16]}{note}")

    @command("audit")
    def audit(self, mask: Sender, target: str, args: str) -> None:
        """!audit [N] — the dispatcher's last N cycles and why it acted or not."""
        try:
            count = min(int(args.strip() or AUDIT_DEFAULT), AUDIT_MAX)
        except ValueError:
            self.reply(target, "usage: !audit [N]")
            return
        rows = dispatch.audit(self.app.db, count)
        if not rows:
            self.reply(target, "audit: no cycles yet")
        for row in rows:
            self.reply(target, row.line())

    @command("cost")
    def cost(self, mask: Sender, target: str, args: str) -> None:
        """!cost [SESSION] — today's estimated spend, per session, and the daily budgets."""
        words = args.split()
        session = self._session(words[0]) if words else None
        if words and session is None:
            self.reply(target, f"no session {words[0]!r}")
            return
        for line in spend.cost_lines(self.app.db, self.app.config, self.app.spend.prices, session):
            self.reply(target, line)

    @command("dnd")
    def dnd(self, mask: Sender, target: str, args: str) -> None:
        """!dnd SESSION [MINUTES] — no nudges for a session for a while (0 clears)."""
        words = args.split()
        if not words or len(words) > 2:
            self.reply(target, "usage: !dnd SESSION [minutes] (0 clears)")
            return
        session = self._session(words[0])
        if session is None:
            self.reply(target, f"no session {words[0]!r}")
            return
        try:
            minutes = float(words[1]) if len(words) == 2 else dispatch.DEFAULT_DND_MINUTES
        except ValueError:
            self.reply(target, "usage: !dnd SESSION [minutes] (0 clears)")
            return
        until = dispatch.set_dnd(self.app.db, session, minutes)
        if until is None:
            self.reply(target, f"{session}: do-not-disturb cleared")
        else:
            stamp = time.strftime("%H:%M", time.gmtime(until))
            self.reply(target, f"{session}: do not disturb until {stamp} UTC (set by {mask.nick})")

    # ------------------------------------------------------------ commands for operators

    def _scope(self, args: str, target: str, usage: str) -> str | None:
        """The session ``args`` names (or :data:`FLEET` when it names none); None, answered
        with the usage, when it names no session."""
        words = args.split()
        if len(words) > 1:
            self.reply(target, f"usage: {usage}")
            return None
        if not words:
            return FLEET
        session = self._session(words[0])
        if session is None:
            self.reply(target, f"no session {words[0]!r}")
        return session

    @command("pause")
    async def pause(self, mask: Sender, target: str, args: str) -> None:
        """!pause [SESSION] — hold deliveries, nudges and the sweep's answers for the fleet or
        one session until !resume; nothing is lost (operators only)."""
        scope = self._scope(args, target, "!pause [SESSION]")
        if scope is None or not await self._operator(mask, target, "!pause"):
            return
        what = "the fleet" if scope == FLEET else scope
        if not self.app.holds.pause(scope, mask.nick):
            self.reply(target, f"{what} is already paused")
            return
        self.reply(target, f"{what} paused by {mask.nick}: messages wait in the inbox, no nudges, "
                           f"no sweep answers — !resume{'' if scope == FLEET else ' ' + scope} to go on")

    @command("resume")
    async def resume(self, mask: Sender, target: str, args: str) -> None:
        """!resume [SESSION] — end a pause (a session's limit hold too) and deliver what
        waited (operators only)."""
        scope = self._scope(args, target, "!resume [SESSION]")
        if scope is None or not await self._operator(mask, target, "!resume"):
            return
        what = "the fleet" if scope == FLEET else scope
        unpaused = self.app.holds.unpause(scope) is not None
        limited = scope != FLEET and await self.app.limits.resume(scope, mask.nick)
        if not (unpaused or limited):
            self.reply(target, f"{what} is not paused")
            return
        waiting = sum(inbox.count_queued(self.app.db, name) for name in
                      ([s.session for s in self.app.sessions.status()] if scope == FLEET else [scope]))
        self.reply(target, f"{what} resumed by {mask.nick} — {waiting} waiting message"
                           f"{'' if waiting == 1 else 's'} delivered as the agents are ready")

    @command("nudge")
    async def nudge(self, mask: Sender, target: str, args: str) -> None:
        """!nudge SESSION — give that session its next piece of work now (operators only)."""
        if not args.strip():
            self.reply(target, "usage: !nudge SESSION")
            return
        if not await self._operator(mask, target, "!nudge"):
            return
        session = self._session(args.split()[0])
        if session is None:
            self.reply(target, f"no session {args.split()[0]!r}")
            return
        self.reply(target, (await self.cycle(only=session, force=True)).reason)

    @command("dispatch")
    async def dispatch_now(self, mask: Sender, target: str, args: str) -> None:
        """!dispatch — run one dispatcher cycle now (operators only)."""
        if await self._operator(mask, target, "!dispatch"):
            self.reply(target, (await self.cycle()).reason)
