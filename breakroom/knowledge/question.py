"""What an agent actually asks: the interrogative sentences of its message, the rest as context.

Agents rarely ask bare questions.  Claude Code writes "I looked into it. Before I go on: How
often does the sweep walk the fleet?"; the lead-in shares no words with the answer and drags
retrieval (and so the confidence) down — 0.54 against 0.78 for the bare question on the
default corpus.  So the sweep asks knowledge the sentences that ask, and hands the rest along
as context, which the engine uses only when it makes the answer more certain
(:meth:`breakroom.knowledge.engine.KnowledgeEngine.retrieve_asked`).

Which sentence asks is the agent profile's ``question.asks`` pattern (a sentence ending in
"?" by default), the same pattern that decides whether the message asks at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ASKS = re.compile(r"\?\s*$")
# A sentence ends at . ! ? followed by a space; a lead-in ends at a colon followed by a
# capital or a question word ("Before I go on: How often …", "one thing: should we …"),
# never inside "e.g. foo" or "docker-compose.yml (".
_QUESTION_WORD = (r"(?:how|what|which|who|whom|whose|why|where|when|should|shall|can|could|"
                  r"do|does|did|is|are|was|were|will|would|may|might|must)\b")
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[\"'`(\[]?[A-Z0-9])"
                       rf"|(?<=:)\s+(?=[A-Z][a-z]*\b|{_QUESTION_WORD})")
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|Mr|Ms|Dr|No)\.$")


@dataclass(frozen=True)
class AskedQuestion:
    question: str  # the sentence(s) that ask, in order
    context: str  # everything else the message said ("" when it is all question)

    @property
    def message(self) -> str:
        return f"{self.context} {self.question}".strip() if self.context else self.question


def sentences(message: str) -> list[str]:
    """``message`` cut into sentences and lead-ins (whitespace collapsed)."""
    text = " ".join(message.split())
    parts: list[str] = []
    for piece in _BOUNDARY.split(text):
        if parts and _ABBREVIATION.search(parts[-1]):
            parts[-1] = f"{parts[-1]} {piece}"  # "e.g. Celery" did not end a sentence
        elif piece:
            parts.append(piece)
    return parts


def split_question(message: str, asks: re.Pattern[str] = ASKS) -> AskedQuestion:
    """The interrogative sentences of ``message`` and the rest as context.

    A message with no sentence that asks is all question (the profile said it asks, so the
    whole of it is what to answer)."""
    parts = sentences(message)
    asking = [i for i, part in enumerate(parts) if asks.search(part)]
    if not asking:
        return AskedQuestion(" ".join(parts), "")
    question = " ".join(parts[i] for i in asking)
    context = " ".join(part for i, part in enumerate(parts) if i not in asking)
    return AskedQuestion(question, context)
