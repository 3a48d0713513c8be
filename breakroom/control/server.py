"""The control socket's server, in the running breakroom: requests dispatched by ``op`` to
the handlers the application registers (:mod:`breakroom.app.session_ops`, the bots).

Who asks is taken from the kernel: the peer's uid and pid (``SO_PEERCRED``) at connect.
Another uid is refused here; which session the pid may act as is decided by the ``identify``
function the application hands the server (:func:`breakroom.fleet.identity.acting_session`
in a running breakroom: a process inside a pane acts as that pane's session whatever its
request says, only a process outside every pane may name one).  Handlers see the checked
``request["session"]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from breakroom.config import Config
from breakroom.control.client import Identify, Message, listening, socket_path
from breakroom.errors import BreakroomError
from breakroom.private import private_dir

Handler = Callable[[Message], Awaitable[Message]]
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




class ControlServer:
    """Dispatches requests by their ``op`` to handlers registered with :meth:`handle`."""

    def __init__(self, cfg: Config, identify: Identify):
        self.path = socket_path(cfg.data_path)
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
            if listening(self.path):
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
            caller = await asyncio.to_thread(self.identify, peer.pid, str(request.get("session") or ""),
                                             str(request.get("pane") or ""))
        except BreakroomError as exc:
            return {"error": str(exc)}
        request["session"] = caller.session
        request.pop("pane", None)
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


