"""A control server (:class:`breakroom.control.server.ControlServer`) listening on its own event
loop in a thread, with the handlers a test registers: a stand-in for a running breakroom's."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from breakroom.control.server import ControlServer


@contextmanager
def serving(server: ControlServer) -> Iterator[ControlServer]:
    """``server`` answers on its socket for the length of the ``with`` block."""
    loop = asyncio.new_event_loop()
    loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(server.stop())
        loop.close()
