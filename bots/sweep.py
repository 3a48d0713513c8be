"""sweep: every ``sweep.interval`` seconds (and on ``!sweep``) walk the fleet, say only what
changed, unstick agents waiting on a question, and flag trouble.

The walk is :class:`breakroom.sweep.walk.Sweeper`'s, over the fleet observer's snapshot (the
one picture delivery and the dispatcher read too).  A stuck question is put to ``knowledge`` in the channel the way
an agent asks (``knowledge: [q1a2b] …``); an answer at or above ``sweep.answer_min_confidence``
is delivered into the stuck session, attributed; anything less is escalated to ``ops`` with
one line.  Permission prompts are pressed only when ``sweep.policy`` allows them, and each
approval is announced.  Commands: ``!fleet``, ``!sweep`` for anyone; ``!peek SESSION [N]``
for server-verified operators, answered by private message with secrets scrubbed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field

import irc3

from breakroom.errors import BreakroomError
from breakroom.fleet.nicks import irc_lower
from breakroom.fleet.remote import PREFIX as REPORT_PREFIX
from breakroom.sweep.policy import Policy
from breakroom.sweep.walk import (Approval, StuckQuestion, Sweeper, WalkResult, answer_text, ops_prefix,
                             peek)

from bots.base import PRIVMSG_LINE, addressed_text, command, is_operator

log = logging.getLogger(__name__)

KNOWLEDGE = "knowledge"
ANSWER = re.compile(r"^\[(?P<qid>q[0-9a-f]{4})\]\s*\(confidence (?P<confidence>[01](?:\.\d+)?)\)\s*"
                    r"(?P<text>.*)$", re.S)
REPLY_END = re.compile(r" — (nearest )?sources: | \(full answer: breakroom read k\d+\)")
CONTINUATION_WAIT = 1.0  # a reply's further lines arrive right after its first
MAX_REPLY_LINES = 6
ASK_MARGIN = 10.0  # seconds granted beyond knowledge.timeout before escalating anyway
PEEK_DEFAULT, PEEK_MAX = 20, 60
FLEET_FRESH = 30.0  # !fleet walks first when the last walk is older than this (seconds)


@dataclass
class _Pending:
    """A question put to knowledge, waiting for its reply (first line + continuations)."""

    reply: asyncio.Future
    target: str = ""
    confidence: float = 0.0
    lines: list[str] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


@dataclass(frozen=True)
class KnowledgeReply:
    confidence: float
    text: str


@irc3.plugin
class SweepBot:
    def __init__(self, bot: irc3.IrcBot):
        self.bot = bot
        self.app = bot.config["app"]
        try:
            self.sweeper = Sweeper(self.app.db, self.app.config)
            self._policy_problem = ""
        except BreakroomError as exc:  # a bad policy file: approve nothing, and say why
            self.sweeper = Sweeper(self.app.db, self.app.config, policy=Policy())
            self._policy_problem = str(exc)
        self._walking = asyncio.Lock()
        self._pending: dict[str, _Pending] = {}
        self._collecting: _Pending | None = None  # the reply whose further lines may follow
        self._tasks: set[asyncio.Task] = set()
        self._looked = False  # the first walk runs as soon as the bot is in the channel
        self._schedule()
        self.app.control.handle("sweep")(self._control_sweep)

    # ------------------------------------------------------------ the walk

    def _schedule(self) -> None:
        self.app.loop.call_later(self.app.config.sweep.interval, self._tick)

    @irc3.event(irc3.rfc.JOIN)
    def on_join(self, mask, channel, **_):
        if mask.nick == self.bot.nick and not self._looked:
            self._looked = True
            self._spawn(self.walk())

    def _tick(self) -> None:
        if self.app.bots.get(self.bot.nick) is not self.bot:
            return  # this bot was stopped: so is its timer
        self._spawn(self.walk())
        self._schedule()

    def connection_lost(self) -> None:
        """Called by irc3; when the bot was stopped for good, its exchanges end with it."""
        if self.app.bots.get(self.bot.nick) is not self.bot:
            for task in list(self._tasks):
                task.cancel()

    def _spawn(self, coro) -> None:
        task = self.app.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sweep: %s failed", task.get_coro().__qualname__, exc_info=task.exception())

    async def walk(self) -> WalkResult:
        """One walk: observe in a thread, record here, then say and act on what it found."""
        async with self._walking:
            snapshot = await self.app.sessions.look()  # the shared poll everybody reads
            result = self.sweeper.record(self.sweeper.observations(snapshot))
        if self._policy_problem:
            result.lines.append(f"{ops_prefix(self.app.config)} sweep.policy ignored, "
                                f"approving nothing: {self._policy_problem}")
            self._policy_problem = ""
        for line in result.lines:
            self.say(line)
        for approval in result.approvals:
            self._spawn(self._approve(approval))
        for question in result.questions:
            self._spawn(self._answer(question))
        return result

    def say(self, text: str, target: str | None = None) -> None:
        self.app.send(self.bot, target or self.app.channel, text)

    # ------------------------------------------------------------ permission prompts

    async def _approve(self, approval: Approval) -> None:
        try:
            await self.app.sessions.press(approval.session, list(approval.keys))
        except Exception as exc:  # tmux may have lost the session meanwhile
            self.sweeper.approval_outcome(approval.session, f"failed: {exc}")
            self.say(f"{approval.announcement()} — but pressing {' '.join(approval.keys)} failed: {exc}")
            return
        self.sweeper.approval_outcome(approval.session, "pressed")
        self.say(approval.announcement())

    # ------------------------------------------------------------ stuck questions

    async def _answer(self, question: StuckQuestion) -> None:
        """Ask knowledge; deliver a confident answer, escalate anything else."""
        try:
            reply = await self.ask_knowledge(question)
        except asyncio.CancelledError:
            self.sweeper.forget_question(question.qid)  # neither answered nor escalated
            raise
        threshold = self.app.config.sweep.answer_min_confidence
        if reply is not None and reply.confidence >= threshold:
            text = answer_text(reply.confidence, reply.text, self.app.config.delivery.max_chars)
            delivery = await self.app.sessions.deliver(question.session, self.bot.nick, text)
            if delivery.status != "failed":
                self.sweeper.resolve_question(question.qid, "answered", reply.confidence, reply.text)
                return
            why = f"the answer could not be delivered ({delivery.reason})"
        elif reply is None:
            why = "knowledge did not answer in time"
        else:
            why = f"knowledge's best answer has confidence {reply.confidence:.2f} < {threshold:.2f}"
        self.sweeper.resolve_question(question.qid, "escalated", reply and reply.confidence,
                                      reply and reply.text)
        self.say(f"{ops_prefix(self.app.config)} {question.session} is stuck on a question "
                 f"[{question.qid}] ({why}): {question.question}")

    async def ask_knowledge(self, question: StuckQuestion) -> KnowledgeReply | None:
        """Put the question to knowledge in the channel and wait for the reply carrying its id."""
        timeout = self.app.config.knowledge.timeout + ASK_MARGIN
        await self._knowledge_present(timeout)
        pending = _Pending(self.app.loop.create_future())
        self._pending[question.qid] = pending
        self.say(f"{KNOWLEDGE}: [{question.qid}] {question.question}")
        try:
            return await asyncio.wait_for(pending.reply, timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._pending.pop(question.qid, None)
            if self._collecting is pending:
                self._collecting = None

    async def _knowledge_present(self, timeout: float) -> None:
        """When knowledge runs in this breakroom, wait until it is in the channel: at start-up
        the sweep's first walk may be quicker than knowledge's join, and a question asked
        before it joined would go unheard."""
        deadline = self.app.loop.time() + timeout
        while self.app.loop.time() < deadline:
            knowledge = self.app.bots.get(KNOWLEDGE)
            if knowledge is None or knowledge.in_channel:
                return
            await asyncio.sleep(0.2)

    @irc3.event(PRIVMSG_LINE)
    def on_fleet_report(self, mask, target, data, **_):
        """A host's report of one of its sessions, from that session's bot (see
        :mod:`breakroom.fleet.remote`); the hub's snapshot includes it from now on."""
        if irc_lower(target) == irc_lower(self.bot.nick) and data.startswith(REPORT_PREFIX):
            self.app.sessions.remote.take(mask.nick, data)

    @irc3.event(PRIVMSG_LINE)
    def on_knowledge_line(self, mask, target, data, **_):
        """Knowledge's replies to the sweep: the first line (``sweep: [qid] (confidence …)``)
        and the lines continuing it."""
        if mask.nick.lower() != KNOWLEDGE:
            return
        text = addressed_text(self.bot, target, data)
        match = ANSWER.match(text) if text is not None else None
        if match and match["qid"] in self._pending:
            pending = self._pending[match["qid"]]
            pending.target, pending.confidence = target, float(match["confidence"])
            pending.lines = [match["text"]]
            self._collecting = pending
        elif self._collecting is not None and self._collecting.target == target and text is None:
            pending = self._collecting
            pending.lines.append(data.strip())
        else:
            return
        if REPLY_END.search(" ".join(pending.lines)) or len(pending.lines) >= MAX_REPLY_LINES:
            self._finish(pending)
        else:
            if pending.timer is not None:
                pending.timer.cancel()
            pending.timer = self.app.loop.call_later(CONTINUATION_WAIT, self._finish, pending)

    def _finish(self, pending: _Pending) -> None:
        if pending.timer is not None:
            pending.timer.cancel()
        if self._collecting is pending:
            self._collecting = None
        if not pending.reply.done():
            pending.reply.set_result(KnowledgeReply(pending.confidence, " ".join(pending.lines).strip()))

    # ------------------------------------------------------------ commands

    @command("sweep")
    async def cmd_sweep(self, mask, target, args):
        """!sweep — walk the fleet now."""
        result = await self.walk()
        if not result.lines:
            self.say(f"{mask.nick}: nothing changed — {result.summary}", target)

    @command("fleet")
    async def cmd_fleet(self, mask, target, args):
        """!fleet — every session's state (a summary for a big fleet)."""
        last = self.sweeper.last
        if last is None or time.time() - last.at > FLEET_FRESH:
            await self.walk()
        for line in self.sweeper.fleet_lines():
            self.say(line, target)

    @command("peek")
    async def cmd_peek(self, mask, target, args):
        """!peek SESSION [N] — the pane's last N lines, by private message (operators only)."""
        if not await is_operator(self.bot, mask.nick):
            self.say("!peek is for IRC operators: panes hold secrets", mask.nick)
            return
        words = args.split()
        if not words or len(words) > 2 or (len(words) == 2 and not words[1].isdigit()):
            self.say("usage: !peek SESSION [N]", mask.nick)
            return
        session = words[0]
        count = min(int(words[1]) if len(words) == 2 else PEEK_DEFAULT, PEEK_MAX)
        lines = await self.app.run_blocking(peek, self.app.config, session, count)
        if lines is None:
            self.say(f"no session {session!r}", mask.nick)
            return
        self.say(f"{session}, last {count} lines (secrets scrubbed):", mask.nick)
        for line in lines:
            if line.strip():
                self.say(line, mask.nick)

    async def _control_sweep(self, request: dict) -> dict:
        result = await self.walk()
        return {"ok": True, "summary": result.summary, "lines": result.lines}
