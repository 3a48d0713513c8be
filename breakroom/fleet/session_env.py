"""Which tmux session the current process runs in (for `breakroom say`, `hook`, …)."""

from __future__ import annotations

import os

from breakroom.control.client import NOT_IN_TMUX
from breakroom.errors import BreakroomError
from breakroom.fleet.identity import acting_session, controlling_tty, pane_session
from breakroom.fleet.tmux import Tmux


def current_session(explicit: str | None = None, *, timeout: float = 2.0) -> str:
    """``explicit`` (from ``--as``) if given, else the session of ``$TMUX_PANE``.

    ``$TMUX`` is ``socket_path,server_pid,session_index``; asking that socket (not the
    default one) keeps sessions on a private tmux server working."""
    if explicit:
        return explicit
    tmux_env = os.environ.get("TMUX", "")
    socket_path = tmux_env.split(",", 1)[0]
    if not socket_path:
        raise BreakroomError(NOT_IN_TMUX)
    tmux = Tmux(socket_path=socket_path, timeout=timeout)
    name = tmux.display("#{session_name}", os.environ.get("TMUX_PANE") or None)
    if not name:
        raise BreakroomError(NOT_IN_TMUX)
    return name


def checked_session(explicit: str | None, socket_name: str | None) -> str:
    """The session this process may act as, checked here for commands that read the
    database directly: inside a pane, that pane's session (``--as`` another is refused);
    outside every pane, ``--as`` or ``$TMUX_PANE``'s session, on a person's terminal only."""
    pid = os.getpid()
    in_pane = pane_session(pid, socket_name)
    claimed = explicit if in_pane is not None else explicit or current_session(None)
    session = acting_session(in_pane, claimed, terminal=controlling_tty(pid) is not None)
    assert session is not None  # in a pane: that pane's; outside: the claim, or current_session raised
    return session
