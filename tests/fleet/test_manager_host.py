"""The fleet engine without IRC: SessionManager and Deliveries driven through the FleetHost interface.

Real tmux (a sim agent on a private server) and real SQLite; the IRC side is a small host
that keeps what the manager asks of it, which is all the engine may ask of IRC.
"""

from __future__ import annotations

import asyncio

import pytest

from breakroom.config import from_dict
from breakroom.fleet import inbox
from breakroom.fleet.delivery import Deliveries
from breakroom.fleet.holds import Holds
from breakroom.fleet.host import FleetHost
from breakroom.fleet.manager import SessionManager
from breakroom.fleet.tmux import Tmux
from breakroom.record.db import open_db
from breakroom.sanitize import sanitize
from support.app import write_config
from support.kept_host import KeptHost
from support.sims import QUIET_SCRIPT, pane_text
from support.wait import wait_until_async


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
        deliveries = Deliveries(fleet_host, manager, tmux, Holds(host.db))
        await manager.start()
        try:
            assert host.bots == {"b": "b"}
            await wait_until_async(lambda: [s.state for s in manager.status()] == ["idle"], 15, "b idle")
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
