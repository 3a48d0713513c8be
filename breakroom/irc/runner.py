"""Run the breakroom in the foreground until Ctrl-C or SIGTERM, and clean up after it."""

from __future__ import annotations

import asyncio
import signal
from typing import Callable, Iterable

from breakroom.irc.runtime import SERVICE_BOTS, Breakroom
from breakroom.config import Config
from breakroom.irc.ircd import Ircd, start_ircd
from breakroom.irc.roles import Role, role_for
from breakroom.secrets import fill_secrets


async def _serve(app: Breakroom, services: Iterable[str], ready: Callable[[Breakroom], None] | None,
                 stop: asyncio.Event, role: Role) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start(services if role.service_bots else (), sessions=role.sessions,
                    report=role.reports)
    if ready is not None:
        ready(app)
    try:
        await stop.wait()
    finally:
        await app.stop()


def run(cfg: Config, *, services: Iterable[str] = tuple(SERVICE_BOTS),
        ready: Callable[[Breakroom], None] | None = None, role: str = "all") -> None:
    """ircd (unless external) + bots + control socket, until a signal arrives; ``role``
    (see :mod:`breakroom.irc.roles`) says which of them this machine runs."""
    plays = role_for(cfg, role)
    fill_secrets(cfg)
    ircd: Ircd = start_ircd(cfg)
    try:
        app = Breakroom(cfg)
        asyncio.run(_serve(app, services, ready, asyncio.Event(), plays))
    finally:
        ircd.stop()


def serve_ircd_only(cfg: Config, ready: Callable[[Ircd], None] | None = None) -> None:
    """Just the server, for people who run their bots elsewhere (``breakroom ircd``)."""
    fill_secrets(cfg)
    ircd = start_ircd(cfg)
    try:
        if ready is not None:
            ready(ircd)
        asyncio.run(_wait_for_exit(ircd))
    finally:
        ircd.stop()


async def _wait_for_exit(ircd: Ircd) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set() and ircd.proc is not None and ircd.proc.poll() is None:
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except asyncio.TimeoutError:
            pass
