"""A real ircd on a free port, and a plain-socket IRC client: what a human's irssi would
send and see."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from breakroom.config import Config, from_dict
from breakroom.irc.ircd import Ircd, free_port, start_ircd
from breakroom.secrets import fill_secrets

HAVE_NGIRCD = shutil.which("ngircd") is not None


@dataclass
class IrcServer:
    """A running ircd and the config that reaches it."""

    config: Config
    server: Ircd

    @property
    def host(self) -> str:
        return self.config.ircd.host

    @property
    def port(self) -> int:
        return self.config.ircd.port

    @property
    def password(self) -> str:
        return self.config.ircd.password

    @property
    def channel(self) -> str:
        return self.config.channel

    @property
    def key(self) -> str:
        return self.config.channel_key

    def restart(self, pause: float = 0.0) -> None:
        self.server.stop()
        time.sleep(pause)
        self.server = start_ircd(self.config)


def start_server(tmp_path: Path, mode: str) -> IrcServer:
    """An ircd of ``mode`` (ngircd, miniircd) on a free port, its data under ``tmp_path``."""
    cfg = fill_secrets(from_dict({"data_dir": str(tmp_path / f"ircd-{mode}"),
                                  "ircd": {"mode": mode, "port": free_port()}}))
    return IrcServer(cfg, start_ircd(cfg))


class RawClient:
    """A plain-socket IRC client: what a human's irssi would send and see."""

    def __init__(self, srv: IrcServer, nick: str, *, join: bool = True):
        self.nick = nick
        self.lines: list[str] = []
        self._cursor = 0
        self._lock = threading.Condition()
        self.sock = socket.create_connection((srv.host, srv.port), timeout=10)
        self._closed = False
        threading.Thread(target=self._read, daemon=True).start()
        self.send(f"PASS {srv.password}")
        self.send(f"NICK {nick}")
        self.send(f"USER {nick[:9]} 0 * :{nick}")
        self.wait_for(r" 001 ")
        if join:
            self.send(f"JOIN {srv.channel} {srv.key}")
            self.wait_for(rf" 366 {re.escape(nick)} ")

    def _read(self) -> None:
        buf = b""
        while not self._closed:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:  # the connect timeout also bounds recv: a quiet channel is no end
                continue
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            *complete, buf = buf.split(b"\r\n")
            for raw in complete:
                line = raw.decode("utf-8", errors="replace")
                if line.startswith("PING"):
                    self.send("PONG" + line[4:])
                with self._lock:
                    self.lines.append(line)
                    self._lock.notify_all()

    def send(self, line: str | bytes) -> None:
        data = line if isinstance(line, bytes) else line.encode()
        self.sock.sendall(data + b"\r\n")

    def say(self, target: str, text: str) -> None:
        self.send(f"PRIVMSG {target} :{text}")

    def wait_for(self, pattern: str, timeout: float = 10.0, *, since_start: bool = False) -> str:
        """The next line (after the last match) matching ``pattern``; fails on timeout."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._lock:
            if since_start:
                self._cursor = 0
            while True:
                for i in range(self._cursor, len(self.lines)):
                    if regex.search(self.lines[i]):
                        self._cursor = i + 1
                        return self.lines[i]
                self._cursor = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = "\n".join(self.lines[-15:])
                    raise AssertionError(f"{self.nick}: no line matching {pattern!r} in {timeout}s; "
                                         f"last lines:\n{tail}")
                self._lock.wait(left)

    def seen(self, pattern: str) -> list[str]:
        regex = re.compile(pattern)
        with self._lock:
            return [line for line in self.lines if regex.search(line)]

    def close(self) -> None:
        try:
            self.send("QUIT :done")
        except OSError:
            pass
        self._closed = True
        self.sock.close()
