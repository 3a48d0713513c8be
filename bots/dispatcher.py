"""dispatcher: every ``dispatcher.interval`` seconds, one nudge to one idle session (or none).

The decision is ``breakroom.work.dispatch``'s; this bot only runs it on a timer, delivers the
nudge through the session's normal delivery path, and answers humans in the channel:
``!queue [project]``, ``!issue N``, ``!audit [N]``, ``!dnd SESSION [minutes]`` for anyone;
``!pause``, ``!resume``, ``!nudge SESSION`` and ``!dispatch`` (run a cycle now) for
server-verified operators.  It never routes conversations.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import irc3

from bots.base import Sender, command, is_operator, runtime_of
from breakroom.errors import BreakroomError
from breakroom.irc.bot import BreakroomBot
from breakroom.paths import SKILLS_DIR
from breakroom.sanitize import sanitize
from breakroom.work import dispatch
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
            decision, audit_id = dispatch.run_cycle(
                self.app.db, self.app.config.dispatcher, self.app.sessions.status(), skills,
                only=only, force=force)
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

    @command("pause")
    async def pause(self, mask: Sender, target: str, args: str) -> None:
        """!pause — stop nudging until !resume (operators only)."""
        if await self._operator(mask, target, "!pause"):
            dispatch.set_paused(self.app.db, True)
            self.reply(target, f"dispatcher paused by {mask.nick} (!resume to continue)")

    @command("resume")
    async def resume(self, mask: Sender, target: str, args: str) -> None:
        """!resume — nudge again after !pause (operators only)."""
        if await self._operator(mask, target, "!resume"):
            dispatch.set_paused(self.app.db, False)
            self.reply(target, f"dispatcher resumed by {mask.nick}")

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
