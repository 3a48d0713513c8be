"""Simulated agents (``breakroom sim-agent``) in real tmux sessions, and what their panes show."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import libtmux
import yaml

from support.cli import BREAKROOM
from support.wait import wait_value

REPLY_SCRIPT = {
    "reactions": [{
        "on": r"^\[breakroom #\d+\] (?P<sender>[^:]+): (?P<text>.*?) \(reply:",
        "do": [{"run": BREAKROOM + " say {sender} got: {text}"}],
    }],
}
QUIET_SCRIPT = {"default": [{"say": "Noted."}]}


def pane_text(tmux_socket: str, session: str) -> str:
    """The session's pane, wrapped lines joined, with 500 lines of history."""
    out = subprocess.run(["tmux", "-L", tmux_socket, "capture-pane", "-p", "-J", "-S", "-500",
                          "-t", f"={session}:"], capture_output=True, text=True)
    return out.stdout


def wait_pane(tmux_socket: str, session: str, needle: str, timeout: float = 15.0) -> str:
    """The session's pane (as :func:`pane_text`) once it shows ``needle``; fails showing it."""
    return wait_value(lambda: pane_text(tmux_socket, session), lambda text: needle in text, timeout,
                      f"{needle!r} in {session}'s pane")


def sim_config(tmux_socket: str, **delivery: Any) -> dict[str, Any]:
    """Config overrides for two sim sessions ``a`` and ``b`` on a private tmux server."""
    return {"tmux": {"socket_name": tmux_socket, "poll_interval": 0.3},
            "sessions": {"a": {"agent": "sim", "project": "alpha"}, "b": {"agent": "sim"}},
            "delivery": {"enter_delay": 0.1, **delivery}}


def start_sim(tmux_socket: str, tmp_path: Path, name: str, script: dict[str, Any]) -> None:
    """Run ``breakroom sim-agent`` with ``script`` as the command of a new session ``name``."""
    tmux = libtmux.Server(socket_name=tmux_socket)
    env = {"BREAKROOM_CONFIG": str(tmp_path / "breakroom.yaml"), "HOME": os.environ["HOME"]}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(script))
    tmux.new_session(session_name=name, x=160, y=40, start_directory=str(tmp_path),
                     environment=env, window_command=f"{BREAKROOM} sim-agent --script {path}")
