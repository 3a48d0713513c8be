"""The fleet's page for a day of a 15-session fleet: how long ``breakroom report`` takes to
gather the record and render the page.

The day is generated with the engine's own writers (``tests/support/fleet_day.py``: sweep
walks every 5 minutes, dispatcher cycles every 10, thousands of messages, knowledge
questions, nudges, issue moves), then the page is built from it several times.

    .venv/bin/python bench/report_build.py            # a day, then a week, 10 builds each
    .venv/bin/python bench/report_build.py --quick    # a day, 3 builds (CI)
    .venv/bin/python bench/report_build.py --quick --screenshot docs/report.png --phone docs/report-phone.png
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from breakroom.record.db import DB_NAME, open_db
from breakroom.report.gather import build
from breakroom.report.page import write_page
from breakroom.report.render import render
from breakroom.report.window import DAY, Window
from tests.support.fleet_day import SESSIONS, fleet_config, generate

FLEET = 15


def measure(days: int, builds: int, page: Path | None, shots: dict[Path, tuple[int, int]]) -> None:
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        data = Path(tmp)
        config = fleet_config(data, SESSIONS[:FLEET])
        db = open_db(data / DB_NAME)
        end = time.time()
        started = time.perf_counter()
        day = generate(db, config, sessions=FLEET, hours=24 * days, end=end)
        generated = time.perf_counter() - started
        rows = {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("events", "inbox", "sweep_captures", "knowledge_answers",
                              "sweep_questions", "dispatch_audit", "issue_transitions")}
        window = Window(end - days * DAY, end)
        gathers, renders = [], []
        html = ""
        for _ in range(builds):
            t0 = time.perf_counter()
            report = build(db, config, window)
            t1 = time.perf_counter()
            html = render(report)
            t2 = time.perf_counter()
            gathers.append((t1 - t0) * 1000)
            renders.append((t2 - t1) * 1000)
        totals = [g + r for g, r in zip(gathers, renders, strict=True)]
        label = "a day" if days == 1 else f"{days} days"
        print(f"\n{label} of {FLEET} sessions — generated in {generated:.1f} s:")
        print("  record: " + ", ".join(f"{n:,} {table}" for table, n in rows.items()))
        print(f"  page: {len(report.sessions)} sessions, {report.messages.total:,} messages, "
              f"{len(report.questions)} questions, {len(report.nudges)} nudges, "
              f"{len(report.moved)} moves, {len(report.stuck)} stuck spells; "
              f"{len(html.encode()) / 1024:.0f} KiB of HTML")
        print(f"  build ({builds}×): gather median {statistics.median(gathers):.0f} ms, "
              f"render median {statistics.median(renders):.0f} ms, "
              f"total median {statistics.median(totals):.0f} ms (max {max(totals):.0f} ms)")
        assert len(report.sessions) == FLEET and day.walks == days * 288
        if page or shots:
            target = write_page(page or data / "report.html", html)
            for shot, (width, height) in shots.items():
                from tests.support.chromium import screenshot
                screenshot(target.as_uri(), shot, width=width, height=height)
                print(f"  screenshot ({width}×{height}): {shot}")
        db.conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a day only, 3 builds")
    parser.add_argument("--page", type=Path, help="keep the day's page here")
    parser.add_argument("--screenshot", type=Path, help="a PNG of the day's page, 1280 px wide "
                        "(headless Chromium)")
    parser.add_argument("--phone", type=Path, help="a PNG of the day's page, 390 px wide")
    args = parser.parse_args()
    shots = {path: size for path, size in ((args.screenshot, (1280, 1500)), (args.phone, (390, 1400)))
             if path}
    measure(1, 3 if args.quick else 10, args.page, shots)
    if not args.quick:
        measure(7, 5, None, {})


if __name__ == "__main__":
    main()
