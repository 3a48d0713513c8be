"""How fast the knowledge proxy is: retrieval alone, an ask over IRC, and ingest.

    python bench/knowledge_latency.py [--quick]

Prints p50/p99 of retrieval on the default corpus and on generated corpora (1k documents;
10k too without --quick), the round trip of `knowledge: question` over a real ircd (ngircd
when installed, else miniircd), and ingest time per 1k chunks (embedding included).

Generated documents are one passage each, made of words drawn from the default corpus.  Their
vectors are random unit vectors: searching them costs exactly what real vectors cost, and
embedding them would take minutes; the embedding cost is measured on its own (ingest per 1k
chunks, on a sample of real-sized generated passages).
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from breakroom.app.background import BackgroundBreakroom
from breakroom.config import KnowledgeConfig, from_dict
from breakroom.irc.ircd import free_port, start_ircd
from breakroom.knowledge import corpus
from breakroom.knowledge.embedding import MODEL_ID, load_embedder, to_blob
from breakroom.knowledge.engine import KnowledgeEngine
from breakroom.paths import CORPUS_DIR
from breakroom.record.db import DB_NAME, open_db
from breakroom.secrets import fill_secrets

QUESTIONS = Path(__file__).resolve().parent / "questions.yaml"


def questions() -> list[str]:
    data = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    return [q["q"] for q in data["answerable"] + data["unanswerable"]]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def fmt(values_ms: list[float]) -> str:
    return (f"p50 {pct(values_ms, 50):7.1f} ms   p99 {pct(values_ms, 99):7.1f} ms   "
            f"(n={len(values_ms)})")


def generate_corpus(root: Path, n_docs: int, seed: int = 1) -> None:
    """``n_docs`` one-passage markdown documents of ten 12-word sentences (~120 words) drawn
    from the default corpus's words: sentences, so an answer quotes and embeds them."""
    text = " ".join(p.read_text().lower() for p in CORPUS_DIR.rglob("*.md"))
    words = re.findall(r"[a-z]{3,}", text)
    rng = random.Random(seed)
    for i in range(n_docs):
        folder = root / f"d{i // 1000:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        title = " ".join(rng.choices(words, k=3))
        body = " ".join(" ".join(rng.choices(words, k=12)).capitalize() + "." for _ in range(10))
        (folder / f"doc{i:05d}.md").write_text(f"# {title}\n\n## {rng.choice(words)}\n\n{body}\n")


def random_vectors(db, seed: int = 2) -> None:
    """Fill in unit vectors for every passage without one (see the module docstring)."""
    rng = np.random.default_rng(seed)
    hashes = [h for (h,) in db.execute(
        "SELECT c.hash FROM corpus_chunks c LEFT JOIN corpus_vectors v ON v.hash = c.hash "
        "AND v.model = ? WHERE v.hash IS NULL", [MODEL_ID])]
    vectors = rng.standard_normal((len(hashes), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    db.execute("BEGIN")
    db.conn.executemany("INSERT INTO corpus_vectors (hash, model, vector) VALUES (?,?,?)",
                        [(h, MODEL_ID, to_blob(v)) for h, v in zip(hashes, vectors, strict=True)])
    db.execute("COMMIT")


def bench_retrieval(engine: KnowledgeEngine, qs: list[str], rounds: int) -> list[float]:
    engine.retrieve(qs[0])  # load the vector matrix once
    times = []
    for _ in range(rounds):
        for q in qs:
            start = time.perf_counter()
            engine.retrieve(q)
            times.append((time.perf_counter() - start) * 1000)
    return times


def bench_generated(folder: Path, n_docs: int, qs: list[str], status) -> tuple[int, list[float]]:
    root = folder / f"gen{n_docs}"
    generate_corpus(root, n_docs)
    db = open_db(folder / f"gen{n_docs}.db")
    corpus.ingest(db, [root], None)
    if status.embedder is not None:
        random_vectors(db)
    engine = KnowledgeEngine(db, KnowledgeConfig(backend="offline"), embedder=status)
    return corpus.stats(db).chunks, bench_retrieval(engine, qs, 1)


def bench_ingest(folder: Path, n_chunks: int, status) -> float:
    """Seconds per 1k chunks for a real ingest (parse, chunk, embed, write)."""
    root = folder / "ingest"
    generate_corpus(root, n_chunks, seed=3)
    db = open_db(folder / "ingest.db")
    start = time.perf_counter()
    report = corpus.ingest(db, [root], status.embedder)
    return (time.perf_counter() - start) / report.chunks * 1000


# One asker asks at most this often in the "one at a time" run: the bot's outbox sends a burst
# of 10 lines, then 4 a second (breakroom/irc/outbox.py), so questions fired back to back
# measure that pacing, not the proxy.  Both runs are printed.
ASK_GAP = 1.0


def bench_over_irc(folder: Path, qs: list[str], gap: float, corpus_root: Path = CORPUS_DIR,
                   index: Path | None = None) -> tuple[str, list[float]]:
    """Round trips of ``knowledge: [id] question`` over a real ircd, ``gap`` s apart, answered
    from ``corpus_root`` (``index``: a database already holding it, copied in, so the bot's
    start-up ingest finds every file unchanged).  A generated corpus is word soup that the
    proxy rightly does not know, so there it answers regardless (both floors at 0): the
    timing is of the whole answer path, retrieval plus the extractive answer."""
    floors = {} if corpus_root == CORPUS_DIR else {"min_coverage": 0.0, "min_confidence": 0.0}
    mode = "ngircd" if shutil.which("ngircd") else "miniircd"
    data_dir = folder / f"irc-{time.time_ns()}"
    if index is not None:
        data_dir.mkdir(mode=0o700)
        shutil.copy(index, data_dir / DB_NAME)
    cfg = fill_secrets(from_dict({
        "data_dir": str(data_dir), "ircd": {"mode": mode, "port": free_port()},
        "tmux": {"socket_name": f"brbench-{time.time_ns()}"},
        "knowledge": {"backend": "offline", "rate_limit_per_minute": 100_000,
                      "corpus": [str(corpus_root)], **floors}}))
    server = start_ircd(cfg)
    try:
        with BackgroundBreakroom(cfg, ("knowledge",)):
            sock = socket.create_connection((cfg.ircd.host, cfg.ircd.port))
            reader = sock.makefile("rb")
            sock.sendall(f"PASS {cfg.ircd.password}\r\nNICK asker\r\nUSER asker 0 * :a\r\n"
                         f"JOIN {cfg.channel} {cfg.channel_key}\r\n".encode())

            def wait_for(pattern: bytes) -> None:
                while True:
                    line = reader.readline()
                    if line.startswith(b"PING"):
                        sock.sendall(b"PONG" + line[4:])
                    if pattern in line:
                        return
            wait_for(b" 366 ")
            times = []
            for i, q in enumerate([qs[0], *qs]):  # the first waits for the corpus: not counted
                if i and gap:
                    time.sleep(gap)  # pacing the load, as one asker at a time would
                rid = f"q{i:04x}"
                start = time.perf_counter()
                sock.sendall(f"PRIVMSG {cfg.channel} :knowledge: [{rid}] {q}\r\n".encode())
                wait_for(f"[{rid}] (confidence".encode())
                if i:
                    times.append((time.perf_counter() - start) * 1000)
            sock.close()
            return mode, times
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small runs for CI (under a minute)")
    args = parser.parse_args()
    qs = questions()
    status = load_embedder()
    print(f"retrieval: {status.reason}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = open_db(folder / "default.db")
        started = time.perf_counter()
        report = corpus.ingest(db, [CORPUS_DIR], status.embedder, dense_reason=status.reason)
        print(f"default corpus: {corpus.stats(db).documents} docs, {report.chunks} chunks, "
              f"ingested in {time.perf_counter() - started:.1f}s")
        engine = KnowledgeEngine(db, KnowledgeConfig(backend="offline"), embedder=status)
        times = bench_retrieval(engine, qs, 1 if args.quick else 5)
        print(f"retrieval, default corpus:      {fmt(times)}")
        sizes = [1000] if args.quick else [1000, 10_000]
        for n_docs in sizes:
            chunks, times = bench_generated(folder, n_docs, qs, status)
            print(f"retrieval, {n_docs:>6,} generated docs ({chunks:,} chunks): {fmt(times)}")
        sample = 100 if args.quick else 1000
        print(f"ingest: {bench_ingest(folder, sample, status):.1f} s per 1k chunks "
              f"(measured on {sample} chunks, embedding included)")
        asked = qs[:20] if args.quick else qs
        mode, times = bench_over_irc(folder, asked, ASK_GAP)
        print(f"ask over IRC ({mode}), offline, one at a time ({ASK_GAP:.0f} s apart): "
              f"{fmt(times)}")
        mode, times = bench_over_irc(folder, asked, 0.0)
        print(f"ask over IRC ({mode}), offline, back to back (outbox pacing):  {fmt(times)}")
        n_docs = sizes[-1]
        db = open_db(folder / f"gen{n_docs}.db")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.close()
        mode, times = bench_over_irc(folder, asked, ASK_GAP, folder / f"gen{n_docs}",
                                     index=folder / f"gen{n_docs}.db")
        print(f"ask over IRC ({mode}), offline, {n_docs:,} generated docs, one at a time: "
              f"{fmt(times)}")


if __name__ == "__main__":
    main()
