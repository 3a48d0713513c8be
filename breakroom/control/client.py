"""The control socket's client: how a session's own CLI calls reach the running breakroom.

A Unix socket in the data dir, mode 0600 (only the fleet's user can speak as its sessions).
One JSON request per connection, one JSON response back.  Who is asking is settled by the
server from the kernel (:mod:`breakroom.control.server`), never from what the request says.

This module is on the hot path of every agent's hook and ``breakroom say``: it imports the
standard library's socket and json only.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from breakroom.errors import BreakroomError

Message = dict[str, Any]  # one JSON object, a request or its response
RECEIPT = b"ok\n"  # after an answer: the client holds it (what it was handed is its now)
SOCKET_NAME = "control.sock"
NOT_IN_TMUX = "not inside a tmux session (use --as SESSION)"
MAX_SOCKET_PATH = 100  # AF_UNIX paths are at most 108 bytes


class Caller(NamedTuple):
    """Who a request comes from: the session it may act as (None: none), and whether it runs
    inside a pane of the fleet (then it speaks only through its own session's bot)."""

    session: str | None
    in_pane: bool


# (peer pid, the session the request names, the pane it names, its op) -> the caller;
# BreakroomError refuses it.  Blocking (it reads /proc and asks tmux): run in a thread.
Identify = Callable[[int, str, str, str], Caller]


class NotRunning(BreakroomError):
    """No breakroom answers on the control socket."""


def socket_path(data_path: Path) -> Path:
    """The socket's path; when the data dir's is too long for AF_UNIX, a short one in a
    private folder of the temp dir (of /tmp when even that is too long), named after the
    long path so every caller finds the same one."""
    path = data_path.expanduser().resolve() / SOCKET_NAME
    if len(str(path).encode()) < MAX_SOCKET_PATH:
        return path
    import hashlib
    import tempfile

    name = hashlib.sha1(str(path).encode()).hexdigest()[:16] + ".sock"
    short = [Path(base) / f"breakroom-{os.getuid()}" / name for base in (tempfile.gettempdir(), "/tmp")]
    return next((p for p in short if len(str(p).encode()) < MAX_SOCKET_PATH), short[-1])


def claim(explicit_session: str | None) -> dict[str, str]:
    """What a request says about who sends it: the session named with ``--as`` (if any) and
    the tmux pane ``$TMUX_PANE`` names.  Only a claim: the server takes the caller's pane
    from the kernel and refuses a claim that does not match it (a process in a pane whose
    environment was emptied, like an MCP server some agents start, is still known by it)."""
    return {"session": explicit_session or "", "pane": os.environ.get("TMUX_PANE", "")}


def request_as(data_path: Path, explicit_session: str | None, payload: Message, *,
               timeout: float = 10.0) -> Message:
    """:func:`request` on behalf of this session (see :func:`claim`).  With no breakroom to
    ask and nothing to claim, the caller hears first that it is outside tmux."""
    claims = claim(explicit_session)
    try:
        return request(data_path, {**payload, **claims}, timeout=timeout)
    except NotRunning:
        if not claims["session"] and not claims["pane"]:
            raise BreakroomError(NOT_IN_TMUX) from None
        raise


def say(data_path: Path, explicit_session: str | None, target: str, text: str) -> list[str]:
    """``breakroom say``: speak as this session's bot; the lines to print (what was said,
    and for a session of this breakroom how its delivery went)."""
    response = request_as(data_path, explicit_session, {"op": "say", "target": target, "text": text})
    lines = [f"{response['as']} -> {response['target']}: {response['text']}"]
    delivery = response.get("delivery")
    if delivery:
        reason = f": {delivery['reason']}" if delivery["reason"] else ""
        lines.append(f"{delivery['status']} #{delivery['id']}{reason}")
    return lines


def listening(path: Path) -> bool:
    """A breakroom answers on ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def request(data_path: Path, payload: Message, *, timeout: float = 10.0,
            on_answer: Callable[[Message], object] | None = None) -> Message:
    """Send one request to the breakroom running on ``data_path`` and return its response.

    ``on_answer`` is run with a good response before the connection closes, and then the
    server hears :data:`RECEIPT`: what the answer hands over (a hook's messages) is the
    caller's only once it has dealt with it; if it never gets that far, the server takes
    it back.  Raises BreakroomError when the breakroom is not running, does not answer in
    time, or answers with an error."""
    path = socket_path(data_path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            if path.stat().st_uid != os.getuid():  # what it is told goes to this user only
                raise BreakroomError(f"{path} belongs to another user; refusing to talk to it")
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunning(f"the breakroom is not running (no control socket at {path}; "
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
        response = _response(data)
        if on_answer is not None:
            on_answer(response)
            try:
                sock.sendall(RECEIPT)
            except OSError:
                pass  # the breakroom stopped meanwhile: nothing waits for the receipt
    return response


def _response(data: bytes) -> Message:
    try:
        response = json.loads(data)
    except ValueError:
        raise BreakroomError("the breakroom sent a malformed answer") from None
    if not isinstance(response, dict):
        raise BreakroomError("the breakroom sent a malformed answer")
    if "error" in response:
        raise BreakroomError(response["error"])
    return response
