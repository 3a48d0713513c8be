"""The one adapter between Breakroom and tmux: a typed handle on one tmux server.

Every tmux command the engine runs goes through :meth:`Tmux.run`, one process per call, so
the cost of a poll is visible (and countable: :attr:`Tmux.invocations`).  The raw runner is
used rather than libtmux's ``Server.cmd`` because the engine needs what libtmux does not
give: stdin for ``load-buffer``, and one invocation carrying many ``;``-joined commands —
the batched capture (:mod:`breakroom.fleet.capture`), measured 5–13× faster than a
process per pane (``bench/sweep_walk.py``).  Where libtmux serves — creating, renaming and
killing sessions in the demo and the tests — :attr:`Tmux.server` hands out its ``Server``
for the same socket.

A server is named either by socket name (``tmux -L``, the breakroom's config) or by socket
path (``tmux -S``, what ``$TMUX`` gives a process running inside a session).
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # libtmux is imported lazily: light CLI commands must start fast
    import libtmux

TIMEOUT = 10.0  # seconds one tmux command may take before it counts as failed


@dataclass(frozen=True)
class TmuxResult:
    """What one tmux invocation returned (``returncode`` -1: tmux could not be run)."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def lines(self) -> list[str]:
        """stdout as lines, without the trailing empty ones."""
        lines = self.stdout.split("\n")
        while lines and not lines[-1]:
            lines.pop()
        return lines

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.split("\n") if line]


class Tmux:
    """One tmux server: ``Tmux("br-test")`` (``-L``), ``Tmux(socket_path=…)`` (``-S``), or
    ``Tmux()`` for the user's default server."""

    def __init__(self, socket_name: str | None = None, *, socket_path: str | None = None,
                 timeout: float = TIMEOUT) -> None:
        if socket_name and socket_path:
            raise ValueError("a tmux server is named by socket name or by socket path, not both")
        self.socket_name = socket_name or None
        self.socket_path = socket_path or None
        self.timeout = timeout
        self.invocations = 0  # tmux processes started through this handle
        self._count_lock = threading.Lock()

    def __repr__(self) -> str:
        where = f"-L {self.socket_name}" if self.socket_name else \
            f"-S {self.socket_path}" if self.socket_path else "default"
        return f"Tmux({where})"

    def argv(self, *args: str) -> list[str]:
        """The command line for ``args`` on this server."""
        if self.socket_name:
            return ["tmux", "-L", self.socket_name, *args]
        if self.socket_path:
            return ["tmux", "-S", self.socket_path, *args]
        return ["tmux", *args]

    def run(self, *args: str, stdin: bytes | None = None) -> TmuxResult:
        """Run one tmux invocation (which may carry several ``;``-separated commands)."""
        with self._count_lock:
            self.invocations += 1
        try:
            done = subprocess.run(self.argv(*args), input=stdin, capture_output=True, check=False,
                                  timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return TmuxResult(-1, "", f"tmux failed: {exc}")
        return TmuxResult(done.returncode, done.stdout.decode("utf-8", errors="replace"),
                          done.stderr.decode("utf-8", errors="replace"))

    def display(self, fmt: str, target: str | None = None) -> str | None:
        """A format (``#{session_name}``) expanded for ``target``; None when it failed."""
        args = ["display-message", "-p"] + (["-t", target] if target else []) + [fmt]
        result = self.run(*args)
        return result.stdout.strip() if result.ok else None

    def list_sessions(self) -> list[str]:
        """Names of the server's sessions (empty when no server is running)."""
        result = self.run("list-sessions", "-F", "#{session_name}")
        return [name for name in result.lines if name] if result.ok else []

    def kill_server(self) -> None:
        """Stop this private server and remove its socket file, which tmux leaves behind in
        ``/tmp/tmux-UID/`` — one per server the demo or a test ever started.  Never the
        user's default server."""
        if not (self.socket_name or self.socket_path):
            raise ValueError("refusing to kill the user's default tmux server")
        base = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        socket = Path(self.socket_path) if self.socket_path else base / str(self.socket_name)
        self.run("kill-server")
        socket.unlink(missing_ok=True)

    @property
    def server(self) -> libtmux.Server:
        """libtmux's handle on the same server, for creating and managing sessions."""
        import libtmux

        if self.socket_name:
            return libtmux.Server(socket_name=self.socket_name)
        if self.socket_path:
            return libtmux.Server(socket_path=self.socket_path)
        return libtmux.Server()


def no_server(result: TmuxResult) -> bool:
    """True when the invocation failed because no server runs on the socket."""
    return "no server running" in result.stderr or "error connecting to" in result.stderr
