"""Evaluate the knowledge proxy on bench/questions.yaml over the default corpus.

Prints hit@1 / hit@3 of the sources, the key-fact rate, the I-don't-know rates, and
calibration (accuracy per confidence bucket, expected calibration error).

    .venv/bin/python bench/knowledge_eval.py            # evaluate with the shipped coefficients
    .venv/bin/python bench/knowledge_eval.py --tune     # hit@1/hit@3 per dense fusion weight
    .venv/bin/python bench/knowledge_eval.py --fit      # refit the confidence model and write it

An answer counts as *right* when its first source is the expected passage or its text holds
the expected key fact; an unanswerable question's answer is never right (the right reply is
"I don't know").  That is the event the confidence predicts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from breakroom.knowledge import corpus  # noqa: E402
from breakroom.config import KnowledgeConfig  # noqa: E402
from breakroom.knowledge.embedding import load_embedder  # noqa: E402
from breakroom.knowledge.engine import CONFIDENCE_FILE, KnowledgeEngine, extractive_answer  # noqa: E402
from breakroom.paths import CORPUS_DIR  # noqa: E402
from breakroom.knowledge.retrieval import FEATURES  # noqa: E402
from breakroom.record.db import open_db  # noqa: E402

QUESTIONS = Path(__file__).resolve().parent / "questions.yaml"
EDGES = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0001]


@dataclass
class Row:
    question: str
    answerable: bool
    hit1: bool
    hit3: bool
    key_found: bool  # the extractive answer holds the key fact (whatever the confidence)
    features: list[float]
    confidence: float

    @property
    def right(self) -> bool:
        return self.answerable and (self.hit1 or self.key_found)


def load_questions(path: Path = QUESTIONS) -> tuple[list[dict], list[dict]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["answerable"], data["unanswerable"]


def build_engine(tmp: Path) -> KnowledgeEngine:
    db = open_db(tmp / "eval.db")
    status = load_embedder()
    corpus.ingest(db, [CORPUS_DIR], status.embedder, dense_reason=status.reason)
    return KnowledgeEngine(db, KnowledgeConfig(backend="offline"), embedder=status)


def run(engine: KnowledgeEngine, answerable: list[dict], unanswerable: list[dict],
        answers: bool = True) -> list[Row]:
    rows = []
    for item, ok in [(q, True) for q in answerable] + [(q, False) for q in unanswerable]:
        result, confidence = engine.retrieve(item["q"])
        anchors = list(dict.fromkeys(h.anchor for h in result.hits))
        source = item.get("source", [])
        source = tuple(source) if isinstance(source, list) else (source,) if source else ("\0",)
        text = (extractive_answer(item["q"], result.hits, engine.index.embedder)[0]
                if answers else "")
        rows.append(Row(
            question=item["q"], answerable=ok,
            hit1=bool(anchors) and anchors[0].startswith(source),
            hit3=any(a.startswith(source) for a in anchors[:3]),
            key_found=ok and str(item["key"]).lower() in text.lower(),
            features=result.evidence.vector(), confidence=confidence))
    return rows


def calibration(conf: np.ndarray, right: np.ndarray) -> tuple[list[tuple], float]:
    """Per bucket (range, n, mean confidence, accuracy), and the expected calibration error."""
    buckets, ece = [], 0.0
    for lo, hi in zip(EDGES, EDGES[1:]):
        mask = (conf >= lo) & (conf < hi)
        if mask.sum():
            acc, mean = float(right[mask].mean()), float(conf[mask].mean())
            ece += mask.sum() / len(conf) * abs(acc - mean)
            buckets.append((f"{lo:.1f}-{min(hi, 1):.1f}", int(mask.sum()), mean, acc))
    return buckets, ece


def fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = 0.05) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method with a small L2 penalty (not on the bias)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    penalty = np.eye(xb.shape[1]) * ridge
    penalty[-1, -1] = 0
    for _ in range(100):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) + penalty @ w
        hess = xb.T @ (xb * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def cross_validated(x: np.ndarray, y: np.ndarray, folds: int = 5) -> np.ndarray:
    """Out-of-fold confidences: each question scored by a model fitted without it."""
    order = np.random.default_rng(7).permutation(len(x))
    out = np.zeros(len(x))
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        w, b = fit_logistic(x[train], y[train])
        out[test] = 1 / (1 + np.exp(-(x[test] @ w + b)))
    return out


def report(rows: list[Row], min_confidence: float, label: str = "") -> dict:
    ans = [r for r in rows if r.answerable]
    una = [r for r in rows if not r.answerable]
    conf = np.array([r.confidence for r in rows])
    right = np.array([r.right for r in rows], dtype=float)
    buckets, ece = calibration(conf, right)
    answered = [r for r in ans if r.confidence >= min_confidence]
    figures = {
        "questions": f"{len(ans)} answerable + {len(una)} unanswerable",
        "hit@1": sum(r.hit1 for r in ans) / len(ans),
        "hit@3": sum(r.hit3 for r in ans) / len(ans),
        "key-fact rate (answered)": sum(r.key_found for r in answered) / len(ans),
        "key-fact rate (extractive, any confidence)": sum(r.key_found for r in ans) / len(ans),
        "IDK rate on unanswerable": sum(r.confidence < min_confidence for r in una) / len(una),
        "IDK rate on answerable": 1 - len(answered) / len(ans),
        "right when answered": (sum(r.right for r in answered) / len(answered)) if answered else 0,
        "ECE": ece,
    }
    print(f"== {label}")
    for k, v in figures.items():
        print(f"  {k:44s} {v:.3f}" if isinstance(v, float) else f"  {k:44s} {v}")
    print("  confidence bucket      n   mean conf   accuracy")
    for rng, n, mean, acc in buckets:
        print(f"  {rng:18s} {n:5d}   {mean:9.3f}   {acc:8.3f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="refit the confidence model and write "
                        f"{CONFIDENCE_FILE.name}")
    parser.add_argument("--tune", action="store_true", help="sweep the dense fusion weight")
    args = parser.parse_args()
    answerable, unanswerable = load_questions()
    min_conf = KnowledgeConfig().min_confidence
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        engine = build_engine(Path(tmp))
        print(f"corpus ingested in {time.perf_counter() - started:.1f}s; "
              f"dense: {engine.embedder_status.reason}")
        if args.tune:
            for weight in [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0]:
                engine.index.dense_weight = weight
                rows = run(engine, answerable, [], answers=False)
                print(f"  dense weight {weight:.1f}: hit@1 {np.mean([r.hit1 for r in rows]):.3f}"
                      f"  hit@3 {np.mean([r.hit3 for r in rows]):.3f}")
            return
        rows = run(engine, answerable, unanswerable)
        if args.fit:
            x = np.array([r.features for r in rows])
            y = np.array([r.right for r in rows], dtype=float)
            oof = cross_validated(x, y)
            for r, c in zip(rows, oof):
                r.confidence = float(c)
            report(rows, min_conf, "5-fold cross-validated confidence (honest estimate)")
            w, b = fit_logistic(x, y)
            CONFIDENCE_FILE.write_text(json.dumps({
                "features": FEATURES, "weights": [round(float(v), 4) for v in w],
                "bias": round(b, 4),
                "note": (f"fitted by bench/knowledge_eval.py --fit on bench/questions.yaml "
                         f"({len(rows)} questions, label: answer right), "
                         f"logistic regression, Newton, L2 0.05, {time.strftime('%Y-%m-%d')}")},
                indent=2) + "\n", encoding="utf-8")
            print(f"wrote {CONFIDENCE_FILE}")
            engine = KnowledgeEngine(engine.db, KnowledgeConfig(backend="offline"),
                                     embedder=engine.embedder_status)
            rows = run(engine, answerable, unanswerable)
        report(rows, min_conf, "shipped confidence model")
        misses = [r.question for r in rows if r.answerable and not r.hit3]
        if misses:
            print("  not in top 3:", *misses, sep="\n    ")


if __name__ == "__main__":
    main()
