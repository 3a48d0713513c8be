"""A message to a busy agent: in its context through a hook vs typed once it is idle.

Starts a real breakroom (`breakroom up --only scribe`) on a private tmux server and sends
messages to agents in the middle of a turn:

- **sim agent** (`breakroom sim-agent`, no hooks of its own): a turn of ``--turn`` seconds
  with a tool call every second, played by running the real ``breakroom hook PostToolUse``
  process as Claude Code would after each tool (from inside the sim's pane: hooks are
  accepted from nowhere else; the messages come from session ``bench``'s pane).  Hook:
  message sent -> the hook prints it.
  Typed: the same turn with no hook -> the message submitted in the pane after the turn.
- **real Claude Code** (the newest pinned release, manual mode) on the Messages-API stub
  (when installed): a turn that runs
  ``sleep 3`` as a Bash tool.  Hook (hooks installed by `hooks install`): message sent ->
  the request to the model that carries it (the tool result's).  Typed (no hooks): message
  sent -> the request whose prompt it is.
- the hook process itself: ``breakroom hook PostToolUse`` start to exit, p50/p99, with
  nothing queued and with a message to hand over.

    .venv/bin/python bench/busy_delivery.py           # 10 runs per case
    .venv/bin/python bench/busy_delivery.py --quick   # 3 runs per case, 30 hook calls
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

# the helpers below live in tests/ and bench/: on the path first, so imported late (E402)
sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "tests"), str(Path(__file__).resolve().parent)]
from delivery_latency import BREAKROOM, pct, stop_up, tmux, wait_until  # noqa: E402

from breakroom.fleet import hooks  # noqa: E402
from breakroom.irc.ircd import free_port  # noqa: E402
from support.claude_code import RELEASES, keys, missing_reason, start_claude, write_home  # noqa: E402
from support.claude_stub import ClaudeStub  # noqa: E402
from support.terminal import PaneRunner  # noqa: E402

RUNNERS: dict[str, PaneRunner] = {}  # session -> a process in its pane that runs commands


def fleet(env: dict) -> dict[str, str]:
    done = subprocess.run([BREAKROOM, "fleet"], capture_output=True, text=True, env=env)
    return {p[0]: p[3] for p in (line.split() for line in done.stdout.splitlines()[1:]) if len(p) >= 4}


def say(env: dict, to: str, text: str) -> None:
    assert RUNNERS["bench"].run([BREAKROOM, "say", to, text], env)[1] == 0, "breakroom say failed"


def hook(env: dict, session: str) -> tuple[float, str]:
    took, _, out = RUNNERS[session].run([BREAKROOM, "hook", "PostToolUse"], env, b"{}")
    return took, out


def report(name: str, values: list[float]) -> None:
    print(f"  {name}: median {statistics.median(values):.2f} s, p90 {pct(values, 0.9):.2f} s "
          f"(n={len(values)})")


def sim_runs(env: dict, sock: str, runs: int, turn: float) -> None:
    print(f"sim agent, a {turn:g} s turn with a tool call every second; message sent 0.5 s in:")
    via_hook, typed = [], []
    for mode in ("hook", "typed"):
        for i in range(runs):
            wait_until(lambda: fleet(env).get("sim") == "idle", 30, "sim idle")
            token = f"{mode}-{i}-{secrets.token_hex(3)}"
            say(env, "sim", "go")  # the sim works for `turn` seconds on every line
            wait_until(lambda: fleet(env).get("sim") == "working", 10, "sim working")
            time.sleep(0.5)
            sent = time.perf_counter()
            say(env, "sim", token)
            if mode == "hook":
                while True:  # the turn's tool calls, one a second, each running the hook
                    _, out = hook(env, "sim")
                    if token in out:
                        via_hook.append(time.perf_counter() - sent)
                        break
                    time.sleep(max(0.0, 1.0 - (time.perf_counter() - sent) % 1.0))
            else:
                wait_until(lambda token=token: f"] bench: {token}" in tmux(
                    sock, "capture-pane", "-p", "-J", "-S", "-200", "-t", "=sim:"), 60, token)
                typed.append(time.perf_counter() - sent)
    report("in its context via the PostToolUse hook", via_hook)
    report("typed after the turn ended", typed)


def claude_runs(env: dict, sock: str, stub: ClaudeStub, runs: int, release: str) -> None:
    print(f"real Claude Code {release} on the stub, a turn running `sleep 3`; "
          "message sent once the tool runs:")
    results: dict[str, list[float]] = {"cc-hooks": [], "cc-typed": []}
    for session in results:
        for i in range(runs):
            wait_until(lambda session=session: fleet(env).get(session) == "idle", 60, f"{session} idle")
            token = f"{session}-{i}-{secrets.token_hex(3)}"
            before = len(stub.requests)
            keys(sock, session, f"bash: sleep 3; echo tool-{i}", literal=True)
            time.sleep(0.3)
            keys(sock, session, "Enter")
            wait_until(lambda before=before: len(stub.requests) > before, 20, "the tool call")
            time.sleep(0.5)
            sent = time.perf_counter()
            say(env, session, token)
            wait_until(lambda token=token, before=before: any(
                token in json.dumps(b) for b in list(stub.requests)[before:]), 60, f"{token} at the model")
            results[session].append(time.perf_counter() - sent)
    report("in its context via the PostToolUse hook", results["cc-hooks"])
    report("typed after the turn ended", results["cc-typed"])


def hook_budget(env: dict, runs: int) -> None:
    empty = [hook(env, "sim")[0] for _ in range(runs)]
    handing = []
    for i in range(runs):
        say(env, "sim", f"budget-{i}")
        handing.append(hook(env, "sim")[0])
    print(f"`breakroom hook PostToolUse` process, start to exit (budget {hooks.HOOK_BUDGET:g} s):")
    for name, values in (("nothing queued", empty), ("handing over a message", handing)):
        print(f"  {name}: p50 {pct(values, 0.5) * 1000:.0f} ms, p99 {pct(values, 0.99) * 1000:.0f} ms "
              f"(n={len(values)})")


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs per case, 30 hook calls")
    parser.add_argument("--turn", type=float, default=6.0, help="the sim agent's turn, seconds")
    args = parser.parse_args()
    runs, calls = (3, 30) if args.quick else (10, 100)
    work = Path(tempfile.mkdtemp(prefix="breakroom-bench-"))
    sock = "brbench-" + secrets.token_hex(4)
    config = work / "breakroom.yaml"
    release = RELEASES[-1]
    claude = missing_reason(release) is None
    sessions = {"sim": {"agent": "sim"}, "bench": {"agent": "sim"}}
    if claude:
        sessions.update({"cc-hooks": {"agent": "claude-code"}, "cc-typed": {"agent": "claude-code"}})
    config.write_text(yaml.safe_dump({"data_dir": str(work / "data"),
                                      "ircd": {"mode": "ngircd", "port": free_port()},
                                      "tmux": {"socket_name": sock, "poll_interval": 0.5},
                                      "sessions": sessions}))
    env = {**os.environ, "BREAKROOM_CONFIG": str(config), "HOME": str(work)}
    env.pop("TMUX", None)
    script = work / "busy.yaml"
    script.write_text(yaml.safe_dump({"default": [{"work": args.turn}, {"say": "Noted."}]}))
    for name in ("sim", "bench"):
        tmux(sock, "new-session", "-d", "-s", name, "-x", "160", "-y", "50", "-c", str(work),
             "-e", f"BREAKROOM_CONFIG={config}", f"{BREAKROOM} sim-agent --script {script}")
    stub = ClaudeStub()
    if claude:
        for name in ("cc-hooks", "cc-typed"):
            write_home(work / f"{name}-home", work / name, release=release)
            (work / name).mkdir()
            if name == "cc-hooks":
                hooks.install(work / name, config=str(config))
            start_claude(sock, name, work / name, work / f"{name}-home", stub.url, release=release)
    up = subprocess.Popen([BREAKROOM, "up", "--only", "scribe"], env=env, cwd=work,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: len(fleet(env)) == len(sessions), 60, "every session")
        RUNNERS.update({name: PaneRunner(sock, name, work) for name in ("sim", "bench")})
        sim_runs(env, sock, runs, args.turn)
        if claude:
            claude_runs(env, sock, stub, runs, release)
        else:
            print(f"real Claude Code: skipped ({missing_reason(release)})")
        wait_until(lambda: fleet(env).get("sim") == "idle", 60, "sim idle")
        say(env, "sim", "go")
        wait_until(lambda: fleet(env).get("sim") == "working", 10, "sim working")
        hook_budget(env, calls)
    finally:
        for runner in RUNNERS.values():
            runner.close()
        stop_up(up, sock, work)
        stub.close()


if __name__ == "__main__":
    threading.excepthook = lambda args: None  # the stub's threads may die with the server
    main()
