"""Agent screens on demand: fixture screens shown by a plain program in real tmux panes,
so only the screen decides a session's state."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import libtmux

from breakroom.fleet.screens import read_screen
from breakroom.paths import SCREEN_CORPUS
from support.wait import wait_until

PANES = SCREEN_CORPUS / "claude-code"


def screen(name: str) -> str:
    """A Claude Code screen of the corpus, without its front matter."""
    return read_screen(PANES / name).text


PLAYER = """
import sys, time
for i, path in enumerate(sys.argv[1:]):
    if i:
        sys.stdin.readline()
        sys.stdout.write("\\x1b[H\\x1b[2J")
    sys.stdout.write(open(path, encoding="utf-8").read())
    sys.stdout.flush()
time.sleep(3600)
"""


class Fleet:
    """Sessions on a private tmux server, each showing agent screens one after another
    (Enter moves to the next).  The pane's process is a plain program, neither a shell
    nor an agent, so only the screen decides the state."""

    def __init__(self, socket: str, tmp_path: Path):
        self.socket = socket
        self.dir = tmp_path / "screens"
        self.dir.mkdir(exist_ok=True)
        self.player = self.dir / "player.py"
        self.player.write_text(PLAYER)
        self.server = libtmux.Server(socket_name=socket)

    def show(self, name: str, *screens: str) -> None:
        paths = []
        for i, text in enumerate(screens):
            path = self.dir / f"{name}.{i}"
            path.write_text(text, encoding="utf-8")
            paths.append(str(path))
        self.server.new_session(session_name=name, x=100, y=30,
                                window_command=shlex.join([sys.executable, str(self.player), *paths]))
        # a test that kills its last session and shows another must not meet a server on its
        # way out ("server exited unexpectedly"); the fixture kills the server at the end
        self.server.cmd("set-option", "-s", "exit-empty", "off")
        self.wait_for(name, screens[0].strip().splitlines()[-1].strip())

    def advance(self, name: str, expect: str) -> None:
        self.server.sessions.get(session_name=name).active_pane.send_keys("", enter=True)
        self.wait_for(name, expect)

    def wait_for(self, name: str, needle: str) -> None:
        def shown() -> bool:
            pane = self.server.sessions.get(session_name=name).active_pane
            return needle in "\n".join(pane.capture_pane())
        wait_until(shown, 5, f"{needle!r} in {name}")
