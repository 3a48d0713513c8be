"""The commands every agent runs all day, timed side by side with a bare Python start.

`breakroom hook PostToolUse` runs on every tool call of every agent, and `breakroom say` is
how agents talk; both must stay near a bare `python -c pass` (target: within 2x).  Starts a
real breakroom (`breakroom up --only scribe` on ngircd, two sim agents on a private tmux
server) and times, interleaved so load hits them alike:

- `python -c pass` (this virtualenv's Python: the baseline);
- `breakroom --version` (the full CLI's start-up);
- `breakroom hook PostToolUse` with no breakroom running, and reporting to the running one
  from session a's pane (nothing queued);
- `breakroom say human …` from a's pane (a line in the channel) until it prints.

Every command is started and timed from a process inside a's pane (hooks are accepted from
nowhere else), the baseline too.

    .venv/bin/python bench/hot_paths.py           # 40 runs of each
    .venv/bin/python bench/hot_paths.py --quick   # 10 runs of each
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import yaml
from delivery_latency import BREAKROOM, start_two_sims, stop_up

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.terminal import PaneRunner

PYTHON = sys.executable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 runs of each instead of 40")
    args = parser.parse_args()
    runs = 10 if args.quick else 40
    up, sock, env, work = start_two_sims()
    down = work / "down.yaml"   # a config whose breakroom is not running
    down.write_text(yaml.safe_dump({"data_dir": str(work / "nothing-runs-here")}))
    try:
        in_a = PaneRunner(sock, "a", work)

        def timed(argv: list[str], env: dict[str, str], stdin: bytes = b"") -> float:
            return in_a.run(argv, env, stdin)[0]

        cases: dict[str, Callable[[], float]] = {
            "python -c pass": lambda: timed([PYTHON, "-c", "pass"], env),
            "breakroom --version": lambda: timed([BREAKROOM, "--version"], env),
            "breakroom hook PostToolUse (breakroom down)": lambda: timed(
                [BREAKROOM, "hook", "PostToolUse"], {**env, "BREAKROOM_CONFIG": str(down)}, b"{}"),
            "breakroom hook PostToolUse (to the running breakroom)": lambda: timed(
                [BREAKROOM, "hook", "PostToolUse"], env, b"{}"),
            "breakroom say human … from a's pane (until it prints)": lambda: timed(
                [BREAKROOM, "say", "human", "hello"], env),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(runs):
            for name, run in cases.items():
                times[name].append(run())
        bare = statistics.median(times["python -c pass"])
        print(f"runs of each: {runs} (interleaved)")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:55} median {median * 1000:6.0f} ms   {median / bare:4.1f}x bare Python")
        in_a.close()
    finally:
        stop_up(up, sock, work)


if __name__ == "__main__":
    main()
