"""Reading the agents' transcripts as their hooks fire, and telling ops when a budget runs out.

Every hook report carries its session's transcript path
(:data:`breakroom.fleet.hooks.FORWARD_ALWAYS`): the transcript's new lines are read in a
worker thread (:func:`breakroom.work.spend.read_transcript`) — at most once every
:data:`MIN_GAP` seconds per transcript, and always when a turn ends (and again
:data:`SETTLE` seconds later: the agent may write the turn's last lines after its hook) —
and recorded on the loop.  After a read that found responses, the daily
budgets are checked: at 80 % and at 100 % of one, each of ``ops`` gets a NOTICE from the
dispatcher (once a day each; the channel hears it when there are no ``ops``).  The
dispatcher nudges no session over its budget.
"""

from __future__ import annotations

import asyncio
import logging
import time

from breakroom.fleet.host import FleetHost
from breakroom.work import spend

log = logging.getLogger(__name__)

MIN_GAP = 5.0                                       # seconds between reads of one transcript
SETTLE = 2.0                                        # a turn's end is read again this much later
TURN_ENDS = frozenset({"Stop", "StopFailure", "SessionEnd"})
SPEAKERS = ("dispatcher", "scribe")                 # who tells ops (the first one running)


class SpendWatch:
    def __init__(self, app: FleetHost) -> None:
        self.app = app
        self.prices = spend.PriceTable.for_config(app.config)
        self._last: dict[str, float] = {}           # path -> monotonic time of its last read
        self._tasks: dict[str, asyncio.Task[None]] = {}  # path -> its read under way
        self._again: dict[str, str] = {}            # path -> session: read once more after this one
        self._later: dict[str, asyncio.TimerHandle] = {}  # path -> the turn end's second read

    def saw(self, session: str, path: object, event: str) -> None:
        """A hook of ``session`` named its transcript: read what is new, if it is time."""
        checked = spend.valid_path(path)
        if checked is None or not session:
            return
        now = time.monotonic()
        if event in TURN_ENDS:
            old = self._later.pop(checked, None)
            if old is not None:
                old.cancel()
            self._later[checked] = asyncio.get_running_loop().call_later(
                SETTLE, self._read_settled, session, checked)
        elif now - self._last.get(checked, -MIN_GAP) < MIN_GAP:
            return
        self._read_soon(session, checked)

    def _read_settled(self, session: str, path: str) -> None:
        self._later.pop(path, None)
        self._read_soon(session, path)

    def _read_soon(self, session: str, path: str) -> None:
        """Read now, or right after the read under way (the turn's last lines may come after it)."""
        if path in self._tasks:
            self._again[path] = session
            return
        self._start(session, path)

    def _start(self, session: str, path: str) -> None:
        self._last[path] = time.monotonic()
        task = asyncio.get_running_loop().create_task(self._read(session, path))
        self._tasks[path] = task
        task.add_done_callback(lambda done: self._done(path, done))

    def _done(self, path: str, task: asyncio.Task[None]) -> None:
        self._tasks.pop(path, None)
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("reading a transcript failed", exc_info=task.exception())
        session = self._again.pop(path, None)
        if session is not None:
            self._start(session, path)

    async def stop(self) -> None:
        for timer in self._later.values():
            timer.cancel()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, session: str, path: str) -> None:
        db = self.app.db
        mark = spend.mark_of(db, path)
        if mark is not None and mark.session != session:
            return  # counted for the session that reported it first
        read = await self.app.run_blocking(spend.read_transcript, path, session, mark)
        if read is None:
            return
        spend.record(db, path, read)
        if read.usages:
            self._check_budgets()

    def _check_budgets(self) -> None:
        found = spend.budgets(self.app.db, self.app.config, prices=self.prices)
        for budget, threshold in spend.new_alerts(self.app.db, found):
            then = ("the dispatcher nudges it no more today" if threshold >= 100
                    else "the dispatcher stops nudging it at 100%")
            text = f"{budget.line()} — {then}"
            log.warning("%s", text)
            speaker = next((name for name in SPEAKERS if self.app.nick_now(name) is not None), None)
            if speaker is None:
                continue
            for op in self.app.config.ops:
                self.app.say(speaker, op, text, notice=True)
            if not self.app.config.ops:
                self.app.say(speaker, self.app.channel, text)
