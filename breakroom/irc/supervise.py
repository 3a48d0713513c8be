"""Keep the breakroom's own ircd running: when it dies, start it again, with backoff.

Without this, ``kill -9`` of ngircd left ``breakroom up`` running with no server and every
bot retrying forever.  The supervisor notices the exit within :data:`POLL` seconds, says so
(``report``: the log, the record and the channel), and restarts the server after 0.5 s, then
1, 2, 4 … s while restarts fail.  After ``ircd.max_restarts`` failures in a row it raises
:class:`BreakroomError` and ``up`` exits non-zero with that one line.  The bots reconnect on
their own (:class:`breakroom.app.runtime.BreakroomBot`).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from breakroom.config import Config
from breakroom.errors import BreakroomError
from breakroom.irc.ircd import Ircd, start_ircd

POLL = 0.2
FIRST_DELAY = 0.5
MAX_DELAY = 30.0


def describe_exit(code: int | None) -> str:
    """``exit code 1`` / ``killed by SIGKILL`` (the guard reports a signal as 128+N or -N)."""
    if code is None:
        return "still running"
    signum = -code if code < 0 else code - 128 if code > 128 else 0
    if signum:
        try:
            return f"killed by {signal.Signals(signum).name}"
        except ValueError:
            pass
    return f"exit code {code}"


class IrcdSupervisor:
    """Watches ``ircd`` (a started, non-external server) and replaces it when it dies."""

    def __init__(self, cfg: Config, ircd: Ircd, report: Callable[[str], None], *,
                 first_delay: float = FIRST_DELAY, max_delay: float = MAX_DELAY):
        self.config = cfg
        self.ircd = ircd
        self.report = report
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.restarts = 0

    async def watch(self) -> None:
        """Run until cancelled; raises BreakroomError when the server cannot be brought back."""
        while True:
            await asyncio.sleep(POLL)
            proc = self.ircd.proc
            if proc is None or proc.poll() is None:
                continue
            self.ircd.stop()  # reaps it and clears its pid file
            self.report(f"the ircd ({self.ircd.mode}) died ({describe_exit(proc.returncode)}); "
                        "restarting it")
            await self._restart()

    async def _restart(self) -> None:
        loop = asyncio.get_running_loop()
        limit = max(1, self.config.ircd.max_restarts)
        for failures in range(limit):
            await asyncio.sleep(min(self.max_delay, self.first_delay * 2 ** failures))
            try:
                self.ircd = await loop.run_in_executor(None, start_ircd, self.config)
            except BreakroomError as exc:
                self.report(f"restarting the ircd failed ({failures + 1} of {limit}): {exc}")
                last = exc
                continue
            self.restarts += 1
            self.report(f"the ircd is back on {self.ircd.host}:{self.ircd.port} "
                        f"(restart {self.restarts}); the bots are reconnecting")
            return
        raise BreakroomError(f"the ircd died and could not be restarted ({limit} attempts; "
                             f"last: {last})")
