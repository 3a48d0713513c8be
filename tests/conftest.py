"""Shared fixtures: real ircds on free ports, raw IRC clients, a running breakroom in a
background thread, private tmux sockets, and a CLI runner — each isolated per test."""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from breakroom.fleet.tmux import Tmux
from breakroom.record.db import open_db
from support.app import AppThread, app_config, write_config
from support.cli import BREAKROOM
from support.irc import HAVE_NGIRCD, IrcServer, RawClient, start_server
from support.screens import Fleet
from support.sims import start_sim
from support.terminal import run_on_terminal


def pytest_configure(config: pytest.Config) -> None:
    """Derived model files (the integer embedding model) are built once per run, in a cache of
    the run's own — never in the user's ~/.cache, not once per test, and not once per xdist
    worker either: the controller makes the cache and builds the model before the workers
    start, and they inherit its ``XDG_CACHE_HOME``.  ``make test`` runs pytest twice (the
    suite on workers, then the ``timing`` tests alone) and hands both one cache, made and
    removed by it, in ``BREAKROOM_TEST_CACHE``."""
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller's cache is in the environment already
    given = os.environ.get("BREAKROOM_TEST_CACHE")
    cache = Path(given) if given else Path(tempfile.mkdtemp(prefix="breakroom-cache-"))
    os.environ["XDG_CACHE_HOME"] = str(cache)
    if not given:
        config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))
    from breakroom.knowledge.embedding import load_embedder
    load_embedder()  # builds the integer model into the cache when the embed extra is there


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME (irc3 writes ~/.irc3), cwd and env isolated per test.

    A CI runner's markers go too: the agents read them and change what they are (Gemini CLI
    with ``CI=true`` or ``GITHUB_ACTIONS=true`` runs headless and exits at once instead of
    drawing its screen), so the suite drives the same agents in CI as on a desk."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    runner = [var for var in os.environ if var.startswith("CI_")]
    for var in ("BREAKROOM_CONFIG", "ANTHROPIC_API_KEY", "TMUX", "TMUX_PANE", "CI", "CONTINUOUS_INTEGRATION",
                "GITHUB_ACTIONS", "DEBIAN_FRONTEND", *runner):
        monkeypatch.delenv(var, raising=False)
    return home


# ------------------------------------------------------------------ ircd


@pytest.fixture
def ngircd(tmp_path: Path) -> Iterator[IrcServer]:
    if not HAVE_NGIRCD:
        pytest.skip("ngircd is not installed (apt-get install ngircd)")
    srv = start_server(tmp_path, "ngircd")
    yield srv
    srv.server.stop()


@pytest.fixture
def miniircd(tmp_path: Path) -> Iterator[IrcServer]:
    srv = start_server(tmp_path, "miniircd")
    yield srv
    srv.server.stop()


@pytest.fixture(params=["ngircd", "miniircd"])
def any_ircd(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IrcServer]:
    """Runs the test once against each server."""
    if request.param == "ngircd" and not HAVE_NGIRCD:
        pytest.skip("ngircd is not installed")
    srv = start_server(tmp_path, request.param)
    yield srv
    srv.server.stop()


@pytest.fixture
def ircd(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IrcServer]:
    """ngircd when installed (as in CI), else miniircd."""
    srv = start_server(tmp_path, "ngircd" if HAVE_NGIRCD else "miniircd")
    yield srv
    srv.server.stop()


# ------------------------------------------------------------------ raw IRC client


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


@pytest.fixture
def db(tmp_path):
    """A breakroom database (migrated) in the test's own folder."""
    database = open_db(tmp_path / "breakroom.db")
    yield database
    database.conn.close()


# ------------------------------------------------------------------ running breakroom


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


# ------------------------------------------------------------------ the shipped corpus


@pytest.fixture(scope="session")
def shipped_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file holding the default corpus, ingested once per test run (embedding
    it takes seconds) — by the first xdist worker that needs it, under a lock the others
    wait on.  Copy it; never write to it."""
    from breakroom.knowledge import corpus
    from breakroom.knowledge.embedding import load_embedder
    from breakroom.paths import CORPUS_DIR
    from breakroom.record.db import DB_NAME
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # this run's folder, shared by its workers (not by other runs)
    path = shared / "shipped-corpus" / DB_NAME
    with (shared / "shipped-corpus.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            building = path.with_name("building.db")
            db = open_db(building)
            status = load_embedder()
            corpus.ingest(db, [CORPUS_DIR], status.embedder, dense_reason=status.reason)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("PRAGMA journal_mode=DELETE")
            db.conn.close()
            building.replace(path)
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
def sims(tmp_path: Path, tmux_socket: str) -> Callable[[str, dict[str, Any]], None]:
    """``sims(name, script)`` runs ``breakroom sim-agent`` in a new session on the private server."""
    return lambda name, script: start_sim(tmux_socket, tmp_path, name, script)


@pytest.fixture
def fleet(tmux_socket: str, tmp_path: Path) -> Fleet:
    """Sessions on the private server showing agent screens (see :class:`support.screens.Fleet`)."""
    return Fleet(tmux_socket, tmp_path)


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
    """Run the real ``breakroom`` console script as a person would, at a terminal outside every
    pane (``--as SESSION`` needs one); uses ./breakroom.yaml of the test if present."""

    def run(*args: str, input: str | None = None, timeout: float = 30,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        return run_on_terminal([BREAKROOM, *args], input=input, capture_output=True, text=True,
                               timeout=timeout, env=full_env, cwd=tmp_path)
    return run
