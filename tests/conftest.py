"""Shared fixtures: real ircds on free ports, raw IRC clients, a running breakroom in a
background thread, private tmux sockets, and a CLI runner — each isolated per test."""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from breakroom.config import Config, from_dict
from breakroom.fleet.tmux import Tmux
from breakroom.irc.background import BackgroundBreakroom
from breakroom.irc.ircd import Ircd, free_port, start_ircd
from breakroom.record.db import open_db
from breakroom.secrets import fill_secrets

BREAKROOM = str(Path(sys.executable).parent / "breakroom")
HAVE_NGIRCD = shutil.which("ngircd") is not None


def pytest_configure(config: pytest.Config) -> None:
    """Derived model files (the integer embedding model) are built once per run, in a cache of
    the run's own — never in the user's ~/.cache, and not once per test either (modules load
    the embedder at import, before any fixture runs)."""
    cache = Path(tempfile.mkdtemp(prefix="breakroom-cache-"))
    os.environ["XDG_CACHE_HOME"] = str(cache)
    config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME (irc3 writes ~/.irc3), cwd and env isolated per test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    for var in ("BREAKROOM_CONFIG", "ANTHROPIC_API_KEY", "TMUX", "TMUX_PANE"):
        monkeypatch.delenv(var, raising=False)
    return home


# ------------------------------------------------------------------ ircd


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


def _start(tmp_path: Path, mode: str) -> IrcServer:
    cfg = fill_secrets(from_dict({"data_dir": str(tmp_path / f"ircd-{mode}"),
                                  "ircd": {"mode": mode, "port": free_port()}}))
    return IrcServer(cfg, start_ircd(cfg))


@pytest.fixture
def ngircd(tmp_path: Path) -> Iterator[IrcServer]:
    if not HAVE_NGIRCD:
        pytest.skip("ngircd is not installed (apt-get install ngircd)")
    srv = _start(tmp_path, "ngircd")
    yield srv
    srv.server.stop()


@pytest.fixture
def miniircd(tmp_path: Path) -> Iterator[IrcServer]:
    srv = _start(tmp_path, "miniircd")
    yield srv
    srv.server.stop()


@pytest.fixture(params=["ngircd", "miniircd"])
def any_ircd(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IrcServer]:
    """Runs the test once against each server."""
    if request.param == "ngircd" and not HAVE_NGIRCD:
        pytest.skip("ngircd is not installed")
    srv = _start(tmp_path, request.param)
    yield srv
    srv.server.stop()


@pytest.fixture
def ircd(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IrcServer]:
    """ngircd when installed (as in CI), else miniircd."""
    srv = _start(tmp_path, "ngircd" if HAVE_NGIRCD else "miniircd")
    yield srv
    srv.server.stop()


# ------------------------------------------------------------------ raw IRC client


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


@pytest.fixture
def irc_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., RawClient]]:
    clients: list[RawClient] = []

    def make(srv: IrcServer, nick: str = "human", **kw: Any) -> RawClient:
        client = RawClient(srv, nick, **kw)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``predicate`` until it is truthy and return that; AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.05)


@pytest.fixture
def db(tmp_path):
    """A breakroom database (migrated) in the test's own folder."""
    database = open_db(tmp_path / "breakroom.db")
    yield database
    database.conn.close()


# ------------------------------------------------------------------ running breakroom


# The running breakroom of a test (a name the tests already use for it).
AppThread = BackgroundBreakroom


def app_config(srv: IrcServer, tmp_path: Path, **overrides: Any) -> Config:
    """A config that reaches ``srv`` with a fresh data dir; ``overrides`` are YAML-shaped."""
    raw: dict[str, Any] = {"data_dir": str(tmp_path / "data"),
                           "ircd": {"mode": "external", "host": srv.host, "port": srv.port,
                                    "password": srv.password},
                           "channel": srv.channel, "channel_key": srv.key}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return from_dict(raw)


@pytest.fixture
def running_app(tmp_path: Path) -> Iterator[Callable[..., AppThread]]:
    """``running_app(srv, services=("scribe",), **config_overrides)`` → a started AppThread."""
    apps: list[AppThread] = []

    def make(srv: IrcServer, services: tuple[str, ...] = ("scribe",), **overrides: Any) -> AppThread:
        cfg = app_config(srv, tmp_path, **overrides)
        write_config(tmp_path / "breakroom.yaml", cfg)
        thread = AppThread(cfg, services)
        apps.append(thread)
        return thread.start()

    yield make
    for thread in apps:
        thread.stop()


def flush_bot(thread: AppThread, key: str, client: RawClient, timeout: float = 10.0) -> None:
    """Wait until every line bot ``key`` has queued so far has reached ``client``: the bot sends
    it a marker by private message, after them (its outbox keeps one priority's order, and the
    ircd relays one sender's lines in order).  A test that proves a negative ("the sweep said
    nothing more") asserts it after this instead of after a fixed sleep."""
    marker = f"flush-{uuid.uuid4().hex[:8]}"
    app = thread.app
    thread.loop.call_soon_threadsafe(lambda: app.send(app.bots[key], client.nick, marker))
    client.wait_for(rf"PRIVMSG {re.escape(client.nick)} :{marker}$", timeout)


def next_poll(thread: AppThread, timeout: float = 10.0) -> Any:
    """The fleet snapshot of a poll that captured the panes after this call.  Polls take turns
    (capture, then fold), so the second fold after now is of a capture begun after now."""
    observer = thread.app.sessions.observer

    def folded_after(moment: float) -> Any:
        return thread.wait_until(lambda: observer.snapshot if observer.snapshot.at > moment else None,
                                 timeout, "the next fleet poll")
    return folded_after(folded_after(time.time()).at)


def write_config(path: Path, cfg: Config) -> Path:
    """Persist ``cfg`` (secrets included) so CLI subprocesses see the same breakroom."""
    from breakroom.config import to_dict
    path.write_text(yaml.safe_dump(to_dict(cfg, redact=False), sort_keys=False))
    return path


# ------------------------------------------------------------------ the shipped corpus


@pytest.fixture(scope="session")
def shipped_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file holding the default corpus, ingested once per test run (embedding
    it takes seconds). Copy it; never write to it."""
    from breakroom.knowledge import corpus
    from breakroom.knowledge.embedding import load_embedder
    from breakroom.paths import CORPUS_DIR
    from breakroom.record.db import DB_NAME
    path = tmp_path_factory.mktemp("shipped-corpus") / DB_NAME
    db = open_db(path)
    status = load_embedder()
    corpus.ingest(db, [CORPUS_DIR], status.embedder, dense_reason=status.reason)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return path


@pytest.fixture(scope="module")
def shipped_db(shipped_corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    """This module's own copy of the shipped corpus, open."""
    from breakroom.record.db import open_db
    path = tmp_path_factory.mktemp("knowledge") / shipped_corpus.name
    shutil.copy(shipped_corpus, path)
    db = open_db(path)
    yield db
    db.conn.close()


# ------------------------------------------------------------------ tmux


@pytest.fixture
def tmux_socket() -> Iterator[str]:
    """A private tmux server name (``tmux -L``); the server is killed afterwards."""
    name = f"brtest-{uuid.uuid4().hex[:10]}"
    yield name
    Tmux(name).kill_server()


@pytest.fixture
def tmux_calls(tmp_path, monkeypatch):
    """Put a logging tmux wrapper first on PATH (a real tmux behind it); returns a counter."""
    real = shutil.which("tmux")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "tmux-calls.log"
    wrapper = bindir / "tmux"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}:{Path(real).parent}")

    def count() -> int:
        return len(log.read_text().splitlines()) if log.exists() else 0
    return count


# ------------------------------------------------------------------ CLI


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run the real ``breakroom`` console script; uses ./breakroom.yaml of the test if present."""

    def run(*args: str, input: str | None = None, timeout: float = 30,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([BREAKROOM, *args], input=input, capture_output=True, text=True,
                              timeout=timeout, env=full_env, cwd=tmp_path)
    return run
