"""The live page of a running breakroom: the last 24 hours, served on ``web.host:web.port``.

A few lines of HTTP on the breakroom's own asyncio loop (no framework: one page, GET and
HEAD only).  The page is built in a worker thread on a database connection of its own, at
most once per half ``web.refresh`` however many tabs ask, and reloads itself every
``web.refresh`` seconds (a ``<meta>`` refresh: the page runs no script).

It is read-only and shows only what ``breakroom report`` would write, scrubbed and escaped.
Bound to loopback (the default), it answers only requests that name a loopback host, so a
web page elsewhere cannot read it through DNS rebinding.  A taken ``web.port`` is not fatal:
the page moves to a free port, says so in the log, and ``breakroom info`` prints where.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from breakroom.config import Config
from breakroom.errors import BreakroomError
from breakroom.record.db import db_path, open_db
from breakroom.report.gather import DayReport
from breakroom.report.page import build_page
from breakroom.report.window import DAY, Window

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger("breakroom")
RunBlocking = Callable[..., Awaitable[Any]]

HEAD_LIMIT = 16 * 1024
READ_TIMEOUT = 10.0
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


class PageServer:
    """Start with :meth:`start` (binds only when ``web.port`` is set); :meth:`current` builds
    the page for anyone who needs it (the morning line too), served or not."""

    def __init__(self, config: Config, run_blocking: RunBlocking):
        self.config = config
        self._run_blocking = run_blocking
        self._server: asyncio.Server | None = None
        self._db: sqlite_utils.Database | None = None  # the worker thread's own connection
        self._db_lock = threading.Lock()
        self._build_lock = asyncio.Lock()
        self._built: tuple[float, DayReport, bytes] | None = None
        self.url: str | None = None
        self.served = 0  # pages answered: a browser reloading the page shows here

    # ------------------------------------------------------------ the page

    async def current(self) -> tuple[DayReport, bytes]:
        """The page of the last 24 hours, rebuilt when older than half ``web.refresh``."""
        async with self._build_lock:
            fresh = self.config.web.refresh / 2
            if self._built is None or time.monotonic() - self._built[0] >= fresh:
                report, html = await self._run_blocking(self._build)
                self._built = (time.monotonic(), report, html)
            return self._built[1], self._built[2]

    def _build(self) -> tuple[DayReport, bytes]:
        with self._db_lock:
            if self._db is None:
                self._db = open_db(db_path(self.config.data_path))
            report, html = build_page(self._db, self.config, Window.last(DAY),
                                      refresh=self.config.web.refresh)
        return report, html.encode("utf-8")

    # ------------------------------------------------------------ serving

    async def start(self) -> None:
        web = self.config.web
        if web.port is None:
            return
        try:
            self._server = await asyncio.start_server(self._serve, web.host, web.port,
                                                      limit=HEAD_LIMIT)
        except OSError as exc:
            if web.port == 0 or exc.errno != errno.EADDRINUSE:
                raise BreakroomError(f"web: cannot serve the page on {web.host}:{web.port}: "
                                     f"{exc.strerror or exc}") from None
            self._server = await asyncio.start_server(self._serve, web.host, 0, limit=HEAD_LIMIT)
            log.warning("web.port %d is taken; the page is on port %d instead (breakroom info "
                        "prints it)", web.port, self._bound_port())
        host = f"[{web.host}]" if ":" in web.host else web.host
        self.url = f"http://{host}:{self._bound_port()}/"
        log.info("the fleet's page: %s", self.url)

    def _bound_port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            self.url = None
        with self._db_lock:
            if self._db is not None:
                self._db.conn.close()
                self._db = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            text = head.decode("latin-1")
            status, extra, body = await self._answer(text)
            writer.write(_response(status, extra, b"" if text.startswith("HEAD ") else body,
                                   len(body)))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            pass  # a client that went away or sent nonsense: nothing to answer
        finally:
            writer.close()

    async def _answer(self, head: str) -> tuple[str, dict[str, str], bytes]:
        request_line, *lines = head.split("\r\n")
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return "400 Bad Request", {}, b"bad request\n"
        method, target, _ = parts
        headers = {name.strip().lower(): value.strip()
                   for name, _, value in (line.partition(":") for line in lines if line)}
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", {"Allow": "GET, HEAD"}, b"the page is read-only\n"
        if not self._host_allowed(headers.get("host", "")):
            return "403 Forbidden", {}, b"ask for this page by a loopback address\n"
        if target.split("?", 1)[0] not in ("/", "/index.html"):
            return "404 Not Found", {}, b"the page is at /\n"
        _, page = await self.current()
        self.served += 1
        return "200 OK", {"Content-Type": "text/html; charset=utf-8",
                          "Content-Security-Policy": POLICY}, page

    def _host_allowed(self, host: str) -> bool:
        """On loopback, only a loopback name: a rebinding attacker's name is refused."""
        if not ipaddress.ip_address(self.config.web.host).is_loopback:
            return True
        name = host.split("]", 1)[0] + "]" if host.startswith("[") else host.split(":", 1)[0]
        return name.lower() in LOOPBACK_NAMES


def _response(status: str, extra: dict[str, str], body: bytes, length: int) -> bytes:
    """``length``: the body's, also for HEAD, which sends none."""
    headers = {"Content-Type": "text/plain; charset=utf-8", **extra,
               "Content-Length": str(length), "Cache-Control": "no-store",
               "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
               "X-Frame-Options": "DENY", "Connection": "close"}
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1") + body
