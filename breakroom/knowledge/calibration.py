"""A per-corpus correction of the confidence, learned from operators' verdicts.

The confidence model is fitted on several corpora and transfers to a new one only roughly:
how often the first source is right differs between corpora (79 % on the default corpus,
34 % on Celery's FAQ), and no retrieval feature can tell.  Operators' ``!right`` /
``!wrong`` on this corpus's own answers can: the correction is a shift of the model's
log-odds, fitted to the verdicts and shrunk towards no shift by a prior worth
``PRIOR_VERDICTS`` verdicts, so a handful of verdicts moves it a little and a few hundred
move it as far as they say.  Agents' rejections of the sweep's answers are not used: only
rejections are recorded (an agent that goes on working says nothing), and a one-sided
sample would only ever push the confidence down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

# How strongly the shift is held at 0: a Gaussian prior with the curvature of this many
# verdicts at p = 0.5.  Chosen on the bench's simulated verdicts (docs/knowledge.md): with 20
# verdicts, 40 lowers the ECE on every corpus; 10 moves further but lowers it on five of seven
# and costs precision at 0.7 on four.
PRIOR_VERDICTS = 40.0
AGENT = " (agent)"  # how a verdict from an agent's reply is signed (``shop (agent)``)
MAX_SHIFT = 3.0  # log-odds; a corpus the model is that wrong about needs a refit, not a patch


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def fit_shift(verdicts: Sequence[tuple[float, bool]], prior: float = PRIOR_VERDICTS) -> float:
    """The log-odds shift that best explains ``verdicts`` ((model confidence, right) pairs),
    by damped Newton steps on the penalised likelihood."""
    if not verdicts:
        return 0.0
    logits = [logit(c) for c, _ in verdicts]
    shift = 0.0
    precision = prior / 4  # the curvature of `prior` verdicts at p = 0.5
    for _ in range(200):
        probs = [sigmoid(z + shift) for z in logits]
        grad = sum(float(right) - p for p, (_, right) in zip(probs, verdicts, strict=True))
        grad -= precision * shift
        hess = sum(p * (1 - p) for p in probs) + precision
        step = max(-0.5, min(0.5, grad / hess))  # damped: far from 0 the curvature misleads
        shift += step
        if abs(step) < 1e-9:
            break
    return max(-MAX_SHIFT, min(MAX_SHIFT, shift))


def corrected(confidence: float, shift: float) -> float:
    return confidence if shift == 0.0 else sigmoid(logit(confidence) + shift)


def operator_verdicts(db: sqlite_utils.Database) -> list[tuple[float, bool]]:
    """(the model's confidence, right) for every answer an operator judged (the latest
    verdict counts; agents' rejections are left out, see the module docstring)."""
    rows = db.execute(
        "SELECT coalesce(a.model_confidence, a.confidence), f.right FROM knowledge_feedback f "
        "JOIN knowledge_answers a ON a.id = f.answer_id WHERE f.judge NOT LIKE ? "
        "AND f.id = (SELECT max(id) FROM knowledge_feedback g WHERE g.answer_id = f.answer_id "
        "AND g.judge NOT LIKE ?)", [f"%{AGENT}"] * 2).fetchall()
    return [(float(c), bool(r)) for c, r in rows]


class Correction:
    """The shift for one corpus's database, refitted when a verdict is added."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._seen: tuple[int, int] | None = None
        self.shift = 0.0
        self.verdicts = 0

    def refresh(self) -> float:
        seen = self.db.execute("SELECT count(*), coalesce(max(id), 0) FROM knowledge_feedback"
                               ).fetchone()
        if tuple(seen) != self._seen:
            verdicts = operator_verdicts(self.db)
            self.shift, self.verdicts, self._seen = fit_shift(verdicts), len(verdicts), tuple(seen)
        return self.shift

    def __call__(self, confidence: float) -> float:
        return corrected(confidence, self.refresh())
