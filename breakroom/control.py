"""The control socket: how a session's own CLI calls reach the running breakroom.

A Unix socket in the data dir, mode 0600 (only the fleet's user can speak as its
sessions).  One JSON request per connection, one JSON response back.

Who asks is taken from the kernel: the peer's uid and pid (``SO_PEERCRED``) at connect.
Another uid is refused here; which session the pid may act as is decided by the ``identify``
function the application hands the server (:func:`breakroom.fleet.identity.acting_session`
in a running breakroom: a process inside a pane acts as that pane's session whatever its
request says, only a process outside every pane may name one).  Handlers see the checked
``request["session"]``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import struct
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from breakroom.config import Config
from breakroom.errors import BreakroomError
from breakroom.private import private_dir

Message = dict[str, Any]  # one JSON object, a request or its response
Handler = Callable[[Message], Awaitable[Message]]
SOCKET_NAME = "control.sock"
MAX_REQUEST = 1 << 20
_UCRED = struct.Struct("3i")


@dataclass(frozen=True)
class Peer:
    """The process at the other end of a Unix socket, as the kernel recorded it at connect."""

    pid: int
    uid: int
    gid: int


def peer_of(sock: socket.socket) -> Peer:
    """``SO_PEERCRED`` of a connected Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return Peer(pid=pid, uid=uid, gid=gid)


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: the session it may act as (None: none), and whether it runs
    inside a pane of the fleet (then it speaks only through its own session's bot)."""

    session: str | None
    in_pane: bool


# (peer pid, the session the request names) -> the caller; BreakroomError refuses it.
# Blocking (it reads /proc and asks tmux): the server runs it in a thread.
Identify = Callable[[int, str], Caller]


def socket_path(cfg: Config) -> Path:
    """The socket's path; a short one under /tmp when the data dir's is too long for AF_UNIX."""
    path = cfg.data_path.resolve() / SOCKET_NAME
    if len(str(path).encode()) < 100:
        return path
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"breakroom-{digest}.sock"


class ControlServer:
    """Dispatches requests by their ``op`` to handlers registered with :meth:`handle`."""

    def __init__(self, cfg: Config, identify: Identify):
        self.path = socket_path(cfg)
        self.identify = identify
        self.handlers: dict[str, Handler] = {}
        self._server: asyncio.AbstractServer | None = None

    def handle(self, op: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.handlers[op] = fn
            return fn
        return register

    async def start(self) -> None:
        private_dir(self.path.parent)
        if self.path.exists():
            if _listening(self.path):
                raise BreakroomError(f"a breakroom is already running on {self.path}")
            self.path.unlink()
        old_umask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path),
                                                           limit=MAX_REQUEST)
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self.path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            response = await self._identified(writer.get_extra_info("socket"), line)
            writer.write(json.dumps(response, ensure_ascii=False).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    async def _identified(self, sock: socket.socket, line: bytes) -> Message:
        """Parse the request and settle who sent it before any handler sees it."""
        peer = peer_of(sock)
        if peer.uid != os.getuid():
            return {"error": f"refused: uid {peer.uid} is not the breakroom's user"}
        try:
            request = json.loads(line)
        except ValueError:
            return {"error": "malformed request"}
        if not isinstance(request, dict):
            return {"error": "malformed request"}
        try:
            caller = await asyncio.to_thread(self.identify, peer.pid, str(request.get("session") or ""))
        except BreakroomError as exc:
            return {"error": str(exc)}
        request["session"] = caller.session
        if caller.in_pane:
            request.pop("as", None)  # a pane speaks through its own bot, never another's
        return await self._dispatch(request)

    async def _dispatch(self, request: Message) -> Message:
        handler = self.handlers.get(request.get("op", ""))
        if handler is None:
            return {"error": f"unknown operation {request.get('op')!r}"}
        try:
            return await handler(request)
        except BreakroomError as exc:
            return {"error": str(exc)}


def _listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def request(cfg: Config, payload: Message, *, timeout: float = 10.0) -> Message:
    """Send one request to the running breakroom and return its response.

    Raises BreakroomError when the breakroom is not running, does not answer in time,
    or answers with an error."""
    path = socket_path(cfg)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise BreakroomError(f"the breakroom is not running (no control socket at {path}; "
                                 "start it with `breakroom up`)") from None
        except OSError as exc:
            raise BreakroomError(f"cannot reach the breakroom at {path}: {exc}") from None
        try:
            sock.sendall(json.dumps(payload, ensure_ascii=False).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            raise BreakroomError(f"the breakroom did not answer within {timeout:g}s") from None
    try:
        response = json.loads(data)
    except ValueError:
        raise BreakroomError("the breakroom sent a malformed answer") from None
    if not isinstance(response, dict):
        raise BreakroomError("the breakroom sent a malformed answer")
    if "error" in response:
        raise BreakroomError(response["error"])
    return response
