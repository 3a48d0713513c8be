"""After a crash: clear what the breakroom left half-typed in an input line, and only that.

Killed between typing a message and its Enter, the breakroom leaves the text in the agent's
input line; at the next start that reads as a human's draft and every later message waits
behind it forever.  So before anything else is typed, each interrupted message's pane is
looked at: a draft that is a piece of the text the breakroom typed is erased (Backspace,
as many as it typed) and the message is typed again once; anything else in the input line
is a human's and is left alone.  An empty input line after an Enter means the agent took
the message: it counts as delivered, and is never typed twice.
"""

from __future__ import annotations

import time

from breakroom.fleet.pane import POLL, PaneGone, look, resolve_pane
from breakroom.fleet.tmux import Tmux

CLEAN, CLEARED, FOREIGN, GONE = "clean", "cleared", "foreign", "gone"
MIN_MATCH = 12          # a shorter draft could be a human's few keystrokes that happen to match
CLEAR_TIMEOUT = 2.0


def _words(text: str) -> str:
    return " ".join(text.split())


def is_leftover(draft: str, typed: str) -> bool:
    """Whether ``draft`` (the input line before the cursor) is part of what was typed: all of
    it, or a long enough piece (a wrapped input shows only its last line)."""
    draft, typed = _words(draft), _words(typed)
    return bool(draft) and draft in typed and (draft == typed or len(draft) >= MIN_MATCH)


def clear_leftover(tmux: Tmux, session: str, typed: str) -> str:
    """Erase ``typed`` from the session's input line if it is there; returns CLEAN (the line
    was empty), CLEARED, FOREIGN (someone else's draft, or it would not clear) or GONE."""
    try:
        pane_id = resolve_pane(tmux, session)
        draft = look(tmux, pane_id).draft()
        if not draft:
            return CLEAN
        if not is_leftover(draft, typed):
            return FOREIGN
        tmux.run("send-keys", "-t", pane_id, "-N", str(len(typed)), "BSpace")
        deadline = time.monotonic() + CLEAR_TIMEOUT
        while look(tmux, pane_id).draft():
            if time.monotonic() > deadline:
                return FOREIGN
            time.sleep(POLL)
        return CLEARED
    except PaneGone:
        return GONE
