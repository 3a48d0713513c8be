"""The knowledge engine as the running breakroom shares it: one engine, opened once.

The knowledge bot answers IRC questions with it and the sweep asks it directly, in-process
(no question goes over IRC to be parsed back).  Opening is slow — the embedder loads, the
configured corpus is ingested incrementally — so it runs in the background at start;
questions that arrive meanwhile wait for it up to ``knowledge.timeout``, then are answered
from what is indexed so far.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from breakroom.config import Config
from breakroom.errors import BreakroomError
from breakroom.knowledge import corpus
from breakroom.knowledge.embedding import EmbedderStatus, load_embedder
from breakroom.knowledge.engine import Answer, KnowledgeEngine, Writer
from breakroom.record.db import db_path, open_db

log = logging.getLogger(__name__)

T = TypeVar("T")


class RunBlocking(Protocol):
    """The runtime's thread pool: ``fn(*args)`` off the event loop, its result awaited."""

    def __call__(self, fn: Callable[..., T], /, *args: Any) -> Awaitable[T]: ...


class KnowledgeUnavailable(BreakroomError):
    """The engine failed to open (see the log)."""


class KnowledgeService:
    """Owns the engine; :meth:`ask` from the loop, the work runs in the thread pool."""

    def __init__(self, config: Config, run_blocking: RunBlocking) -> None:
        self.config = config
        self.run_blocking = run_blocking
        self.engine: KnowledgeEngine | None = None
        self._ready: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Open the engine and bring the index up to date, in the background."""
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_task(self._open())

    async def stop(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
            await asyncio.gather(self._ready, return_exceptions=True)

    @property
    def backend(self) -> str:
        return self.engine.backend if self.engine is not None else self.config.knowledge.backend

    async def _open(self) -> None:
        """Failures are logged, not raised: questions then get "not available"."""
        try:
            status = await self.run_blocking(load_embedder)
            # the engine has its own connection: it is used from the thread pool, not the loop
            self.engine = await self.run_blocking(self._make_engine, status)
            report = await self.run_blocking(self._ingest, status)
        except Exception:
            log.exception("knowledge: start-up failed")
            return
        log.info("knowledge corpus: %d added, %d updated, %d unchanged, %d removed, %d skipped; %s",
                 len(report.added), len(report.updated), report.unchanged, len(report.removed),
                 len(report.skipped), status.reason)

    def _make_engine(self, status: EmbedderStatus) -> KnowledgeEngine:
        return KnowledgeEngine(open_db(db_path(self.config.data_path)), self.config.knowledge, status)

    def _ingest(self, status: EmbedderStatus) -> corpus.IngestReport:
        db = open_db(db_path(self.config.data_path))
        try:
            return corpus.ingest(db, corpus.configured_paths(self.config), status.embedder,
                                 dense_reason=status.reason,
                                 warn=lambda msg: log.warning("knowledge corpus: %s", msg))
        finally:
            db.conn.close()

    async def ask(self, text: str, asker: str, writer: Writer | None = None,
                  context: str = "") -> Answer:
        """Answer ``text`` (which may start with ``[request-id]``) for ``asker``; ``context``
        is what was said around the question (:meth:`KnowledgeEngine.retrieve_asked`).

        Raises :class:`KnowledgeUnavailable` when the engine could not open."""
        if self._ready is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._ready), self.config.knowledge.timeout)
            except TimeoutError:
                pass  # still ingesting: answer from what is indexed so far
        engine = self.engine
        if engine is None:
            raise KnowledgeUnavailable("the knowledge proxy is not available")
        return await self.run_blocking(engine.ask, text, asker, writer, context)
