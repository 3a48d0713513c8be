"""Make untrusted text safe to type into a pane, relay on IRC, or write to a log.

Anything arriving from IRC (or from another agent) is untrusted.  Typed into a terminal,
an escape sequence can recolour or clear the screen, ``\\x1b[201~`` can end a bracketed
paste early so the rest runs as keystrokes, and a C0 control such as ``\\x03`` is a Ctrl-C.
So before text reaches ``send-keys`` it loses every escape sequence (CSI, OSC, DCS, …, both
the 7-bit ``ESC [`` and the 8-bit C1 forms), mIRC formatting codes, every remaining C0/C1
control character except newline and tab, invisible direction overrides, and invalid UTF-8.

Keys and tokens (Anthropic/OpenAI keys, GitHub tokens, AWS access keys, Slack tokens,
``Bearer …`` headers, ``password=…`` assignments, PEM private keys) are replaced by
``[redacted]`` wherever text is relayed or recorded: one agent pasting its environment must
not spread a secret to the whole fleet.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

# ESC-introduced sequences: CSI (ESC [ … final), OSC/DCS/SOS/PM/APC strings (ESC ] … BEL or ST),
# and two-character escapes (ESC + one byte, e.g. ESC c = reset).  The 8-bit C1 forms
# (\x9b = CSI, \x9d = OSC, \x90 = DCS, …) are handled the same way.
_ESCAPE_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]?      # CSI (final byte may be cut off)
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|$)  # OSC/DCS/SOS/PM/APC
  | \x1b [\x20-\x2f]* [\x30-\x7e]?                               # other escapes (nF, Fp, Fe, Fs)
    """,
    re.VERBOSE | re.DOTALL,
)
# mIRC formatting: colour \x03[fg[,bg]], hex colour \x04RRGGBB[,RRGGBB], bold, italic, …
_MIRC_COLOUR = re.compile(r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?")
# C0 except \t and \n, DEL, C1; plus Unicode format characters that reorder or hide text
# (bidi overrides/isolates, zero-width joiners used for smuggling, BOM, line/paragraph seps).
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"
    "\u2028\u2029\ufeff\ufff9-\ufffb]"
)
# What survives of a bracketed-paste marker once its ESC is gone is harmless text, but a
# marker must never be reassembled, so the literal tails go too.
_PASTE_MARKER_TAIL = re.compile(r"\[20[01]~")

_SECRET_PATTERNS = [
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),                      # Anthropic
    re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{20,}"),              # OpenAI-style
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}"),      # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),                   # AWS access key ids
    re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),                # Slack
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),                      # Google API keys
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
               re.DOTALL),
]
# Keep the label, hide the value: "Bearer [redacted]", "password=[redacted]".
_LABELLED_SECRETS = [
    re.compile(r"(\b[Bb]earer\s+)[A-Za-z0-9._~+/\-]{8,}=*"),
    re.compile(r"(?i)(\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)"
               r"\s*[=:]\s*[\"']?)[^\s\"',;]+"),
]


def to_text(raw: str | bytes) -> str:
    """Decode bytes as UTF-8, dropping invalid sequences (never guessing another charset)."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="ignore")
    # a str can still carry lone surrogates (e.g. from surrogateescape decoding)
    return raw.encode("utf-8", errors="ignore").decode("utf-8")


def strip_controls(raw: str | bytes, *, keep_newlines: bool = True) -> str:
    """Remove escape sequences, formatting codes and control characters.

    Newlines are kept (normalised from CRLF/CR) unless ``keep_newlines`` is false, when
    every line break becomes a space; tabs become spaces.
    """
    text = to_text(raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _MIRC_COLOUR.sub("", text)
    if not keep_newlines:
        text = text.replace("\n", " ")
    text = _CONTROL.sub("", text)
    return _PASTE_MARKER_TAIL.sub("", text)


def scrub_secrets(text: str) -> str:
    """Replace keys, tokens and password assignments with ``[redacted]``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    for pattern in _LABELLED_SECRETS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def sanitize(raw: str | bytes, *, keep_newlines: bool = True) -> str:
    """Untrusted text made safe to store, relay and type: controls stripped, secrets scrubbed,
    surrounding whitespace trimmed."""
    return scrub_secrets(strip_controls(raw, keep_newlines=keep_newlines)).strip()


def one_line(raw: str | bytes) -> str:
    """:func:`sanitize` for a single IRC line or log field: line breaks become spaces."""
    return re.sub(r" {2,}", " ", sanitize(raw, keep_newlines=False))
