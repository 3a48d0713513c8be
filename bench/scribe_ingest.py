"""How fast the scribe records: the batched writer alone, and end to end over a real ircd.

    python bench/scribe_ingest.py [--quick]

Prints events/second for RecordWriter (in-process) and for lines sent by a raw IRC client
until they are all in SQLite (ngircd when installed, else miniircd)."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from breakroom.app.background import BackgroundBreakroom
from breakroom.config import from_dict
from breakroom.irc.ircd import free_port, start_ircd
from breakroom.record import events as record
from breakroom.record.db import open_db
from breakroom.secrets import fill_secrets


def bench_writer(n: int, folder: Path) -> float:
    db = open_db(folder / "writer.db")

    async def run() -> float:
        writer = record.RecordWriter(db)
        writer.start()
        start = time.perf_counter()
        for i in range(n):
            writer.add(record.Event(nick=f"agent{i % 12}", kind="PRIVMSG",
                                    text=f"line {i}: the webhook retries on 5xx", channel="#breakroom"))
            if i % 500 == 0:
                await asyncio.sleep(0)
        await writer.close()
        return time.perf_counter() - start
    return n / asyncio.run(run())


def bench_over_irc(n: int, folder: Path) -> tuple[str, float]:
    mode = "ngircd" if shutil.which("ngircd") else "miniircd"
    cfg = fill_secrets(from_dict({"data_dir": str(folder / "irc"),
                                  "ircd": {"mode": mode, "port": free_port()}}))
    server = start_ircd(cfg)
    try:
        with BackgroundBreakroom(cfg, ("scribe",)) as running:
            app = running.app
            sock = socket.create_connection((cfg.ircd.host, cfg.ircd.port))
            sock.sendall(f"PASS {cfg.ircd.password}\r\nNICK flood\r\nUSER flood 0 * :f\r\n"
                         f"JOIN {cfg.channel} {cfg.channel_key}\r\n".encode())
            time.sleep(0.5)
            start = time.perf_counter()
            payload = "".join(f"PRIVMSG {cfg.channel} :burst line {i}\r\n" for i in range(n))
            sock.sendall(payload.encode())
            target = f"burst line {n - 1}"
            while True:
                rows = list(app.db.query("SELECT count(*) AS c FROM events WHERE text = ?", [target]))
                if rows[0]["c"]:
                    break
                time.sleep(0.02)
            elapsed = time.perf_counter() - start
            sock.close()
            return mode, n / elapsed
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs for CI")
    args = parser.parse_args()
    n_writer, n_irc = (20_000, 1_000) if args.quick else (200_000, 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"record writer:   {bench_writer(n_writer, folder):,.0f} events/s ({n_writer:,} events)")
        mode, rate = bench_over_irc(n_irc, folder)
        print(f"scribe over IRC: {rate:,.0f} lines/s ({n_irc:,} lines through {mode}, sent in one burst)")


if __name__ == "__main__":
    main()
