"""Latency from `breakroom say` to the text in the other agent's pane.

Starts a real breakroom (`breakroom up --only scribe`: ngircd, the scribe, the session bots)
on a private tmux server with two `breakroom sim-agent` sessions, then, N times: runs
`breakroom say b <text>` from a process in a's pane (as agent a would) and polls b's pane
until the sim agent shows the line as submitted (``> [breakroom #N] a: <text>``).  Prints
the median and spread of that latency, how long `breakroom say` takes to return with the
outcome, the CLI's bare start-up, and the breakroom's own share (inbox row -> submitted),
with the default delivery settings (enter_delay 0.3 s) and poll interval (2 s).

    .venv/bin/python bench/delivery_latency.py           # 25 messages
    .venv/bin/python bench/delivery_latency.py --quick   # 5 messages (CI)
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from breakroom.fleet.tmux import Tmux
from breakroom.irc.ircd import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.terminal import PaneRunner

BIN = Path(sys.executable).parent
BREAKROOM = str(BIN / "breakroom")
POLL = 0.01


def tmux(socket_name: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket_name, *args], capture_output=True, text=True).stdout


def stop_up(up: subprocess.Popen, sock: str, work: Path) -> None:
    """End a bench's `breakroom up`, its tmux server and its scratch folder."""
    up.terminate()
    try:
        up.wait(15)
    except subprocess.TimeoutExpired:
        up.kill()
    Tmux(sock).kill_server()
    shutil.rmtree(work, ignore_errors=True)


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(POLL)
    raise SystemExit(f"timed out waiting for {what}")


def fleet_states(env: dict) -> dict[str, str]:
    done = subprocess.run([BREAKROOM, "fleet"], capture_output=True, text=True, env=env)
    states = {}
    for line in done.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 4:
            states[parts[0]] = parts[3]
    return states


def start_two_sims() -> tuple[subprocess.Popen, str, dict[str, str], Path]:
    """A real breakroom (`breakroom up --only scribe` on ngircd) watching two quiet sim agents,
    a and b, on a private tmux server, both idle: its process, the tmux socket, the env to
    run the CLI with, and the scratch folder (:func:`stop_up` ends all of them)."""
    if not shutil.which("ngircd"):
        raise SystemExit("ngircd is not installed")
    work = Path(tempfile.mkdtemp(prefix="breakroom-bench-"))
    sock = "brbench-" + secrets.token_hex(4)
    config = work / "breakroom.yaml"
    config.write_text(yaml.safe_dump({
        "data_dir": str(work / "data"),
        "ircd": {"mode": "ngircd", "port": free_port()},
        "tmux": {"socket_name": sock},
        "sessions": {"a": {"agent": "sim"}, "b": {"agent": "sim"}},
    }))
    env = {**os.environ, "BREAKROOM_CONFIG": str(config), "HOME": str(work)}
    for var in ("TMUX", "TMUX_PANE"):
        env.pop(var, None)
    script = work / "quiet.yaml"
    script.write_text(yaml.safe_dump({"default": [{"say": "Noted."}]}))
    for name in ("a", "b"):
        tmux(sock, "new-session", "-d", "-s", name, "-x", "160", "-y", "50", "-c", str(work),
             "-e", f"BREAKROOM_CONFIG={config}", f"{BREAKROOM} sim-agent --script {script}")
    up = subprocess.Popen([BREAKROOM, "up", "--only", "scribe"], env=env, cwd=work,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: fleet_states(env) == {"a": "idle", "b": "idle"}, 30, "both sims idle")
    except BaseException:
        stop_up(up, sock, work)
        raise
    return up, sock, env, work


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 messages instead of 25")
    parser.add_argument("--count", type=int, default=None)
    args = parser.parse_args()
    count = args.count or (5 if args.quick else 25)
    up, sock, env, work = start_two_sims()
    try:
        in_a = PaneRunner(sock, "a", work)
        total, cli_only = [], []
        for i in range(count):
            token = f"bench-{i}-{secrets.token_hex(3)}"
            start = time.perf_counter()
            took, rc, _ = in_a.run([BREAKROOM, "say", "b", token], env)
            assert rc == 0, "breakroom say failed"
            cli_only.append(took)
            submitted = f"> [breakroom #{i + 1}] a: {token}"  # the sim echoes what it received
            wait_until(lambda submitted=submitted: submitted in tmux(sock, "capture-pane", "-p", "-t", "=b:"),
                       20, token)
            total.append(time.perf_counter() - start)
            # let b answer and settle before the next message (measures delivery, not queueing)
            wait_until(lambda: fleet_states(env).get("b") == "idle", 20, "b idle again")
        print(f"messages: {count}")
        print(f"say -> text in the other pane: median {statistics.median(total) * 1000:.0f} ms, "
              f"p90 {pct(total, 0.9) * 1000:.0f} ms, min {min(total) * 1000:.0f} ms, "
              f"max {max(total) * 1000:.0f} ms")
        startup = []
        for _ in range(5):
            begin = time.perf_counter()
            subprocess.run([BREAKROOM, "--version"], env=env, check=True, capture_output=True)
            startup.append(time.perf_counter() - begin)
        print(f"  `breakroom say` until it prints the outcome (\"delivered #N\"): median "
              f"{statistics.median(cli_only) * 1000:.0f} ms")
        print(f"  `breakroom` CLI start-up alone (--version): median "
              f"{statistics.median(startup) * 1000:.0f} ms")
        db = sqlite3.connect(work / "data" / "breakroom.db")
        inside = [d - c for c, d in db.execute(
            "SELECT created, delivered_at FROM inbox WHERE session = 'b' AND delivered_at IS NOT NULL")]
        print(f"  inbox -> submitted (idle check, typing, enter_delay, verified Enter): median "
              f"{statistics.median(inside) * 1000:.0f} ms")
        in_a.close()
    finally:
        stop_up(up, sock, work)


if __name__ == "__main__":
    main()
