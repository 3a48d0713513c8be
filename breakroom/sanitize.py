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
from typing import NewType

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

# A token starts where no letter or digit precedes it: ``\b`` would miss one after ``_``.
_START = r"(?<![A-Za-z0-9])"
# Patterns that must find a later "." or "://" start only where a run of their own body
# characters starts: starting inside the run, each failed try would rescan it (quadratic).
_RUN_START = r"(?<![A-Za-z0-9_\-])"
_SECRET_PATTERNS = [
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),                      # Anthropic
    re.compile(_START + r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),  # OpenAI-style
    re.compile(_START + r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}"),  # GitHub tokens
    re.compile(_START + r"github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(_START + r"glpat-[A-Za-z0-9_\-]{20,}"),                # GitLab
    re.compile(_START + r"(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),  # AWS access key ids
    re.compile(_START + r"xox[abposr]-[A-Za-z0-9\-]{10,}"),          # Slack
    re.compile(_START + r"xapp-[0-9]-[A-Za-z0-9\-]{10,}"),
    re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9/_\-]+"),
    re.compile(_START + r"AIza[0-9A-Za-z_\-]{35}"),                   # Google API keys
    re.compile(_START + r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"),  # Stripe
    re.compile(_START + r"npm_[A-Za-z0-9]{36}"),                       # npm
    re.compile(_START + r"pypi-[A-Za-z0-9_\-]{50,}"),                 # PyPI
    re.compile(_START + r"hf_[A-Za-z0-9]{30,}"),                       # Hugging Face
    re.compile(_RUN_START + r"SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"),  # SendGrid
    re.compile(_START + r"dop_v1_[a-f0-9]{64}"),                       # DigitalOcean
    # JWTs: header.payload.signature, the first two base64url JSON objects ("eyJ")
    re.compile(_RUN_START + r"eyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*"),
    re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----.*?"
               r"(?:-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|$)", re.DOTALL),
]
# ``NAME=value``, ``NAME: value``, ``"NAME": "value"``: the name is a whole run of name
# characters (one match start per run keeps this linear on hostile input); whether it names
# a secret is decided by :func:`_names_secret`.
_ASSIGNMENT = re.compile(r"(?<![A-Za-z0-9_\-])([A-Za-z0-9_\-]+)[\"']?[ \t]*[=:][ \t]*")
_VALUE = re.compile(r"\"[^\"\n]*\"?|'[^'\n]*'?|[^\s\"',;&]+")
_SECRET_SUFFIXES = ("password", "passwd", "passphrase", "secret", "token", "apikey")
_SECRET_WORDS = {"key", "pwd", "credential", "credentials"}
# Keep the label, hide the value: "Bearer [redacted]", "https://user:[redacted]@host".
_LABELLED_SECRETS = [
    re.compile(r"(?i)(" + _START + r"bearer\s+)[A-Za-z0-9._~+/\-]{8,}=*"),
    re.compile(r"(://[^\s:/@]*:)[^\s/@]+(?=@)"),  # from "://", whatever the scheme
]


def _names_secret(name: str) -> bool:
    """A ``_``/``-`` separated word of the name ends in password, token, secret, … or is
    key, pwd, credentials (AWS_SECRET_ACCESS_KEY, PGPASSWORD, x-api-key; not monkey)."""
    words = re.split(r"[_\-]", name.lower())
    return any(w in _SECRET_WORDS or w.endswith(_SECRET_SUFFIXES) for w in words)


def _hide_assigned(text: str) -> str:
    """Replace the value of every assignment whose name says it is a secret.  Only then is
    the value read (reading every value would rescan the text after each ``x=``), and only
    a secret's value is skipped: in ``note: PASSWORD=x`` the next name is inside the value
    of ``note``."""
    out: list[str] = []
    done = 0
    for match in _ASSIGNMENT.finditer(text):
        if match.start() < done or not _names_secret(match.group(1)):
            continue
        found = _VALUE.match(text, match.end())
        if found is None:
            continue
        value = found.group(0)
        quote = value[0] if value[0] in "\"'" else ""
        closed = quote if len(value) > 1 and value.endswith(quote) else ""
        out += [text[done:match.end()], quote, REDACTED, closed]
        done = match.end() + len(value)
    return "".join(out) + text[done:]


_MIN_OWN_SECRET = 4
_own_secrets: set[str] = set()


def remember_secret(value: str | None) -> None:
    """Add one of the breakroom's own secrets (server password, channel key, operator
    password) to what every scrub hides, wherever the text goes."""
    if value and len(value) >= _MIN_OWN_SECRET and value not in REDACTED:
        _own_secrets.add(value)


def to_text(raw: str | bytes) -> str:
    """Decode bytes as UTF-8, dropping invalid sequences (never guessing another charset)."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="ignore")
    # a str can still carry lone surrogates (e.g. from surrogateescape decoding)
    return raw.encode("utf-8", errors="ignore").decode("utf-8")


def strip_controls(raw: str | bytes, *, keep_newlines: bool = True) -> str:
    """Remove escape sequences, formatting codes and control characters.

    Newlines are kept (normalised from CRLF/CR) unless ``keep_newlines`` is false, when
    every line break becomes a space; tabs become spaces.  Repeated until nothing changes:
    removing one piece must not join its neighbours into another (``[2[201~01~``).
    """
    text = to_text(raw)
    while True:
        cleaned = _strip_once(text, keep_newlines)
        if cleaned == text:
            return text
        text = cleaned


def _strip_once(text: str, keep_newlines: bool) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _MIRC_COLOUR.sub("", text)
    if not keep_newlines:
        text = text.replace("\n", " ")
    text = _CONTROL.sub("", text)
    return _PASTE_MARKER_TAIL.sub("", text)


def scrub_secrets(text: str) -> str:
    """Replace keys, tokens, password assignments, URL credentials and the breakroom's own
    secrets with ``[redacted]``."""
    for secret in sorted(_own_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    text = _hide_assigned(text)
    for pattern in _LABELLED_SECRETS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


# Text that went through :func:`sanitize` (or :func:`one_line`) where it entered the
# breakroom: what delivery stores and types takes only this, so untrusted text is cleaned
# once, on the way in, and the type checker proves no path skips it.
Clean = NewType("Clean", str)


def sanitize(raw: str | bytes, *, keep_newlines: bool = True) -> Clean:
    """Untrusted text made safe to store, relay and type: controls stripped, secrets scrubbed,
    surrounding whitespace trimmed.  Secrets are scrubbed before stripping too: stripping an
    escape can eat a token's first letter (``ESC sk-ant-…`` loses its ``s``) and hide the rest
    from the patterns; after, for a token split by controls (``sk-\x1b[0mant-…``)."""
    text = scrub_secrets(to_text(raw))
    return Clean(scrub_secrets(strip_controls(text, keep_newlines=keep_newlines)).strip())


def one_line(raw: str | bytes) -> Clean:
    """:func:`sanitize` for a single IRC line or log field: line breaks become spaces."""
    return Clean(re.sub(r" {2,}", " ", sanitize(raw, keep_newlines=False)))
