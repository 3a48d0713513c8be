"""knowledge: the knowledge proxy on IRC.

Answers ``knowledge: question`` / ``knowledge, question`` in the channel, private messages, and
``!ask question`` from anyone, with a confidence and sources.  The engine is the runtime's
shared :class:`breakroom.knowledge.service.KnowledgeService` (the sweep asks it directly), so
this bot only parses, rate-limits per asker and formats the reply (:mod:`bots.replies`).
Lines from this breakroom's service bots are not questions: they ask in-process, and what
they address to knowledge is a copy for the humans (see :meth:`KnowledgeBot.post_answer`).

With ``knowledge.backend: session:NAME`` the question is delivered into that tmux session (a
"role" agent loaded with the corpus) and its reply — ``breakroom say knowledge "[id] …"`` —
is relayed to the asker; no reply within ``knowledge.timeout`` falls back to the offline answer.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from concurrent.futures import TimeoutError as FutureTimeout

import irc3

from bots.base import Sender, addressed, command, is_operator, runtime_of
from bots.replies import format_reply
from breakroom.fleet.ratelimit import RateLimiter
from breakroom.knowledge.engine import Answer, BackendUnavailable, Writer, split_request_id
from breakroom.knowledge.retrieval import SearchResult
from breakroom.knowledge.service import KnowledgeService, KnowledgeUnavailable
from breakroom.sanitize import sanitize

log = logging.getLogger(__name__)



@irc3.plugin
class KnowledgeBot:
    def __init__(self, bot: irc3.IrcBot):
        self.bot = bot
        self.app = runtime_of(bot)
        self.config = self.app.config.knowledge
        self.limiter = RateLimiter(self.config.rate_limit_per_minute)
        self._session_replies: dict[str, asyncio.Future[str]] = {}

    @property
    def service(self) -> KnowledgeService | None:
        return self.app.knowledge

    # ------------------------------------------------------------ IRC

    @addressed
    async def on_addressed(self, mask: Sender, target: str, text: str) -> None:
        """``knowledge: question``, ``knowledge, question`` or a private message."""
        if text.startswith("!") or self._session_reply(mask.nick, text):
            return  # `!ask …` in a private message is the command's to answer
        await self.answer(mask.nick, target, text)

    @command("ask")
    async def cmd_ask(self, mask: Sender, target: str, args: str) -> None:
        """!ask QUESTION — ask the knowledge proxy, from anyone."""
        await self.answer(mask.nick, target, args)

    @command("right")
    async def cmd_right(self, mask: Sender, target: str, args: str) -> None:
        """!right k42 — an operator says answer k42 was right (feeds the live calibration)."""
        await self._judge(mask.nick, target, args, True)

    @command("wrong")
    async def cmd_wrong(self, mask: Sender, target: str, args: str) -> None:
        """!wrong k42 — an operator says answer k42 was wrong."""
        await self._judge(mask.nick, target, args, False)

    async def _judge(self, nick: str, target: str, args: str, right: bool) -> None:
        verb = "right" if right else "wrong"
        ref = (args or "").strip().split(" ", 1)[0]
        if not ref:
            self.app.notice(self.bot, nick, f"{nick}: usage: !{verb} k42")
            return
        if not await is_operator(self.bot, nick):
            self.app.notice(self.bot, nick, f"{nick}: !{verb} needs an IRC operator (/oper)")
            return
        engine = self.service.engine if self.service is not None else None
        if engine is None:
            self.app.notice(self.bot, nick, f"{nick}: the knowledge proxy is not available")
            return
        answer = await self.app.run_blocking(engine.judge, ref, right, nick)
        if answer is None:
            self.app.notice(self.bot, nick, f"{nick}: no answer {ref[:20]} to judge "
                                            "(an \"I don't know\" cannot be judged)")
            return
        self.app.send(self.bot, target, f"{nick}: noted, {answer.ref} "
                                        f"(confidence {answer.confidence:.2f}) was {verb}")

    async def answer(self, asker: str, target: str, text: str) -> None:
        if asker.lower() == self.bot.nick.lower() or self.app.is_service_bot(asker):
            return
        if not split_request_id(text)[1]:
            self.app.refuse(self.bot.key, asker, f"{asker}: ask me a question, e.g. "
                                             f"`{self.bot.nick}: how do I join the channel?`")
            return
        if not self.limiter.allow(asker.lower()):
            wait = self.limiter.retry_after(asker.lower())
            limit = self.config.rate_limit_per_minute
            self.app.refuse(self.bot.key, asker, f"{asker}: at most {limit} questions a minute; "
                                             f"try again in {wait:.0f} s")
            return
        service = self.service
        if service is None:
            self.app.send(self.bot, target, f"{asker}: the knowledge proxy is not available")
            return
        writer = self.writer_for(asker)
        try:
            answer = await service.ask(text, asker, writer)
        except KnowledgeUnavailable as exc:  # the engine itself failed to start
            self.app.send(self.bot, target, f"{asker}: {exc}")
            return
        except Exception:  # a bug must not leave the asker waiting in silence
            log.exception("knowledge: failed to answer %r from %s", text, asker)
            self.app.send(self.bot, target, f"{asker}: sorry, answering failed (see the log)")
            return
        self.post_answer(answer, asker, target)

    def post_answer(self, answer: Answer, asker: str, target: str) -> None:
        """The answer in at most ``knowledge.max_lines`` lines to ``target``, addressed to
        ``asker`` (also used for the sweep's in-process questions, for the humans)."""
        for line in format_reply(answer, asker, target, self.config.max_lines):
            self.app.send(self.bot, target, line)

    # ------------------------------------------------------------ session:NAME backend

    def writer_for(self, asker: str) -> Writer | None:
        """With the ``session:NAME`` backend, the writer that relays ``asker``'s question to
        the role session (the sweep's in-process questions use it too); else None."""
        service = self.service
        if service is None or not service.backend.startswith("session:"):
            return None
        return self._session_writer(asker)

    def _session_writer(self, asker: str) -> Writer:
        """A writer (run in the thread pool) that relays the question to the role session."""
        session = self.service.backend.split(":", 1)[1] if self.service else ""

        def write(question: str, result: SearchResult) -> tuple[str, list[str]]:
            future = asyncio.run_coroutine_threadsafe(
                self._ask_session(session, asker, question), self.app.loop)
            try:
                return future.result(self.config.timeout + 1), [f"session:{session}"]
            except FutureTimeout:
                future.cancel()
                raise BackendUnavailable("no reply in time") from None
        return write

    async def _ask_session(self, session: str, asker: str, question: str) -> str:
        if self.app.sessions.nick_for(session) is None:
            raise BackendUnavailable(f"no session {session}")
        rid = "k" + secrets.token_hex(2)
        reply = self.app.loop.create_future()
        self._session_replies[rid] = reply
        try:
            delivery = await self.app.deliveries.deliver(
                session, self.bot.nick,
                sanitize(f"{asker} asks: {question} — answer from the corpus with: "
                         f"breakroom say {self.bot.nick} \"[{rid}] <answer, then the sources>\""))
            if delivery.status == "failed":
                raise BackendUnavailable(f"delivery failed: {delivery.reason}")
            return await asyncio.wait_for(reply, self.config.timeout)
        except TimeoutError:
            raise BackendUnavailable("no reply in time") from None
        finally:
            self._session_replies.pop(rid, None)

    def _session_reply(self, nick: str, text: str) -> bool:
        """True when ``text`` is the role session's reply to a relayed question."""
        rid, body = split_request_id(text)
        pending = self._session_replies.get(rid or "")
        if pending is None or pending.done() or self.service is None:
            return False
        session = self.service.backend.split(":", 1)[1]
        if (self.app.sessions.nick_for(session) or "").lower() != nick.lower():
            return False
        pending.set_result(body)
        return True
