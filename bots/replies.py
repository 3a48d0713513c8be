"""How the knowledge proxy's answers read on IRC (the engine answers; this formats lines).

``alice: [q7f3] (confidence 0.82) answer … — sources: a.md#X`` — at most a few lines, a long
answer cut at a word with a pointer to the full text (``breakroom read k42``).
"""

from __future__ import annotations

from breakroom.irc.split import split_message
from breakroom.knowledge.engine import Answer


def sources_tail(answer: Answer) -> str:
    """`` — sources: a.md#X, b.md`` (``nearest sources`` for "I don't know"), and the note."""
    label = "nearest sources" if answer.idk else "sources"
    tail = f" — {label}: {', '.join(answer.sources)}" if answer.sources else ""
    if answer.note:
        tail += f" ({answer.note})"
    return tail


def format_reply(answer: Answer, asker: str, target: str, max_lines: int = 3) -> list[str]:
    """The reply as at most ``max_lines`` IRC lines to ``target``.

    ``alice: [q7f3] (confidence 0.82) answer … — sources: a.md#X``.  An answer too long for
    the lines is cut at a word and points to the full text (``breakroom read k42``).
    """
    head = f"{asker}: " + (f"[{answer.request_id}] " if answer.request_id else "")
    head += f"(confidence {answer.confidence:.2f}) "
    tail = sources_tail(answer)
    body = " ".join(answer.text.split())
    lines = split_message(head + body + tail, target)
    if len(lines) <= max_lines:
        return lines
    pointer = f" … (full answer: breakroom read {answer.ref})"
    words = body.split(" ")
    while words:
        words = words[: max(1, int(len(words) * 0.9)) if len(words) > 1 else 0]
        lines = split_message(head + " ".join(words) + pointer + tail, target)
        if len(lines) <= max_lines:
            return lines
    return split_message(head + pointer.strip() + tail, target)[:max_lines]
