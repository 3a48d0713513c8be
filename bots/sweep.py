"""sweep: every ``sweep.interval`` seconds (and on ``!sweep``) walk the fleet, say only what
changed, unstick agents waiting on a question, and flag trouble.

The walk is :class:`breakroom.sweep.walk.Sweeper`'s, over the fleet observer's snapshot (the
one picture delivery and the dispatcher read too).  A stuck question is put to the
knowledge engine in-process (the runtime's shared one); for the humans, the question and
knowledge's answer still appear in the channel as if asked there (``knowledge: [q1a2b] …`` /
``sweep: [q1a2b] (confidence …) …``).  An answer at or above
``sweep.answer_min_confidence`` is delivered into the stuck session, attributed; anything
less is escalated to ``ops`` with one line.  A permission prompt is decided by the sweep
only when ``sweep.policy`` names it: the policy is a decider of the relay
(:mod:`breakroom.fleet.permissions`), asked as each prompt opens, and the sweep announces what
it allowed.  Commands: ``!fleet``, ``!sweep`` for anyone; ``!peek SESSION [N]`` for
server-verified operators, answered by private message with secrets scrubbed; and the help
for ``!allow`` / ``!deny``, which the session bots answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

import irc3

from bots.base import PRIVMSG_LINE, Sender, command, event, help_entry, is_operator, runtime_of
from bots.knowledge import KnowledgeBot
from bots.replies import sources_tail
from breakroom.errors import BreakroomError
from breakroom.fleet.dialogs import PermissionPrompt
from breakroom.fleet.permissions import AutoDecision, Verdict
from breakroom.fleet.remote import PREFIX as REPORT_PREFIX
from breakroom.irc.bot import BreakroomBot
from breakroom.irc.nicks import irc_lower
from breakroom.knowledge.engine import Answer
from breakroom.sanitize import sanitize
from breakroom.sweep.policy import Policy
from breakroom.sweep.walk import StuckQuestion, Sweeper, WalkResult, answer_text, peek

log = logging.getLogger(__name__)

KNOWLEDGE = "knowledge"
ASK_MARGIN = 10.0  # seconds granted beyond knowledge.timeout before escalating anyway
PEEK_DEFAULT, PEEK_MAX = 20, 60
FLEET_FRESH = 30.0  # !fleet walks first when the last walk is older than this (seconds)


@irc3.plugin
class SweepBot:
    def __init__(self, bot: BreakroomBot):
        self.bot = bot
        self.app = runtime_of(bot)
        try:
            self.sweeper = Sweeper(self.app.db, self.app.config)
            self._policy_problem = ""
        except BreakroomError as exc:  # a bad policy file: approve nothing, and say why
            self.sweeper = Sweeper(self.app.db, self.app.config, policy=Policy())
            self._policy_problem = str(exc)
        self._walking = asyncio.Lock()
        self._tasks: set[asyncio.Task[object]] = set()
        self._looked = False  # the first walk runs as soon as the bot is in the channel
        self._schedule()
        self.app.control.handle("sweep")(self._control_sweep)
        self.app.permissions.deciders.append(self.decide)

    # ------------------------------------------------------------ the walk

    def _schedule(self) -> None:
        self.app.loop.call_later(self.app.config.sweep.interval, self._tick)

    @event(irc3.rfc.JOIN)
    def on_join(self, mask: Sender, channel: str, **_: str | None) -> None:
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

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = self.app.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sweep: %s failed", getattr(task.get_coro(), "__qualname__", task.get_name()),
                      exc_info=task.exception())

    async def walk(self) -> WalkResult:
        """One walk: observe in a thread, record here, then say and act on what it found."""
        async with self._walking:
            snapshot = await self.app.sessions.look()  # the shared poll everybody reads
            result = self.sweeper.record(self.sweeper.observations(snapshot))
        if self._policy_problem:
            result.lines.append(f"{self.app.config.ops_prefix} sweep.policy ignored, "
                                f"approving nothing: {self._policy_problem}")
            self._policy_problem = ""
        for line in result.lines:
            self.say(line)
        for question in result.questions:
            self._spawn(self._answer(question))
        return result

    def say(self, text: str, target: str | None = None) -> None:
        self.app.send(self.bot, target or self.app.channel, text)

    # ------------------------------------------------------------ permission prompts

    def decide(self, prompt: PermissionPrompt) -> AutoDecision | None:
        """The relay asks as a prompt opens: allowed when a policy rule names it."""
        if self.app.bots.get(self.bot.nick) is not self.bot:
            return None  # this bot was stopped: so is its policy
        rule = self.sweeper.policy.decide(prompt)
        if rule is None:
            return None
        return AutoDecision(self.bot.nick, Verdict(True, "sweep", f'policy rule "{rule.name}"', rule.keys))

    allow_help = help_entry("allow", "!allow ID — run the tool a relayed permission prompt asks for "
                                     "(IRC operators; the prompt's session bot answers)")
    deny_help = help_entry("deny", "!deny ID — refuse a relayed permission prompt's tool "
                                   "(IRC operators; the prompt's session bot answers)")

    # ------------------------------------------------------------ stuck questions

    async def _answer(self, question: StuckQuestion) -> None:
        """Ask knowledge; deliver a confident answer, escalate anything else."""
        try:
            answer = await self.ask_knowledge(question)
        except asyncio.CancelledError:
            self.sweeper.forget_question(question.qid)  # neither answered nor escalated
            raise
        threshold = self.app.config.sweep.answer_min_confidence
        if answer is None:
            why = "knowledge did not answer in time"
        elif answer.confidence >= threshold:
            reply = " ".join(answer.text.split()) + sources_tail(answer)
            text = answer_text(answer.confidence, reply, self.app.config.delivery.max_chars)
            delivery = await self.app.deliveries.deliver(question.session, self.bot.nick,
                                                         sanitize(text))
            if delivery.status != "failed":
                self.sweeper.resolve_question(question.qid, "answered", answer.confidence, reply,
                                              answer_id=answer.id)
                return
            why = f"the answer could not be delivered ({delivery.reason})"
        else:
            why = f"knowledge's best answer has confidence {answer.confidence:.2f} < {threshold:.2f}"
        self.sweeper.resolve_question(question.qid, "escalated",
                                      answer.confidence if answer else None,
                                      answer.text if answer else None)
        self.say(f"{self.app.config.ops_prefix} {question.session} is stuck on a question "
                 f"[{question.qid}] ({why}): {question.question}")

    async def ask_knowledge(self, question: StuckQuestion) -> Answer | None:
        """Ask the shared knowledge engine in-process; the question and the answer are also
        posted in the channel, for the humans.  None: no engine here, or no answer in time."""
        service = self.app.knowledge
        self.say(f"{KNOWLEDGE}: [{question.qid}] {question.question}")
        if service is None:
            return None
        knowledge = self.app.bots.get(KNOWLEDGE)
        plugin: KnowledgeBot | None = knowledge.get_plugin(KnowledgeBot) if knowledge is not None else None
        writer = plugin.writer_for(self.bot.nick) if plugin is not None else None
        try:
            answer = await asyncio.wait_for(
                service.ask(f"[{question.qid}] {question.question}", self.bot.nick, writer,
                            question.context),
                self.app.config.knowledge.timeout + ASK_MARGIN)
        except (TimeoutError, BreakroomError):
            return None
        if plugin is not None:
            plugin.post_answer(answer, self.bot.nick, self.app.channel)
        return answer

    @event(PRIVMSG_LINE)
    def on_fleet_report(self, mask: Sender, target: str, data: str, **_: str | None) -> None:
        """A host's report of one of its sessions, from that session's bot (see
        :mod:`breakroom.fleet.remote`); the hub's snapshot includes it from now on."""
        if irc_lower(target) == irc_lower(self.bot.nick) and data.startswith(REPORT_PREFIX):
            self.app.sessions.remote.take(mask.nick, data)

    # ------------------------------------------------------------ commands

    @command("sweep")
    async def cmd_sweep(self, mask: Sender, target: str, args: str) -> None:
        """!sweep — walk the fleet now."""
        result = await self.walk()
        if not result.lines:
            self.say(f"{mask.nick}: nothing changed — {result.summary}", target)

    @command("fleet")
    async def cmd_fleet(self, mask: Sender, target: str, args: str) -> None:
        """!fleet — every session's state (a summary for a big fleet)."""
        last = self.sweeper.last
        if last is None or time.time() - last.at > FLEET_FRESH:
            await self.walk()
        for line in self.sweeper.fleet_lines():
            self.say(line, target)

    @command("peek")
    async def cmd_peek(self, mask: Sender, target: str, args: str) -> None:
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

    async def _control_sweep(self, request: dict[str, Any]) -> dict[str, Any]:
        result = await self.walk()
        return {"ok": True, "summary": result.summary, "lines": result.lines}
