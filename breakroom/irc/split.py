"""Fit text into IRC lines: 512 bytes including prefix and CRLF, never cut mid-character."""

from __future__ import annotations

# ":nick!~user@host PRIVMSG #channel :" as the server relays it to others: nick (31) + user (~18)
# + host (up to 63) + command + target. Reserve generously so the relayed line still fits.
PREFIX_RESERVE = 31 + 19 + 63 + 4


def budget(target: str, command: str = "PRIVMSG") -> int:
    """Bytes of text that fit in one line sent to ``target``."""
    overhead = PREFIX_RESERVE + len(command) + 1 + len(target.encode()) + 2 + 2  # " :" and CRLF
    return 512 - overhead


def split_utf8(text: str, max_bytes: int) -> list[str]:
    """Split into pieces of at most ``max_bytes`` UTF-8 bytes, preferring word boundaries."""
    pieces: list[str] = []
    # a bare CR ends a line too (dropping it would glue two words together)
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        rest = paragraph.strip()
        while rest:
            encoded = rest.encode()
            if len(encoded) <= max_bytes:
                pieces.append(rest)
                break
            cut = encoded[:max_bytes].decode("utf-8", errors="ignore")  # drops a split character
            space = cut.rfind(" ")
            if space > len(cut) // 2:
                cut = cut[:space]
            pieces.append(cut.rstrip())
            rest = rest[len(cut):].lstrip()
    return pieces


def split_message(text: str, target: str, *, command: str = "PRIVMSG") -> list[str]:
    """The lines needed to send ``text`` to ``target`` without the server truncating it."""
    return split_utf8(text, budget(target, command))
