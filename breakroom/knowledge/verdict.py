"""Whether an agent's reply rejects the answer the sweep typed into it.

The sweep types an answer only at confidence >= 0.7; the agent that reads it is the first
judge of whether it was right.  When its next message says the answer is wrong, outdated or
beside the point, that is recorded as a verdict against the answer (``knowledge_feedback``),
beside operators' ``!wrong``, and feeds the live calibration and the per-corpus correction
(:mod:`breakroom.knowledge.calibration`).  An agent that simply goes on working is no
evidence that the answer was right, so silence records nothing.

The patterns are English sentences an agent writes, not screen patterns: they hold for every
agent, so they live here rather than in the pane profiles.
"""

from __future__ import annotations

import re

_THAT = (r"(?:(?:that|this|the|your|the sweep'?s?)\s+(?:answer|suggestion|advice|reply)"
         r"|that|this|it)")
REJECTIONS = tuple(re.compile(p, re.I) for p in (
    rf"\b{_THAT}\s*(?:is|was|'s|seems|looks)\s+(?:not|n't)?\s*(?:quite\s+)?"
    r"(?:wrong|incorrect|inaccurate|outdated|out of date|mistaken|irrelevant|unrelated)\b",
    rf"\b{_THAT}\s*(?:is|was|'s|seems)\s*(?:not|n't)\s+(?:right|correct|accurate|true|relevant|"
    r"what I (?:asked|need(?:ed)?|meant))\b",
    rf"\b{_THAT}\s+(?:does|did)\s*(?:not|n't)\s+(?:answer|apply|match|help|address|fit)\b",
    r"\bnot what I (?:asked|meant|need(?:ed)?)\b",
    r"\b(?:contradicts|conflicts with) (?:the|what|my)\b",
    r"\bI don'?t think (?:that|this|it)(?:'s| is) (?:right|correct|accurate)\b",
    r"\b(?:ignoring|disregarding|discarding) (?:that|the|this) (?:answer|suggestion|reply)\b",
    r"\b(?:wrong|incorrect) answer\b",
))


def rejects(reply: str) -> bool:
    """Whether ``reply`` (an agent's message) says the answer it got is wrong."""
    text = " ".join(reply.replace("’", "'").split())
    return any(p.search(text) for p in REJECTIONS)
