"""Run the breakroom in the foreground until Ctrl-C or SIGTERM, and clean up after it."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterable
from typing import Any

from breakroom.app.roles import Role, role_for
from breakroom.app.runtime import SERVICE_BOTS, Breakroom
from breakroom.config import Config
from breakroom.irc.ircd import Ircd, start_ircd
from breakroom.irc.supervise import IrcdSupervisor
from breakroom.logs import setup_logging
from breakroom.private import tighten
from breakroom.secrets import fill_secrets

log = logging.getLogger("breakroom")


async def _serve(app: Breakroom, services: Iterable[str], ready: Callable[[Breakroom], None] | None,
                 stop: asyncio.Event, supervisor: IrcdSupervisor | None, role: Role) -> None:
    """Until a signal, or until the supervisor gives up on the ircd (its error propagates)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start(services if role.service_bots else (), sessions=role.sessions,
                    report=role.reports, page=role.service_bots)
    log.info("up: %d bots in %s", len(app.bots), app.config.channel)
    if ready is not None:
        ready(app)
    waits: list[asyncio.Task[Any]] = [loop.create_task(stop.wait())]
    if supervisor is not None:
        waits.append(loop.create_task(supervisor.watch()))
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # the supervisor's BreakroomError, if that is what ended it
    finally:
        for task in waits:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        await app.stop()


def run(cfg: Config, *, services: Iterable[str] = tuple(SERVICE_BOTS),
        ready: Callable[[Breakroom], None] | None = None, log_level: str = "info",
        role: str = "all") -> None:
    """ircd (unless external; restarted when it dies) + bots + control socket, until a
    signal arrives; ``role`` (see :mod:`breakroom.app.roles`) says which of them this
    machine runs."""
    plays = role_for(cfg, role)
    tighten(cfg.data_path)
    setup_logging(cfg.data_path, log_level)
    fill_secrets(cfg)
    ircd: Ircd = start_ircd(cfg)
    supervisor: IrcdSupervisor | None = None
    try:
        app = Breakroom(cfg)
        if ircd.proc is not None:
            supervisor = IrcdSupervisor(cfg, ircd, app.announce_trouble)
        asyncio.run(_serve(app, services, ready, asyncio.Event(), supervisor, plays))
    finally:
        (supervisor.ircd if supervisor is not None else ircd).stop()
        log.info("stopped")


def serve_ircd_only(cfg: Config, ready: Callable[[Ircd], None] | None = None,
                    log_level: str = "info") -> None:
    """Just the server, for people who run their bots elsewhere (``breakroom ircd``)."""
    tighten(cfg.data_path)
    setup_logging(cfg.data_path, log_level)
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
        except TimeoutError:
            pass
