"""N session bots in one process: resident memory and the time until all have joined.

One real ngircd, one breakroom (no service bots) and N bots with the session relay plugin,
spawned at once the way a host with N tmux sessions spawns them.  Each size runs in a fresh
child process, so the memory figure is that of a breakroom with N bots and nothing else.

    .venv/bin/python bench/session_bots.py           # 10, 100, 200, 500 bots
    .venv/bin/python bench/session_bots.py --quick   # 10, 100 bots (CI)

Targets (issue 12): 200 bots <= 300 MB RSS and all joined <= 15 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from breakroom.config import from_dict
from breakroom.irc.ircd import free_port, start_ircd
from breakroom.secrets import fill_secrets


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(count: int, config: str) -> None:
    """Runs in its own process: start the bots, wait for all joins, print JSON figures."""
    from breakroom.app.background import BackgroundBreakroom
    from breakroom.app.runtime import SESSION_PLUGINS

    cfg = from_dict(json.loads(config))
    app = BackgroundBreakroom(cfg, services=()).start()
    try:
        base = rss_mb()
        started = time.perf_counter()

        async def spawn() -> None:
            for i in range(count):
                app.app.spawn_bot(f"agent{i:03d}-bench", SESSION_PLUGINS, session=f"agent{i:03d}")
        app.call(spawn())
        app.wait_until(lambda: sum(b.in_channel for b in app.app.bots.values()) == count,
                       300, f"{count} bots joined")
        joined = time.perf_counter() - started
        print(json.dumps({"bots": count, "joined_s": joined, "rss_mb": rss_mb(),
                          "base_mb": base}))
    finally:
        app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 and 100 bots")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 200, 500])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.config)
        return
    sizes = [10, 100] if args.quick else args.sizes
    mode = "ngircd" if shutil.which("ngircd") else "miniircd"
    with tempfile.TemporaryDirectory(prefix="brbench-bots-") as tmp:
        cfg = fill_secrets(from_dict({"data_dir": str(Path(tmp) / "ircd"),
                                      "ircd": {"mode": mode, "port": free_port()}}))
        server = start_ircd(cfg)
        try:
            print(f"{'bots':>5} {'all joined':>11} {'RSS':>8} {'per bot':>8}   ({mode})")
            for size in sizes:
                raw = {"data_dir": str(Path(tmp) / f"app-{size}"), "channel": cfg.channel,
                       "channel_key": cfg.channel_key,
                       "ircd": {"mode": "external", "port": cfg.ircd.port,
                                "password": cfg.ircd.password},
                       "tmux": {"socket_name": f"brbench-none-{size}"}}
                out = subprocess.run([sys.executable, __file__, "--child", str(size),
                                      "--config", json.dumps(raw)], capture_output=True,
                                     text=True, env={"HOME": tmp, "PATH": "/usr/bin:/bin"},
                                     timeout=600, check=False)
                if out.returncode != 0:
                    sys.exit(f"{size} bots failed: {out.stderr.strip().splitlines()[-1:]}")
                r = json.loads(out.stdout.strip().splitlines()[-1])
                per_bot = (r["rss_mb"] - r["base_mb"]) / size * 1024
                print(f"{size:>5} {r['joined_s']:>10.2f}s {r['rss_mb']:>6.0f}MB {per_bot:>6.0f}KB")
        finally:
            server.stop()
    print("all joined: from the first spawn until every bot is in the channel; RSS: the "
          "whole breakroom process; per bot: RSS growth over the idle breakroom / bots")


if __name__ == "__main__":
    main()
