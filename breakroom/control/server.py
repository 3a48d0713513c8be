"""The control socket's server, in the running breakroom: requests dispatched by ``op`` to
the handlers the application registers (:mod:`breakroom.app.session_ops`, the bots).

Who asks is taken from the kernel: the peer's uid and pid (``SO_PEERCRED``) at connect.
Another uid is refused here; which session the pid may act as, and whether it may ask for
the operation at all, is decided by the ``identify`` function the application hands the
server (:func:`breakroom.fleet.identity.identify_callers` in a running breakroom: a process
inside a pane acts as that pane's session whatever its request says; outside every pane only
a person's terminal may name one, and a hook report is refused).  Handlers see the checked
``request["session"]``.

A request carrying ``"wait": SECONDS`` is one the client waits on for long (a permission
prompt's hook waits for an operator's answer): when the client goes away first, its handler
is cancelled.  A client must keep its end open until it has the answer.

An answer that hands something over (a hook's queued messages) is a :class:`Handover`: it
counts only once the client sends back :data:`~breakroom.control.client.RECEIPT` after it;
a client that gave up waiting (a hook has about a second, less on a loaded machine) or
died never does, and what it was handed is given back.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from breakroom.config import Config
from breakroom.control.client import RECEIPT, Identify, Message, listening, socket_path
from breakroom.errors import BreakroomError
from breakroom.private import private_dir

MAX_REQUEST = 1 << 20
RECEIPT_WAIT = 10.0  # seconds a client has to confirm a Handover (an agent kills a hook by then)
_UCRED = struct.Struct("3i")


@dataclass(frozen=True)
class Handover:
    """An answer that hands something over: ``kept`` once the client confirms it has the
    answer, ``lost`` when it never does; exactly one of them is called."""

    answer: Message
    kept: Callable[[], None]
    lost: Callable[[], None]


Handler = Callable[[Message], Awaitable[Message | Handover]]


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
        answer: asyncio.Future[Message | Handover] | None = None
        handover: Handover | None = None
        try:
            request = _parse(await reader.readline())
            answer = asyncio.ensure_future(self._identified(writer.get_extra_info("socket"), request))
            if request.get("wait") and await _left_first(reader, answer):
                return
            reply = await answer
            if isinstance(reply, Handover):
                handover, reply = reply, reply.answer
            writer.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
            await writer.drain()
            if handover is not None:
                receipt = await asyncio.wait_for(reader.readline(), RECEIPT_WAIT)
                if receipt == RECEIPT:
                    kept = handover.kept
                    handover = None   # confirmed: never lost, whatever happens next
                    kept()
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            pass
        finally:
            if answer is not None and not answer.done():
                answer.cancel()  # the client is gone: so is what it waited for
                await asyncio.gather(answer, return_exceptions=True)
            if handover is not None:
                handover.lost()
            writer.close()

    async def _identified(self, sock: socket.socket, request: Message) -> Message | Handover:
        """Settle who sent the request before any handler sees it."""
        peer = peer_of(sock)
        if peer.uid != os.getuid():
            return {"error": f"refused: uid {peer.uid} is not the breakroom's user"}
        if not request:
            return {"error": "malformed request"}
        try:
            caller = await asyncio.to_thread(self.identify, peer.pid, str(request.get("session") or ""),
                                             str(request.get("pane") or ""), str(request.get("op") or ""))
        except BreakroomError as exc:
            return {"error": str(exc)}
        request["session"] = caller.session
        request.pop("pane", None)
        if caller.in_pane:
            request.pop("as", None)  # a pane speaks through its own bot, never another's
        return await self._dispatch(request)

    async def _dispatch(self, request: Message) -> Message | Handover:
        handler = self.handlers.get(request.get("op", ""))
        if handler is None:
            return {"error": f"unknown operation {request.get('op')!r}"}
        try:
            return await handler(request)
        except BreakroomError as exc:
            return {"error": str(exc)}


async def _left_first(reader: asyncio.StreamReader, answer: asyncio.Future[Any]) -> bool:
    """Wait for ``answer`` or for the client to close its end, whichever comes first;
    True when the client left before its answer was ready."""
    gone = asyncio.ensure_future(reader.read(1))
    try:
        while not answer.done():
            either: set[asyncio.Future[Any]] = {answer, gone}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if gone.done() and not answer.done():
                if gone.exception() is not None or gone.result() == b"":
                    return True
                gone = asyncio.ensure_future(reader.read(1))  # stray bytes: still there
        return False
    finally:
        gone.cancel()


def _parse(line: bytes) -> Message:
    """The request's JSON object; {} when it is not one (answered as malformed)."""
    try:
        request = json.loads(line)
    except ValueError:
        return {}
    return request if isinstance(request, dict) else {}
