"""A permission prompt approved from IRC: from the dialog on screen to the tool running.

A real breakroom (in this process, as the tests run it) on ngircd and a private tmux server,
and an IRC operator (a plain client that has done /oper) who answers every prompt line the
instant it arrives — so the figures are Breakroom's (and the agent's) share, not a human's:

- **real Claude Code** (each pinned release that is installed, tools asking first), hooks as
  `breakroom hooks install` writes them: the PermissionRequest hook relays the prompt, the
  operator's `!allow` goes back as the hook's answer, nothing is typed;
- **sim agent** (`breakroom sim-agent`, no hooks): the dialog read off the screen (polled
  every ``tmux.poll_interval``, default 2 s, and relayed once it holds still), the answer
  pressed as keys.

For each: dialog on screen -> prompt line on IRC (relaying), line -> tool running (the
approval round trip once someone answers), and dialog -> tool running.

    .venv/bin/python bench/approval_roundtrip.py           # 10 prompts per agent
    .venv/bin/python bench/approval_roundtrip.py --quick   # 3 prompts per agent
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from breakroom.fleet import hooks
from breakroom.fleet.tmux import Tmux
from support.app import AppThread, app_config, write_config
from support.claude_code import RELEASES, ClaudeSession, capture, keys, looks_idle, missing_reason
from support.claude_stub import ClaudeStub
from support.irc import RawClient, start_server
from support.sims import pane_text, start_sim

POLL = 0.02
STAGES = ("dialog on screen -> line on IRC", "line on IRC -> tool running (the approval)",
          "dialog on screen -> tool running")
Times = dict[str, list[float]]


def until(predicate: Callable[[], object], timeout: float, what: str) -> float:
    """Poll ``predicate`` until it holds; the moment it did (monotonic)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(POLL)
    return time.monotonic()


def approve(boss: RawClient, nick: str, dialog_shown: float, ran: Callable[[], bool], times: Times) -> None:
    """Answer the prompt line as it arrives; time it and the tool running."""
    line = boss.wait_for(rf":{nick}!\S+ PRIVMSG #\S+ :{nick} wants .* — !allow (\w+) · !deny \1$", 60)
    relayed = time.monotonic()
    boss.say("#breakroom", "!allow " + re.search(r"!allow (\w+)", line).group(1))
    running = until(ran, 60, "the tool running")
    for stage, seconds in zip(STAGES, (relayed - dialog_shown, running - relayed, running - dialog_shown),
                              strict=True):
        times[stage].append(seconds)


def claude_runs(release: str, runs: int, work: Path, srv, boss: RawClient) -> Times:
    sock = "brbench-" + secrets.token_hex(4)
    stub, times = ClaudeStub(), {stage: [] for stage in STAGES}
    work.mkdir(parents=True)
    cfg = app_config(srv, work, tmux={"socket_name": sock}, sessions={"cc": {"agent": "claude-code"}})
    write_config(work / "breakroom.yaml", cfg)
    app = AppThread(cfg, ("scribe",)).start()
    try:
        hooks.install(work / "claude" / "work", config=str(work / "breakroom.yaml"),
                      relay_timeout=cfg.permissions.relay_timeout)
        ClaudeSession(sock, "cc", work / "claude", stub.url, release=release, mode="manual")
        until(lambda: looks_idle(capture(sock, "cc")) and app.app.sessions.nick_for("cc"), 60,
              "Claude Code idle, with its bot")
        for i in range(runs):
            done = work / "claude" / "work" / f"approved-{i}.txt"
            keys(sock, "cc", f"bash: touch {done.name}", literal=True)
            until(lambda done=done: done.name in capture(sock, "cc"), 10, "the prompt typed")
            keys(sock, "cc", "Enter")
            shown = until(lambda: "Do you want to proceed?" in capture(sock, "cc"), 30, "the dialog")
            approve(boss, "cc", shown, done.exists, times)
            until(lambda i=i: looks_idle(capture(sock, "cc")) and f"done: touch approved-{i}" in
                  capture(sock, "cc"), 30, "the turn's end")
    finally:
        app.stop()
        stub.close()
        Tmux(sock).kill_server()
    return times


def sim_runs(runs: int, work: Path, srv, boss: RawClient) -> Times:
    sock = "brbench-" + secrets.token_hex(4)
    times: Times = {stage: [] for stage in STAGES}
    work.mkdir(parents=True)
    cfg = app_config(srv, work, tmux={"socket_name": sock},
                     sessions={f"sim{i}": {"agent": "sim"} for i in range(runs)})
    write_config(work / "breakroom.yaml", cfg)
    app = AppThread(cfg, ("scribe",)).start()
    try:
        for i in range(runs):
            name = f"sim{i}"
            start_sim(sock, work, name, {"startup": [{"permission": f"Bash(touch approved-{i}.txt)"}]})
            shown = until(lambda name=name: "Do you want to proceed?" in pane_text(sock, name), 30,
                          "the dialog")
            approve(boss, name, shown, lambda name=name: "Approved" in pane_text(sock, name), times)
    finally:
        app.stop()
        Tmux(sock).kill_server()
    return times


def report(name: str, times: Times) -> None:
    print(name)
    for stage, values in times.items():
        print(f"  {stage:45} median {statistics.median(values):5.2f} s, max {max(values):5.2f} s "
              f"(n={len(values)})")


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 prompts per agent instead of 10")
    args = parser.parse_args()
    runs = 3 if args.quick else 10
    root = Path(tempfile.mkdtemp(prefix="breakroom-bench-"))
    os.environ["HOME"] = str(root)  # irc3 writes ~/.irc3
    for var in ("TMUX", "TMUX_PANE", "BREAKROOM_CONFIG"):
        os.environ.pop(var, None)
    srv = start_server(root, "ngircd")
    boss = RawClient(srv, "boss")
    boss.send(f"OPER {srv.config.ircd.oper_name} {srv.config.ircd.oper_password}")
    boss.wait_for(r" 381 ")
    try:
        for release in RELEASES:
            if missing_reason(release):
                print(f"Claude Code {release}: skipped ({missing_reason(release)})")
                continue
            report(f"Claude Code {release} (PermissionRequest hook; nothing typed):",
                   claude_runs(release, runs, root / release, srv, boss))
        report("sim agent (the dialog read off the screen, 2 s polls; the answer pressed as keys):",
               sim_runs(runs, root / "sim", srv, boss))
    finally:
        boss.close()
        srv.server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
