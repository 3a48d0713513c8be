"""The fleet engine without IRC: SessionManager and Deliveries driven through the FleetHost interface.

Real tmux (a sim agent on a private server) and real SQLite; the IRC side is a small host
that keeps what the manager asks of it, which is all the engine may ask of IRC.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
import sqlite_utils

from breakroom.config import Config, from_dict
from breakroom.fleet import inbox
from breakroom.fleet.delivery import Deliveries
from breakroom.fleet.host import FleetHost
from breakroom.fleet.manager import SessionManager
from breakroom.fleet.tmux import Tmux
from breakroom.record.db import open_db
from breakroom.sanitize import sanitize
from support.app import write_config
from support.sims import QUIET_SCRIPT, pane_text

T = TypeVar("T")


class KeptHost:
    """A FleetHost with no IRC behind it: session bots are names, what they say is kept."""

    def __init__(self, config: Config, db: sqlite_utils.Database) -> None:
        self.config = config
        self.db = db
        self.channel = config.channel
        self.bots: dict[str, str] = {}       # key -> session
        self.left: list[tuple[str, str]] = []
        self.said: list[tuple[str, str, str, bool]] = []

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def join_session(self, key: str, session: str) -> None:
        self.bots[key] = session

    async def leave_session(self, key: str, reason: str) -> None:
        self.bots.pop(key, None)
        self.left.append((key, reason))

    def nick_now(self, key: str) -> str | None:
        return key if key in self.bots else None

    def say(self, key: str, target: str, text: str, *, notice: bool = False) -> None:
        if key in self.bots:
            self.said.append((key, target, text, notice))


async def _until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(60)
def test_the_manager_delivers_and_reports_through_its_host(sims, tmux_socket, tmp_path):
    config = from_dict({"data_dir": str(tmp_path / "data"),
                        "tmux": {"socket_name": tmux_socket, "poll_interval": 0.2},
                        "sessions": {"b": {"agent": "sim"}}, "delivery": {"enter_delay": 0.1}})
    write_config(tmp_path / "breakroom.yaml", config)
    sims("b", QUIET_SCRIPT)
    host = KeptHost(config, open_db(tmp_path / "data" / "breakroom.db"))
    fleet_host: FleetHost = host  # the stand-in is a FleetHost as far as mypy is concerned

    async def scenario() -> None:
        tmux = Tmux(tmux_socket)
        manager = SessionManager(fleet_host, tmux)
        deliveries = Deliveries(fleet_host, manager, tmux)
        await manager.start()
        try:
            assert host.bots == {"b": "b"}
            await _until(lambda: [s.state for s in manager.status()] == ["idle"], 15, "b idle")
            delivery = await deliveries.receive("b", "alice", sanitize("please rebase"),
                                                automated=False)
            assert delivery is not None and delivery.status == "delivered"
            assert ("b", "alice", f"delivered #{delivery.id} to b", True) in host.said
            assert "please rebase" in pane_text(tmux_socket, "b")
            message = inbox.get(host.db, delivery.id)
            assert message is not None and message.state == inbox.DELIVERED
        finally:
            await manager.stop()
            await deliveries.stop()

    asyncio.run(scenario())
