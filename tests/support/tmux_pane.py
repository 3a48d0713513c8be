"""Driving a real program in a private tmux server: start it as the pane's command, read the
screen, type, and wait for a screen (polling with a deadline, never a fixed sleep).  The real
agent CLIs' helpers (:mod:`claude_code`, :mod:`support.gemini_cli`, :mod:`support.aider_cli`)
start their programs through :func:`start_in_tmux`."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from support.wait import wait_value


def start_in_tmux(socket: str, session: str, workdir: Path, argv: Sequence[str], env: dict[str, str], *,
                  path: Sequence[str] = (), width: int = 120, height: int = 40,
                  via_shell: bool = False) -> None:
    """Start ``argv`` as the pane's command (``exec``, so the pane command names it) in a
    detached session, in ``workdir`` with ``env`` and ``path`` before the inherited PATH.

    ``via_shell``: the pane runs an interactive bash that is typed ``argv``, as a user starts
    an agent; when the agent ends, that shell's prompt is back (the pane reads *exited*)."""
    workdir.mkdir(parents=True, exist_ok=True)
    search = os.pathsep.join([*path, os.environ.get("PATH", "")])
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in {**env, "PATH": search, "PS1": "$ "}.items())
    program = "bash --norc --noprofile" if via_shell else shlex.join(argv)
    command = f"cd {shlex.quote(str(workdir))} && exec env {exports} {program}"
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", session, "-x", str(width),
                    "-y", str(height), command], check=True)
    if via_shell:
        wait_screen(socket, session, lambda screen: screen.rstrip().endswith("$"))
        keys(socket, session, shlex.join(argv), literal=True)
        keys(socket, session, "Enter")


def capture(socket: str, session: str) -> str:
    return subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", f"={session}:"],
                          capture_output=True, text=True, check=True).stdout


def pane_command(socket: str, session: str) -> str:
    return subprocess.run(["tmux", "-L", socket, "display-message", "-p", "-t", f"={session}:",
                           "#{pane_current_command}"], capture_output=True, text=True).stdout.strip()


def pane_pid(socket: str, session: str) -> int:
    """The pid of the pane's first process (what the breakroom walks down from)."""
    return int(subprocess.run(["tmux", "-L", socket, "display-message", "-p", "-t", f"={session}:",
                               "#{pane_pid}"], capture_output=True, text=True, check=True).stdout)


def wait_screen(socket: str, session: str, ok: Callable[[str], bool], timeout: float = 20.0) -> str:
    """Poll the pane until ``ok(screen)``; fails with the last screen."""
    return wait_value(lambda: capture(socket, session), ok, timeout, f"the expected screen in {session}",
                      poll=0.1)


def keys(socket: str, session: str, *keys: str, literal: bool = False) -> None:
    args = ["tmux", "-L", socket, "send-keys", "-t", f"={session}:", *(["-l"] if literal else []), *keys]
    subprocess.run(args, check=True)
