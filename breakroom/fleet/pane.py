"""Typing text into a tmux pane so that it arrives once, whole, and submitted.

The field's most common bug is delivery: the text lands in the input box and the Enter is
lost, or a "retry" types the message twice, or the text is typed over a human's draft.  So:

1. Look first: if the pane is in copy/choose mode, or its input line (the cursor's line,
   prompt stripped, up to the cursor) holds a draft, someone is typing — do nothing and
   report ``busy`` (the message stays queued).  Only the text *before* the cursor counts:
   agents draw placeholder hints after the cursor in an empty input box.
2. Type the text literally: ``send-keys -l`` for one short line; for several lines (or a
   long one) ``load-buffer`` + ``paste-buffer -p`` (bracketed paste when the app asked for
   it), so newlines don't submit early.
3. Wait until the echo shows (bounded), then ``enter_delay`` (+ a little per length), then
   send Enter as a *separate* tmux command.
4. Verify: the input line (or, when the agent echoed nothing, the pane) must change.  If it
   does not, press **only Enter** again, up to ``enter_retries`` times.  The text is never
   typed a second time.

These functions block (they sleep between steps); the running breakroom calls them through
``app.run_blocking``.  What they type was sanitised where it entered the breakroom
(:data:`breakroom.sanitize.Clean`, see :mod:`breakroom.fleet.delivery`).
"""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from breakroom.fleet.panestate import TypingPatterns, typing_patterns
from breakroom.fleet.tmux import Tmux

POLL = 0.03            # seconds between pane looks while waiting
ECHO_TIMEOUT = 1.0     # how long to wait for typed text to show before pressing Enter anyway
SUBMIT_TIMEOUT = 1.0   # how long one Enter has to show an effect before it is retried
MAX_EXTRA_DELAY = 1.7  # cap on the per-length addition to enter_delay
# tmux packs a client's argv into one ~16 KB message; longer text goes through a buffer.
MAX_SEND_KEYS_BYTES = 2000

_BORDER = re.compile(r"[\s│┃|╮╯]+$")
_SAFE_KEY = re.compile(r"^(?:[A-Za-z0-9]|Enter|Escape|Tab|BSpace|Space|Up|Down|Left|Right"
                       r"|Home|End|PageUp|PageDown|C-[a-z]|F[0-9]{1,2})$")


class PaneGone(Exception):
    """The target pane or session no longer exists."""


@dataclass
class PaneLook:
    """One look at a pane: its screen, the cursor, and whether a mode (copy, …) is active."""

    lines: list[str]
    cursor_x: int
    cursor_y: int
    in_mode: bool

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def draft(self, prompt: re.Pattern[str] | None = None) -> str:
        """What is typed in the input line before the cursor, ``prompt`` (the profile's
        ``input.draft``, default the shell profile's) and borders removed."""
        prompt = prompt or typing_patterns("shell").draft
        line = self.lines[self.cursor_y] if 0 <= self.cursor_y < len(self.lines) else ""
        before = _cells_prefix(line, self.cursor_x)
        return _BORDER.sub("", prompt.sub("", before, count=1)).strip()


@dataclass
class TypeResult:
    """``delivered`` (submission verified), ``busy`` (nothing typed; try later) or ``failed``."""

    status: str
    reason: str = ""
    enter_presses: int = 0


def _cells_prefix(line: str, cells: int) -> str:
    """The part of ``line`` that occupies the first ``cells`` terminal columns."""
    width = 0
    for index, char in enumerate(line):
        if width >= cells:
            return line[:index]
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return line


def _tmux_arg(text: str) -> str:
    """tmux ends a command at an argument ending in ``;`` unless it is written ``\\;``."""
    return text[:-1] + "\\;" if text.endswith(";") else text


def resolve_pane(tmux: Tmux, session: str) -> str:
    """The pane id (``%3``) of the session's active pane; raises PaneGone."""
    result = tmux.run("display-message", "-p", "-t", f"={session}:", "#{pane_id}")
    pane_id = result.stdout.strip()
    if result.returncode != 0 or not pane_id.startswith("%"):
        raise PaneGone(f"tmux session {session!r} is gone")
    return pane_id


def look(tmux: Tmux, pane_id: str) -> PaneLook:
    """Cursor, mode and screen of a pane in one tmux invocation."""
    result = tmux.run("display-message", "-p", "-t", pane_id,
                   "#{cursor_x} #{cursor_y} #{pane_in_mode}", ";",
                   "capture-pane", "-p", "-t", pane_id)
    if result.returncode != 0:
        raise PaneGone(f"pane {pane_id} is gone")
    head, _, screen = result.stdout.partition("\n")
    cursor_x, cursor_y, in_mode = (int(v) for v in head.split())
    return PaneLook(lines=screen.split("\n"), cursor_x=cursor_x, cursor_y=cursor_y,
                    in_mode=in_mode != 0)


def _send_text(tmux: Tmux, pane_id: str, text: str) -> None:
    if "\n" in text or len(text.encode("utf-8")) > MAX_SEND_KEYS_BYTES:
        buffer = "breakroom-" + secrets.token_hex(4)
        loaded = tmux.run("load-buffer", "-b", buffer, "-", stdin=text.encode("utf-8"))
        pasted = tmux.run("paste-buffer", "-p", "-d", "-b", buffer, "-t", pane_id)
        ok = loaded.returncode == 0 and pasted.returncode == 0
    else:
        ok = tmux.run("send-keys", "-t", pane_id, "-l", "--", _tmux_arg(text)).returncode == 0
    if not ok:
        raise PaneGone(f"pane {pane_id} is gone")


def _wait_for_change(tmux: Tmux, pane_id: str, changed: Callable[[PaneLook], bool],
                     timeout: float) -> PaneLook:
    """Poll until ``changed(view)`` or the timeout; returns the last view."""
    deadline = time.monotonic() + timeout
    view = look(tmux, pane_id)
    while not changed(view) and time.monotonic() < deadline:
        time.sleep(POLL)
        view = look(tmux, pane_id)
    return view


def typing_delay(text: str, enter_delay: float) -> float:
    """Pause between the text and its Enter: longer texts take the app longer to take in."""
    return enter_delay + min(MAX_EXTRA_DELAY, len(text) * 0.0005)


def type_into_pane(tmux: Tmux, session: str, text: str, *,
                   enter_delay: float = 0.3, enter_retries: int = 3,
                   patterns: TypingPatterns | None = None,
                   before_enter: Callable[[], None] | None = None) -> TypeResult:
    """Type ``text`` into the session's active pane and submit it, exactly once.

    ``patterns`` are the agent's (:func:`typing_patterns`, default the shell profile's):
    where its prompt ends, and text that would open a completion menu (a space is added
    so the menu closes and the Enter submits).
    ``before_enter`` runs once before the first Enter (the caller records that the agent
    may have the message from then on, for crash recovery).

    Returns ``busy`` without typing when someone is typing (or the pane is in a mode),
    ``failed`` when the pane is gone or no Enter was accepted (the text is then left in
    the input line, never typed again), ``delivered`` when the submission was seen.
    """
    if not text:
        return TypeResult("failed", "nothing to type")
    patterns = patterns or typing_patterns("shell")
    prompt = patterns.draft
    if patterns.completion is not None and patterns.completion.search(text):
        text += " "
    try:
        pane_id = resolve_pane(tmux, session)
        before = look(tmux, pane_id)
        if before.in_mode:
            return TypeResult("busy", "the pane is in copy mode (someone is looking at it)")
        draft = before.draft(prompt)
        if draft:
            return TypeResult("busy", "someone is typing in the input line")

        _send_text(tmux, pane_id, text)
        _wait_for_change(tmux, pane_id, lambda v: v.text != before.text, ECHO_TIMEOUT)
        time.sleep(typing_delay(text, enter_delay))
        typed = look(tmux, pane_id)
        typed_draft = typed.draft(prompt)

        def submitted(view: PaneLook) -> bool:
            if typed_draft:
                return view.draft(prompt) != typed_draft
            return view.text != typed.text

        if before_enter is not None:
            before_enter()
        for press in range(1, enter_retries + 2):
            if tmux.run("send-keys", "-t", pane_id, "Enter").returncode != 0:
                raise PaneGone(f"pane {pane_id} is gone")
            if submitted(_wait_for_change(tmux, pane_id, submitted, SUBMIT_TIMEOUT)):
                return TypeResult("delivered", "", press)
        return TypeResult("failed", f"Enter not accepted after {enter_retries + 1} presses; "
                          "the text is still in the input line", enter_retries + 1)
    except PaneGone as gone:
        return TypeResult("failed", str(gone))


def press_keys(tmux: Tmux, session: str, keys: list[str]) -> None:
    """Send named keys (``["1"]``, ``["Enter"]``) to the session's active pane, one tmux
    command each, e.g. to answer an approved permission prompt.  Only plain key names are
    accepted; anything else raises ValueError."""
    bad = [k for k in keys if not _SAFE_KEY.match(k)]
    if bad:
        raise ValueError(f"not a key name: {bad[0]!r}")
    pane_id = resolve_pane(tmux, session)
    for key in keys:
        if tmux.run("send-keys", "-t", pane_id, key).returncode != 0:
            raise PaneGone(f"pane {pane_id} is gone")
        time.sleep(POLL)
