"""The record at scale: ingest rate through the scribe's batched writer, and the latency of
``breakroom search`` (:func:`breakroom.record.events.search`) over 1M recorded events.

Events are synthetic channel lines drawn (with a fixed seed) from a vocabulary of 5,000
words with a Zipf-like spread, so full-text search sees common and rare words as in a log.

    .venv/bin/python bench/record_search.py           # 1,000,000 events
    .venv/bin/python bench/record_search.py --quick   # 100,000 events (CI)

Target (issue 12): search over 1M events <= 50 ms p50.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from breakroom.record import events as record
from breakroom.record.db import DB_NAME, open_db

BIN = Path(sys.executable).parent
QUERIES = ["webhook retries", "flaky build", "deploy staging", "how do we price the workshop?",
           "nick length", "database migration failed", "w17 w4211", "w3", "w4999 w4998 w4997",
           "\"quoted\" -dash ? star*", "sweep answered", "release notes draft"]


def lines(count: int, size: int = 5000) -> list[str]:
    """The synthetic log lines, made before the clock starts."""
    topical = [w for q in QUERIES for w in q.replace('"', " ").split() if w.isalpha()]
    words = topical + [f"w{i}" for i in range(size - len(topical))]
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
    rng = random.Random(12)
    return [" ".join(rng.choices(words, cum_weights=cumulative, k=rng.randint(4, 16)))
            for _ in range(count)]


def ingest(db_file: Path, count: int) -> float:
    texts = lines(count)
    db = open_db(db_file)

    async def run() -> float:
        writer = record.RecordWriter(db)
        writer.start()
        started = time.perf_counter()
        for i, text in enumerate(texts):
            writer.add(record.Event(nick=f"agent{i % 40}", kind="PRIVMSG", text=text,
                                    channel="#breakroom"))
            if i % 1000 == 0:
                await asyncio.sleep(0)
        await writer.close()
        return time.perf_counter() - started
    seconds = asyncio.run(run())
    db.conn.close()
    return count / seconds


def search_latency(db_file: Path, rounds: int) -> tuple[list[float], dict[str, float], int]:
    """All timings (ms), each query's median, and how many rows came back in all."""
    db = open_db(db_file)
    times: dict[str, list[float]] = {q: [] for q in QUERIES}
    hits = 0
    for _ in range(rounds):
        for query in QUERIES:
            started = time.perf_counter()
            hits += len(record.search(db, query, limit=20))
            times[query].append((time.perf_counter() - started) * 1000)
    db.conn.close()
    return (sorted(t for ts in times.values() for t in ts),
            {q: statistics.median(ts) for q, ts in times.items()}, hits)


def cli_search(folder: Path) -> float:
    (folder / "breakroom.yaml").write_text(f"data_dir: {folder}\n")
    started = time.perf_counter()
    subprocess.run([str(BIN / "breakroom"), "search", "flaky", "build"], cwd=folder,
                   capture_output=True, check=False)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    count = 100_000 if args.quick else args.events
    with tempfile.TemporaryDirectory(prefix="brbench-record-") as tmp:
        folder = Path(tmp)
        rate = ingest(folder / DB_NAME, count)
        times, per_query, hits = search_latency(folder / DB_NAME, args.rounds)
        size_mb = (folder / DB_NAME).stat().st_size / 1e6
        print(f"{'events':>9} {'ingest':>12} {'db':>7} {'search p50':>11} {'p95':>8} {'max':>8} "
              f"{'CLI search':>11}")
        print(f"{count:>9,} {rate:>8,.0f} ev/s {size_mb:>5.0f}MB {statistics.median(times):>9.1f}ms "
              f"{times[int(len(times) * 0.95)]:>6.1f}ms {times[-1]:>6.1f}ms "
              f"{cli_search(folder):>9.0f}ms")
    slowest = sorted(per_query.items(), key=lambda kv: -kv[1])[:3]
    print("slowest queries (median): " + "; ".join(f"{q!r} {ms:.0f}ms" for q, ms in slowest))
    print(f"search: {len(QUERIES)} queries x {args.rounds} (limit 20, {hits} hits in all); "
          "CLI search: one `breakroom search` process, start-up included")


if __name__ == "__main__":
    main()
