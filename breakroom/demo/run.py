"""``breakroom demo``: the whole breakroom on embedded defaults, with simulated agents.

Everything it starts is its own and goes away with it: an ircd on a free port, a private
tmux server (never the user's), a temporary data dir.  Four sim-agent sessions play a
short scenario (``breakroom/data/demo/*.yaml``) that shows each behaviour once, while the
channel is printed live; the run ends with a summary of what happened.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from breakroom.app.runtime import Breakroom
from breakroom.config import Config, from_dict, to_dict
from breakroom.demo.story import Story
from breakroom.demo.view import ChannelPrinter
from breakroom.fleet.tmux import Tmux
from breakroom.irc.connect import connection_lines, page_line
from breakroom.irc.ircd import Ircd, free_port, start_ircd
from breakroom.knowledge import corpus
from breakroom.knowledge.embedding import load_embedder
from breakroom.logs import setup_logging
from breakroom.paths import CORPUS_DIR, PACKAGE_DIR
from breakroom.record.db import db_path, open_db
from breakroom.secrets import fill_secrets
from breakroom.work import queue as workqueue

if TYPE_CHECKING:
    import libtmux

BOTS_READY_WAIT = 30.0  # seconds the service bots get to join before the agents start
SCRIPTS_DIR = PACKAGE_DIR / "data" / "demo"
SESSIONS = {"shop": {"project": "shop"}, "blog": {"project": "blog"},
            "writer": {"role": "writer"}, "stuck": {"project": "ops"}}


@dataclass
class DemoOptions:
    duration: float = 75.0   # give up on the story after this long
    keep: bool = False       # keep running after the story, until Ctrl-C
    keep_data: bool = False  # leave the data dir (record, inboxes…) for `replay`
    speed: float = 1.0       # >1 runs the agents' work and the bots' timers faster
    log_level: str = "warning"  # the console's; the log file in the data dir keeps info


@dataclass
class DemoRun:
    """What one demo run started, so it can all be stopped."""

    folder: Path
    config: Config
    ircd: Ircd | None = None
    tmux: libtmux.Server | None = None

    @property
    def config_file(self) -> Path:
        """The config the agents' own `breakroom` commands read."""
        return self.folder / "breakroom.yaml"


def demo_config(folder: Path, speed: float) -> Config:
    """Embedded defaults, scaled for a story that fits in a minute."""
    return fill_secrets(from_dict({
        "data_dir": str(folder / "data"),
        "ircd": {"mode": "auto", "port": free_port()},
        "web": {"port": 0},  # the page on a free port: the demo prints where
        "tmux": {"socket_name": f"breakroom-demo-{os.getpid()}", "poll_interval": 0.5},
        "sessions": SESSIONS,
        "knowledge": {"corpus": [str(CORPUS_DIR)], "backend": "offline"},
        "sweep": {"interval": 6 / speed},
        "dispatcher": {"interval": 3 / speed, "cooldown": 15 / speed,
                       "checkin_interval": 3600, "scout_interval": 3600},
        "ops": [],
    }))


def _scaled_script(path: Path, speed: float) -> dict[str, Any]:
    """A sim script with every ``work`` step shortened by ``speed``."""
    script: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))

    def scale(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"work": round(s["work"] / speed, 2)} if "work" in s else s for s in steps]
    script["startup"] = scale(script.get("startup", []))
    for reaction in script.get("reactions", []):
        reaction["do"] = scale(reaction["do"])
    return script


def prepare(run: DemoRun, speed: float, say: Callable[[str], None]) -> None:
    """Config file, corpus index and work queue, before anything talks."""
    run.config_file.write_text(yaml.safe_dump(to_dict(run.config, redact=False), sort_keys=False))
    db = open_db(db_path(run.config.data_path))
    status = load_embedder()
    say(f"indexing the corpus ({status.reason}) …")
    report = corpus.ingest(db, [CORPUS_DIR], status.embedder, dense_reason=status.reason)
    say(f"corpus: {len(report.added)} documents indexed")
    issues = workqueue.import_issues(db, SCRIPTS_DIR / "queue.yaml", who="demo")
    say(f"work queue: {len(issues)} issues seeded")
    db.conn.close()
    for name in SESSIONS:
        script = _scaled_script(SCRIPTS_DIR / f"{name}.yaml", speed)
        (run.folder / f"{name}.yaml").write_text(yaml.safe_dump(script, sort_keys=False))


def start_sessions(run: DemoRun) -> None:
    """The four sim agents, each in its own session of a private tmux server."""
    bin_dir = str(Path(sys.executable).parent)
    # tmux gives a new session the PATH of the client that created it (a `-e PATH=` is
    # ignored), so the agents find `breakroom` only if this process's PATH has it
    os.environ["PATH"] = f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    env = {"BREAKROOM_CONFIG": str(run.config_file)}
    run.tmux = Tmux(run.config.tmux.socket_name).server
    for name in SESSIONS:
        command = f"{bin_dir}/breakroom sim-agent --script {run.folder / (name + '.yaml')} --name {name}"
        run.tmux.new_session(session_name=name, window_command=command, environment=env,
                             x=160, y=40, start_directory=str(run.folder))


async def _play(run: DemoRun, options: DemoOptions, printer: ChannelPrinter,
                say: Callable[[str], None]) -> Story:
    app = Breakroom(run.config)
    story = Story(app.db, dense=load_embedder().embedder is not None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    # the agents start talking to knowledge at once: its bot must be there to hear them
    if not await app.bots_in_channel(BOTS_READY_WAIT):
        say("  (some of the breakroom's bots are not in the channel yet; starting anyway)")
    if app.page.url:
        say(f"  {page_line(app.page.url)}")
    printing = loop.create_task(printer.follow(app.db))
    try:
        await app.run_blocking(start_sessions, run)
        deadline = time.monotonic() + options.duration
        while not stop.is_set():
            story.check()
            if story.complete and not options.keep:
                await asyncio.sleep(1.0)  # let the last lines reach the channel
                break
            if time.monotonic() > deadline and not options.keep:
                break
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass
        story.check()
    finally:
        printing.cancel()
        await app.stop()
        printer.drain(app.db)
    return story


def run_demo(options: DemoOptions, say: Callable[[str], None] = print) -> Story:
    """Start everything, play the story, stop everything; returns what happened."""
    folder = Path(tempfile.mkdtemp(prefix="breakroom-demo-"))
    run = DemoRun(folder, demo_config(folder, options.speed))
    setup_logging(run.config.data_path, options.log_level)
    try:
        prepare(run, options.speed, say)
        run.ircd = start_ircd(run.config)
        say(f"ircd: {run.ircd.mode} on {run.config.ircd.host}:{run.config.ircd.port}; "
            f"tmux: tmux -L {run.config.tmux.socket_name} attach -t shop")
        say("join it while it runs:")
        for line in connection_lines(run.config):
            say(f"  {line}")
        return asyncio.run(_play(run, options, ChannelPrinter(), say))
    finally:
        cleanup(run, options.keep_data, say)


def cleanup(run: DemoRun, keep_data: bool, say: Callable[[str], None]) -> None:
    if run.tmux is not None:
        Tmux(run.config.tmux.socket_name).kill_server()
    if run.ircd is not None:
        run.ircd.stop()
    if keep_data:
        say(f"data kept in {run.folder}; replay it with: "
            f"breakroom --config {run.config_file} replay --speed 5")
    else:
        shutil.rmtree(run.folder, ignore_errors=True)
