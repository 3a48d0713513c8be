"""`breakroom say` from a session on host A to a session on host B, until the text is in B's
pane — against the same two sessions on one machine, in the same run.

Same host: one `breakroom up` with sessions a and b (delivered directly, no IRC hop).
Cross host: `up --role hub` (ngircd + scribe), and `up --role host` twice, each with its own
private tmux server and one session; the message goes a's bot -> ircd -> b's bot -> b's
pane.  All on loopback, so the figure is Breakroom's own cost, not a network's.

    .venv/bin/python bench/cross_host.py           # 15 messages each way
    .venv/bin/python bench/cross_host.py --quick   # 4 messages each way (CI)

Target (issue 12): cross-host within 100 ms of same-host.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from delivery_latency import BREAKROOM, tmux, wait_until

from breakroom.irc.ircd import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.terminal import PaneRunner

PASSWORD, KEY = "benchPW1", "benchKEY1"


class Machine:
    """One `breakroom up` with its config, tmux server and sim sessions."""

    def __init__(self, work: Path, name: str, raw: dict, role: str, sessions: list[str]):
        self.folder = work / name
        self.folder.mkdir()
        self.sock = "brbench-" + secrets.token_hex(4)
        self.config = self.folder / "breakroom.yaml"
        raw = {"data_dir": str(self.folder / "data"), "channel_key": KEY,
               "tmux": {"socket_name": self.sock},
               "sessions": {s: {"agent": "sim"} for s in sessions}, **raw}
        self.config.write_text(yaml.safe_dump(raw))
        self.env = {**os.environ, "BREAKROOM_CONFIG": str(self.config), "HOME": str(work)}
        self.env.pop("TMUX", None)
        script = self.folder / "quiet.yaml"
        script.write_text(yaml.safe_dump({"default": [{"say": "Noted."}]}))
        for session in sessions:
            tmux(self.sock, "new-session", "-d", "-s", session, "-x", "160", "-y", "50",
                 "-c", str(self.folder), "-e", f"BREAKROOM_CONFIG={self.config}",
                 f"{BREAKROOM} sim-agent --script {script}")
        self.proc = subprocess.Popen([BREAKROOM, "up", "--role", role, "--only", "scribe"],
                                     env=self.env, cwd=self.folder, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        if "breakroom is up" not in self.proc.stdout.readline():
            raise SystemExit(f"{name}: breakroom up failed")

    def idle(self, count: int) -> bool:
        out = subprocess.run([BREAKROOM, "fleet"], env=self.env, capture_output=True,
                             text=True, check=False).stdout
        return sum(" idle " in line for line in out.splitlines()) == count

    def pane(self, session: str) -> str:
        return tmux(self.sock, "capture-pane", "-p", "-t", f"={session}:")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        tmux(self.sock, "kill-server")
        Path(f"/tmp/tmux-{os.getuid()}/{self.sock}").unlink(missing_ok=True)


def say_to_pane(sender: Machine, receiver: Machine, target: str, sender_nick: str,
                count: int) -> list[float]:
    """Seconds from starting `breakroom say` in a's pane until b's pane shows the line as
    submitted (same host, `say` returns once it is; cross host, once it is sent to IRC)."""
    times = []
    in_a = PaneRunner(sender.sock, "a", sender.folder)
    for i in range(count):
        token = f"bench-{i}-{secrets.token_hex(3)}"
        start = time.perf_counter()
        assert in_a.run([BREAKROOM, "say", target, token], sender.env)[1] == 0, "breakroom say failed"
        # submitted, as the sim echoes it (typed but not yet entered shows after ❯ instead)
        line = re.compile(rf"> \[breakroom #\d+\] {re.escape(sender_nick)}: {token}")
        wait_until(lambda line=line: line.search(receiver.pane("b")), 20, token)
        times.append(time.perf_counter() - start)
        wait_until(lambda: receiver.idle(1 if receiver is not sender else 2), 20, "b idle again")
    in_a.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 messages each way")
    parser.add_argument("--count", type=int, default=15)
    args = parser.parse_args()
    count = 4 if args.quick else args.count
    if not shutil.which("ngircd"):
        raise SystemExit("ngircd is not installed")
    work = Path(tempfile.mkdtemp(prefix="brbench-cross-"))
    machines: list[Machine] = []
    try:
        port = free_port()
        ircd = {"mode": "ngircd", "port": port, "password": PASSWORD}
        one = Machine(work, "one", {"ircd": ircd}, "all", ["a", "b"])
        machines.append(one)
        wait_until(lambda: one.idle(2), 30, "both sims idle")
        same = say_to_pane(one, one, "b", "a", count)
        one.stop()
        machines.remove(one)

        hub = Machine(work, "hub", {"ircd": ircd}, "hub", [])
        machines.append(hub)
        remote = {"mode": "external", "host": "127.0.0.1", "port": port, "password": PASSWORD}
        host_a = Machine(work, "hosta", {"ircd": remote, "host_name": "hosta"}, "host", ["a"])
        host_b = Machine(work, "hostb", {"ircd": remote, "host_name": "hostb"}, "host", ["b"])
        machines += [host_a, host_b]
        wait_until(lambda: host_a.idle(1) and host_b.idle(1), 30, "both sims idle")
        cross = say_to_pane(host_a, host_b, "b-hostb", "a-hosta", count)
    finally:
        for machine in machines:
            machine.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'':>11} {'median':>8} {'min':>7} {'max':>7}   ({count} messages each)")
    for label, values in (("same host", same), ("cross host", cross)):
        print(f"{label:>11} {statistics.median(values) * 1000:>6.0f}ms "
              f"{min(values) * 1000:>5.0f}ms {max(values) * 1000:>5.0f}ms")
    print(f"cross - same (medians): {(statistics.median(cross) - statistics.median(same)) * 1000:+.0f} ms")


if __name__ == "__main__":
    main()
