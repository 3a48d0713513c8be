"""The per-corpus correction: operators' verdicts on this corpus shift its confidence."""

from __future__ import annotations

import pytest

from breakroom.config import KnowledgeConfig
from breakroom.knowledge import engine as knowledge
from breakroom.knowledge.calibration import MAX_SHIFT, corrected, fit_shift, operator_verdicts
from breakroom.knowledge.engine import KnowledgeEngine

QUESTION = "How often does the sweep walk the fleet?"


def test_no_verdicts_no_shift_and_the_shift_follows_the_verdicts():
    assert fit_shift([]) == 0.0
    assert corrected(0.42, 0.0) == 0.42
    too_sure = [(0.8, i % 2 == 0) for i in range(1000)]  # said 0.8, right half the time
    too_shy = [(0.4, i % 5 != 0) for i in range(1000)]  # said 0.4, right 80 % of the time
    assert corrected(0.8, fit_shift(too_sure)) == pytest.approx(0.5, abs=0.03)
    assert corrected(0.4, fit_shift(too_shy)) == pytest.approx(0.8, abs=0.03)
    # 60 verdicts against a prior worth 40: part of the way there
    assert 0.5 < corrected(0.4, fit_shift(too_shy[:60])) < 0.75


def test_a_few_verdicts_move_the_confidence_a_little_and_never_past_the_bound():
    few = fit_shift([(0.8, False)] * 3)
    many = fit_shift([(0.8, False)] * 100)
    assert -1.0 < few < 0 and many < few
    assert fit_shift([(0.999, False)] * 10_000) == -MAX_SHIFT


def test_the_engine_corrects_its_confidence_from_operators_verdicts_only(shipped_db):
    engine = KnowledgeEngine(shipped_db, KnowledgeConfig(backend="offline"))
    before = engine.retrieve(QUESTION)
    assert before.confidence == before.model_confidence
    answers = [engine.ask(QUESTION, "alice") for _ in range(12)]
    assert answers[0].model_confidence == pytest.approx(before.model_confidence)
    for answer in answers:  # an agent's rejections do not move it (one-sided: see calibration)
        knowledge.judge(shipped_db, answer.id, False, "shop (agent)")
    assert engine.retrieve(QUESTION).confidence == pytest.approx(before.confidence)
    for answer in answers:
        knowledge.judge(shipped_db, answer.id, False, "alice")
    after = engine.retrieve(QUESTION)
    assert after.model_confidence == pytest.approx(before.model_confidence)
    shift = fit_shift(operator_verdicts(shipped_db))
    assert shift < 0 and after.confidence == pytest.approx(corrected(before.confidence, shift))
    stats = knowledge.stats(shipped_db)
    assert (stats.corrected_from, stats.agent_rejections) == (12, 0)  # latest verdict: alice's
    assert stats.correction == pytest.approx(shift)
    shipped_db.execute("DELETE FROM knowledge_feedback")
