"""Who a local caller is, from the kernel rather than from the caller's own claim.

``$TMUX_PANE``, a ``"session"`` field or ``--as`` are whatever the caller chose to say; a
process's parent chain and controlling terminal are kept by the kernel.  A process whose
ancestry reaches a pane's ``#{pane_pid}`` (or whose controlling tty is a pane's tty) runs
*in* that pane, and may act only as that pane's session.  Outside every pane of the fleet's
tmux server:

- a hook report is refused: hooks run inside the agent they report on, so one from
  anywhere else is forged (it could say a working agent is idle, and have it typed into);
- naming a session to act as needs a person's terminal: a controlling tty that is no pane
  of the fleet.  A process that left its pane's tree *and* its terminal (an agent's child
  that double-forked and called ``setsid``) has none, and is refused; so are cron jobs.

(Another uid is refused outright by the control socket.)  What this cannot see: a same-uid
process that gives itself a terminal of its own (a new pseudo-terminal, another tmux server)
looks like a person; and same-uid processes can drive tmux or read the database directly.
docs/security.md draws that line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from breakroom.control.client import Caller, Identify
from breakroom.errors import BreakroomError
from breakroom.fleet.tmux import Tmux

MAX_DEPTH = 256    # a parent chain longer than this is a loop or a hostile /proc; stop
PANE_ONLY_OPS = frozenset({"hook"})  # operations only a process inside a pane may ask for


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may itself hold spaces and parens)."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    return text.rsplit(")", 1)[1].split()


def ancestry(pid: int) -> list[int]:
    """``pid`` and its parents up to (not including) pid 0; empty when ``pid`` is gone."""
    chain: list[int] = []
    while pid > 0 and len(chain) < MAX_DEPTH and pid not in chain:
        try:
            parent = int(_stat_fields(pid)[1])
        except (OSError, ValueError, IndexError):
            break
        chain.append(pid)
        pid = parent
    return chain


def controlling_tty(pid: int) -> int | None:
    """The device number of the process's controlling terminal, None without one."""
    try:
        tty_nr = int(_stat_fields(pid)[4])
    except (OSError, ValueError, IndexError):
        return None
    return tty_nr or None


@dataclass(frozen=True)
class PaneProcess:
    session: str
    pid: int
    tty: int | None     # st_rdev of the pane's pty
    pane_id: str = ""   # %3


def panes(socket_name: str | None) -> list[PaneProcess]:
    """Every pane of the tmux server (all windows, not only active ones): its session,
    the pid of the process it started, and its terminal."""
    result = Tmux(socket_name, timeout=5).run("list-panes", "-a", "-F",
                                              "#{pane_pid}\t#{pane_tty}\t#{pane_id}\t#{session_name}")
    found = []
    for line in result.lines if result.ok else []:
        pid, tty, pane_id, session = [*line.split("\t", 3), "", "", ""][:4]
        if not pid.isdigit() or not session:
            continue
        try:
            rdev: int | None = os.stat(tty).st_rdev if tty else None
        except OSError:
            rdev = None
        found.append(PaneProcess(session=session, pid=int(pid), tty=rdev, pane_id=pane_id))
    return found


def pane_session(pid: int, socket_name: str | None, known: list[PaneProcess] | None = None
                 ) -> str | None:
    """The session whose pane holds process ``pid``, or None when it is outside every pane."""
    known = panes(socket_name) if known is None else known
    by_pid = {p.pid: p.session for p in known}
    for ancestor in ancestry(pid):
        if ancestor in by_pid:
            return by_pid[ancestor]
    tty = controlling_tty(pid)
    return next((p.session for p in known if tty is not None and p.tty == tty), None)


def acting_session(in_pane: str | None, claimed: str | None, *, terminal: bool) -> str | None:
    """The session a caller may act as: its own pane's, whatever it claims; outside every
    pane, the one it names (``--as``) when it runs on a person's terminal (``terminal``: it
    has a controlling tty), or None when it names none.  A pane's process claiming another
    session, or a process with no terminal claiming one, is refused with one clear line."""
    claimed = claimed or None
    if in_pane is None:
        if claimed is not None and not terminal:
            raise BreakroomError(f"refused: acting as {claimed!r} from outside the fleet's panes needs "
                                 "a person's terminal, and this process has no controlling terminal")
        return claimed
    if claimed is not None and claimed != in_pane:
        raise BreakroomError(f"refused: this process runs in session {in_pane!r}'s pane and "
                             f"can act only as {in_pane!r}, not {claimed!r}")
    return in_pane


def identify_callers(socket_name: str | None) -> Identify:
    """What the control server is handed to settle who each request comes from: the kernel's
    answer (the peer's ancestry and terminal) for the fleet on ``socket_name``."""
    def identify(pid: int, claimed: str, claimed_pane: str, op: str) -> Caller:
        known = panes(socket_name)
        in_pane = pane_session(pid, socket_name, known)
        if in_pane is None and op in PANE_ONLY_OPS:
            raise BreakroomError(f"refused: {op} reports come only from inside one of the fleet's panes")
        if not claimed and claimed_pane:  # $TMUX_PANE: a pane of another session is refused too
            claimed = next((p.session for p in known if p.pane_id == claimed_pane), "")
        terminal = controlling_tty(pid) is not None
        return Caller(acting_session(in_pane, claimed, terminal=terminal), in_pane=in_pane is not None)
    return identify
