"""A breakroom on its own event loop in a background thread.

For tests and benchmarks, which need the running breakroom *and* a free main thread to
play the humans and agents against it.  (``breakroom up`` runs in the foreground instead.)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from breakroom.app.runtime import Breakroom
from breakroom.config import Config


class BackgroundBreakroom:
    """Start with :meth:`start`, which returns once every bot is in the channel."""

    def __init__(self, cfg: Config, services: Iterable[str]):
        self.config = cfg
        self.app = Breakroom(cfg)
        self.services = tuple(services)
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._started.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        await self.app.start(self.services)
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.app.stop()
            await _cancel_the_rest()

    def start(self, timeout: float = 20.0) -> BackgroundBreakroom:
        self.thread.start()
        try:
            self._started.wait(timeout)
            if self._error:
                raise self._error
            self.wait_until(lambda: all(b.in_channel for b in self.app.bots.values()), timeout,
                            "every bot joined the channel")
        except BaseException:
            self.stop()
            raise
        return self

    def call(self, coro: Any, timeout: float = 20.0) -> Any:
        """Run a coroutine on the breakroom's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
        """Poll ``predicate`` until it is truthy; AssertionError naming ``what`` on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what or predicate}")

    def stop(self) -> None:
        if self._stop is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
            self.thread.join(15)
        if not self.loop.is_closed() and not self.thread.is_alive():
            self.loop.close()

    def __enter__(self) -> BackgroundBreakroom:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _cancel_the_rest() -> None:
    """Cancel what the bots left running (a handler still waiting to type, say), as
    ``asyncio.run`` does for ``breakroom up``: the loop closes with nothing pending."""
    rest = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in rest:
        task.cancel()
    await asyncio.gather(*rest, return_exceptions=True)

