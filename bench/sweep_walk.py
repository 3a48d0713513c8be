"""How long one sweep walk takes over 10, 50 and 100 sessions, and how many tmux processes it
spawns — against capturing every pane with its own ``tmux capture-pane`` process.

Sessions run on a private tmux server and show recorded Claude Code screens (working, idle,
a question, a permission prompt) through ``cat``: the walk's cost is tmux and the detector,
not the agent.  tmux calls are counted by a logging ``tmux`` wrapper first on PATH.

    .venv/bin/python bench/sweep_walk.py           # 10, 50, 100 sessions, 5 walks each
    .venv/bin/python bench/sweep_walk.py --quick   # 10 sessions, 2 walks (CI)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import libtmux

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from breakroom.config import from_dict
from breakroom.fleet.capture import capture_all
from breakroom.fleet.observer import CAPTURE_LINES
from breakroom.fleet.tmux import Tmux
from breakroom.record.db import open_db
from breakroom.sweep.walk import Sweeper

PANES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "panes" / "claude-code"
SCREENS = ["working/spinner-pondering-bypass-footer.txt", "idle/after-turn-bypass-footer.txt",
           "waiting-question/pricing.txt", "waiting-permission/bash-command.txt",
           "working/tool-running.txt", "idle/fresh-start.txt"]


class TmuxCounter:
    """A ``tmux`` wrapper that logs each invocation before running the real tmux."""

    def __init__(self, workdir: Path):
        real = shutil.which("tmux")
        if real is None:
            sys.exit("tmux is not installed")
        self.log = workdir / "tmux-calls.log"
        bindir = workdir / "bin"
        bindir.mkdir()
        wrapper = bindir / "tmux"
        wrapper.write_text(f'#!/bin/sh\necho x >> "{self.log}"\nexec "{real}" "$@"\n')
        wrapper.chmod(0o755)
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ['PATH']}"

    def count(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0


def screen_file(workdir: Path, name: str) -> Path:
    text = (PANES / name).read_text(encoding="utf-8")
    if text.startswith("---\n"):
        text = text[4:].partition("\n---\n")[2]
    path = workdir / name.replace("/", "-")
    path.write_text(text, encoding="utf-8")
    return path


def start_fleet(socket: str, workdir: Path, count: int) -> None:
    files = [screen_file(workdir, name) for name in SCREENS]
    server = libtmux.Server(socket_name=socket)
    for i in range(count):
        path = files[i % len(files)]
        server.new_session(session_name=f"agent{i:03d}", x=100, y=30,
                           window_command=f"sh -c 'cat {path}; exec cat'")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if sum(1 for c in capture_all(Tmux(socket)).values() if c.text) == count:
            return
        time.sleep(0.1)
    sys.exit("the fleet did not start in time")


def one_process_per_pane(socket: str, sessions: list[str]) -> None:
    """The naive walk this replaces: a tmux process per pane."""
    for name in sessions:
        subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", f"={name}:",
                        "-S", f"-{CAPTURE_LINES}"], capture_output=True, check=False)


def measure(count: int, walks: int, counter: TmuxCounter, workdir: Path) -> dict:
    socket = f"brbench-{uuid.uuid4().hex[:8]}"
    try:
        start_fleet(socket, workdir, count)
        cfg = from_dict({"data_dir": str(workdir / f"data-{count}"), "tmux": {"socket_name": socket}})
        sweeper = Sweeper(open_db(workdir / f"data-{count}" / "breakroom.db"), cfg)
        before = counter.count()
        started = time.perf_counter()
        first = sweeper.walk()
        first_ms = (time.perf_counter() - started) * 1000
        first_calls = counter.count() - before
        steady, calls = [], []
        for _ in range(walks):
            before = counter.count()
            started = time.perf_counter()
            sweeper.walk()
            steady.append((time.perf_counter() - started) * 1000)
            calls.append(counter.count() - before)
        capture_ms = []
        for _ in range(walks):
            started = time.perf_counter()
            capture_all(Tmux(socket), CAPTURE_LINES)
            capture_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        one_process_per_pane(socket, list(first.observations))
        naive_ms = (time.perf_counter() - started) * 1000
        return {"sessions": len(first.observations), "first_ms": first_ms, "first_calls": first_calls,
                "walk_ms": statistics.median(steady), "walk_calls": max(calls),
                "capture_ms": statistics.median(capture_ms), "naive_ms": naive_ms,
                "summary": first.summary}
    finally:
        libtmux.Server(socket_name=socket).kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 sessions, 2 walks")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--walks", type=int, default=5)
    args = parser.parse_args()
    sizes, walks = ([10], 2) if args.quick else (args.sizes, args.walks)
    with tempfile.TemporaryDirectory(prefix="brbench-sweep-") as tmp:
        workdir = Path(tmp)
        counter = TmuxCounter(workdir)
        print(f"{'sessions':>8} {'first walk':>11} {'tmux':>5} {'walk':>9} {'tmux':>5} "
              f"{'capture':>9} {'1 proc/pane':>12}")
        for size in sizes:
            r = measure(size, walks, counter, workdir)
            print(f"{r['sessions']:>8} {r['first_ms']:>9.0f}ms {r['first_calls']:>5} "
                  f"{r['walk_ms']:>7.0f}ms {r['walk_calls']:>5} {r['capture_ms']:>7.1f}ms "
                  f"{r['naive_ms']:>10.0f}ms")
        print("first walk: includes the confirming capture of idle-looking screens; "
              "walk: the median of later walks (nothing changed); tmux: processes per walk; "
              "capture: capture_all alone; 1 proc/pane: one capture-pane process per session")


if __name__ == "__main__":
    main()
