"""The base of the engines that watch the fleet's sessions after each poll and act on them
(:mod:`breakroom.fleet.permissions`, :mod:`breakroom.fleet.limits`): what they share is the
fleet, its deliveries and holds, and the tasks they start.

asyncio keeps only a weak reference to a running task: a watch holds its own until each
ends, or one may vanish mid-way, and cancels those under way when it stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine

from breakroom.fleet.delivery import Deliveries
from breakroom.fleet.holds import Holds
from breakroom.fleet.host import FleetHost
from breakroom.fleet.manager import SessionManager


class FleetWatch:
    """Called after every poll of the fleet's sessions (:meth:`_after_poll`)."""

    def __init__(self, app: FleetHost, sessions: SessionManager, deliveries: Deliveries,
                 holds: Holds) -> None:
        self.app = app
        self.config = app.config
        self.sessions = sessions
        self.deliveries = deliveries
        self.holds = holds
        self._tasks: set[asyncio.Task[object]] = set()
        sessions.after_poll.append(self._after_poll)

    def _after_poll(self) -> None:
        raise NotImplementedError

    def _spawn(self, work: Coroutine[object, object, object]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Cancel the tasks under way and wait until each has ended."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
