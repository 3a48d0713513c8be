"""The control socket's server: the kernel's word on who is at the other end (``SO_PEERCRED``),
and another uid refused by the socket's mode and, loosened by hand, by the server itself."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from breakroom.config import from_dict
from breakroom.control.client import Caller
from breakroom.control.server import ControlServer, peer_of
from support.control import serving


@pytest.mark.skipif(os.getuid() != 0, reason="switching uid needs root (CI runs as root)")
def test_another_uid_is_refused() -> None:
    # outside pytest's 0700 folders, so that only the modes set here decide what uid 65534 reaches
    data = Path(tempfile.mkdtemp(prefix="br-uid-", dir="/tmp"))
    try:
        server = ControlServer(from_dict({"data_dir": str(data)}),
                               lambda pid, session, pane, op: Caller(session or None, in_pane=False))

        @server.handle("fleet")
        async def fleet(request: dict) -> dict:
            return {"ok": True, "sessions": []}

        def as_nobody(path: str) -> str:
            child = subprocess.run(
                [sys.executable, "-c", (
                    "import os, socket, sys\n"
                    "os.setgid(65534); os.setuid(65534)\n"
                    "s = socket.socket(socket.AF_UNIX)\n"
                    "try:\n    s.connect(sys.argv[1])\n"
                    "except OSError as e:\n    print('cannot connect:', e.strerror); sys.exit()\n"
                    "s.sendall(b'{\"op\": \"fleet\"}\\n'); print(s.makefile().readline())\n"),
                 path], check=False, capture_output=True, text=True, timeout=10)
            return child.stdout + child.stderr

        with serving(server):
            os.chmod(data, 0o755)
            # the socket is 0600: the kernel stops another uid at connect
            assert "cannot connect: Permission denied" in as_nobody(str(server.path))
            # loosened by hand, the breakroom still refuses by the peer's uid
            os.chmod(server.path, 0o666)
            answer = as_nobody(str(server.path))
            assert "refused: uid 65534" in answer and "sessions" not in answer
    finally:
        shutil.rmtree(data, ignore_errors=True)


def test_peer_credentials_of_a_socket_pair() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        peer = peer_of(left)
    assert (peer.pid, peer.uid, peer.gid) == (os.getpid(), os.getuid(), os.getgid())
