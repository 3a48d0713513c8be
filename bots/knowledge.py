"""knowledge: the knowledge proxy on IRC.

Answers ``knowledge: question`` / ``knowledge, question`` in the channel, private messages, and
``!ask question`` from anyone, with a confidence and sources (``breakroom.knowledge.engine`` does the
work).  Each question runs in the thread pool, so a slow Claude call never blocks another
asker; each asker has a rate limit.  The configured corpus is ingested in the background at
start (incrementally: unchanged files are skipped); questions that arrive meanwhile wait for it.

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

from breakroom.knowledge import corpus
from breakroom.knowledge.embedding import EmbedderStatus, load_embedder
from breakroom.knowledge.engine import (BackendUnavailable, KnowledgeEngine, format_reply,
                                 split_request_id)
from breakroom.irc.ratelimit import RateLimiter
from breakroom.knowledge.retrieval import SearchResult
from breakroom.record.db import db_path, open_db

from bots.base import addressed, command, is_operator

log = logging.getLogger(__name__)


@irc3.plugin
class KnowledgeBot:
    def __init__(self, bot: irc3.IrcBot):
        self.bot = bot
        self.app = bot.config["app"]
        self.config = self.app.config.knowledge
        self.limiter = RateLimiter(self.config.rate_limit_per_minute)
        self.engine: KnowledgeEngine | None = None
        self._session_replies: dict[str, asyncio.Future] = {}
        self._ready = self.app.loop.create_task(self._start())

    # ------------------------------------------------------------ start: engine + corpus

    async def _start(self) -> None:
        """Open the engine, then bring the index up to date; failures are logged, not raised."""
        try:
            status: EmbedderStatus = await self.app.run_blocking(load_embedder)
            # the engine has its own connection: it is used from the thread pool, not the loop
            self.engine = await self.app.run_blocking(self._make_engine, status)
            paths = corpus.configured_paths(self.app.config)
            report = await self.app.run_blocking(self._ingest, paths, status)
        except Exception:
            log.exception("knowledge: start-up failed")
            return
        log.info("knowledge corpus: %d added, %d updated, %d unchanged, %d removed, %d skipped; %s",
                 len(report.added), len(report.updated), report.unchanged, len(report.removed),
                 len(report.skipped), status.reason)

    def _make_engine(self, status: EmbedderStatus) -> KnowledgeEngine:
        return KnowledgeEngine(open_db(db_path(self.app.config.data_path)), self.config, status)

    def _ingest(self, paths, status: EmbedderStatus) -> corpus.IngestReport:
        db = open_db(db_path(self.app.config.data_path))
        try:
            return corpus.ingest(db, paths, status.embedder, dense_reason=status.reason,
                                 warn=lambda msg: log.warning("knowledge corpus: %s", msg))
        finally:
            db.conn.close()

    # ------------------------------------------------------------ IRC

    @addressed
    async def on_addressed(self, mask, target, text):
        """``knowledge: question``, ``knowledge, question`` or a private message."""
        if text.startswith("!") or self._session_reply(mask.nick, text):
            return  # `!ask …` in a private message is the command's to answer
        await self.answer(mask.nick, target, text)

    @command("ask")
    async def cmd_ask(self, mask, target, args):
        """!ask QUESTION — ask the knowledge proxy, from anyone."""
        await self.answer(mask.nick, target, args)

    @command("right")
    async def cmd_right(self, mask, target, args):
        """!right k42 — an operator says answer k42 was right (feeds the live calibration)."""
        await self._judge(mask.nick, target, args, True)

    @command("wrong")
    async def cmd_wrong(self, mask, target, args):
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
        if self.engine is None:
            self.app.notice(self.bot, nick, f"{nick}: the knowledge proxy is not available")
            return
        answer = await self.app.run_blocking(self.engine.judge, ref, right, nick)
        if answer is None:
            self.app.notice(self.bot, nick, f"{nick}: no answer {ref[:20]} to judge "
                                            "(an \"I don't know\" cannot be judged)")
            return
        self.app.send(self.bot, target, f"{nick}: noted, {answer.ref} "
                                        f"(confidence {answer.confidence:.2f}) was {verb}")

    async def answer(self, asker: str, target: str, text: str) -> None:
        if asker.lower() == self.bot.nick.lower():
            return
        if not split_request_id(text)[1]:
            self.app.notice(self.bot, asker, f"{asker}: ask me a question, e.g. "
                                             f"`{self.bot.nick}: how do I join the channel?`")
            return
        if not self.limiter.allow(asker.lower()):
            wait = self.limiter.retry_after(asker.lower())
            limit = self.config.rate_limit_per_minute
            self.app.notice(self.bot, asker, f"{asker}: at most {limit} questions a minute; "
                                             f"try again in {wait:.0f} s")
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), self.config.timeout)
        except asyncio.TimeoutError:
            pass  # still ingesting: answer from what is indexed so far
        if self.engine is None:  # the engine itself failed to start
            self.app.send(self.bot, target, f"{asker}: the knowledge proxy is not available")
            return
        writer = self._session_writer(asker) if self.engine.backend.startswith("session:") else None
        try:
            answer = await self.app.run_blocking(self.engine.ask, text, asker, writer)
        except Exception:  # a bug must not leave the asker waiting in silence
            log.exception("knowledge: failed to answer %r from %s", text, asker)
            self.app.send(self.bot, target, f"{asker}: sorry, answering failed (see the log)")
            return
        for line in format_reply(answer, asker, target, self.config.max_lines):
            self.app.send(self.bot, target, line)

    # ------------------------------------------------------------ session:NAME backend

    def _session_writer(self, asker: str):
        """A writer (run in the thread pool) that relays the question to the role session."""
        session = self.engine.backend.split(":", 1)[1]

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
            delivery = await self.app.sessions.deliver(
                session, self.bot.nick,
                f"{asker} asks: {question} — answer from the corpus with: "
                f"breakroom say {self.bot.nick} \"[{rid}] <answer, then the sources>\"")
            if delivery.status == "failed":
                raise BackendUnavailable(f"delivery failed: {delivery.reason}")
            return await asyncio.wait_for(reply, self.config.timeout)
        except asyncio.TimeoutError:
            raise BackendUnavailable("no reply in time") from None
        finally:
            self._session_replies.pop(rid, None)

    def _session_reply(self, nick: str, text: str) -> bool:
        """True when ``text`` is the role session's reply to a relayed question."""
        rid, body = split_request_id(text)
        pending = self._session_replies.get(rid or "")
        if pending is None or pending.done() or not self.engine:
            return False
        session = self.engine.backend.split(":", 1)[1]
        if (self.app.sessions.nick_for(session) or "").lower() != nick.lower():
            return False
        pending.set_result(body)
        return True
