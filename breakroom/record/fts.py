"""Turn a user's raw words into an FTS5 query that can never be a syntax error.

A raw question is not an FTS5 query: quotes, ``?``, ``-``, ``*`` and ``NEAR(`` raise
``OperationalError``, and ANDing every word almost never matches.  We keep word tokens,
drop stop words (unless nothing else is left), quote each token and OR them.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)

STOP_WORDS = frozenset(
    [
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as",
        "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can",
        "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further",
        "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his",
        "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my",
        "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our",
        "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than",
        "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this",
        "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what",
        "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
        "yours", "yourself", "yourselves", "s", "t", "don", "should've", "ll", "re", "ve", "d", "m", "o",
        "y", "shall", "may", "might", "must", "us", "let", "lets",
    ]
)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, apostrophes folded away (``don't`` -> ``dont``)."""
    return [t.lower().replace("'", "").replace("’", "") for t in _TOKEN.findall(text or "")]


def content_tokens(text: str) -> list[str]:
    """Tokens without stop words, order kept, duplicates removed; all tokens if that leaves none."""
    toks = tokens(text)
    kept = [t for t in toks if t not in STOP_WORDS]
    seen: dict[str, None] = {}
    for t in kept or toks:
        seen.setdefault(t, None)
    return list(seen)


def match_query(text: str, *, max_terms: int = 32) -> str | None:
    """An OR query of quoted tokens, or None when the text has no searchable word."""
    toks = content_tokens(text)[:max_terms]
    if not toks:
        return None
    return " OR ".join(f'"{t}"' for t in toks)


def all_terms_query(text: str, *, max_terms: int = 32) -> str | None:
    """An AND query of quoted tokens (every word must appear), or None."""
    toks = content_tokens(text)[:max_terms]
    if not toks:
        return None
    return " AND ".join(f'"{t}"' for t in toks)
