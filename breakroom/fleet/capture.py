"""Capture the active pane of every tmux session with as few tmux processes as possible.

Spawning one ``tmux capture-pane`` per pane costs ~5 ms each (100 panes ≈ 500 ms); one tmux
invocation carrying many commands joined with ``;`` does the same work in ~10 ms.  A walk
therefore costs one ``list-panes`` (which also reads every pane's geometry and command) plus
one invocation per chunk of captures, each capture preceded by a marker line that splits the
output.  A tmux client refuses argv larger than ~16 KB ("command too long"), hence chunks.

tmux stops a command sequence at the first failing command: a pane that vanished between the
listing and its capture ends that invocation early, and the rest is captured by the next one.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from breakroom.fleet.tmux import Tmux, no_server

# tmux packs the client's argv into one 16 KB message; stay well below it.
MAX_ARGV_BYTES = 12_000

_FIELDS = ("pane_id", "pane_pid", "pane_width", "pane_height", "cursor_x", "cursor_y",
           "pane_current_command", "session_name")
_LIST_FORMAT = "\t".join(f"#{{{f}}}" for f in _FIELDS)
_ACTIVE_PANE = "#{&&:#{window_active},#{pane_active}}"
_MISSING_PANE = re.compile(r"can't find pane:? (%\d+)")


@dataclass
class PaneCapture:
    """What one session's active pane showed at capture time."""

    session: str
    pane_id: str
    current_command: str
    text: str
    width: int
    height: int
    cursor_x: int
    cursor_y: int
    pid: int = 0        # the pane's first process (the agent, or the shell that started it)


def _active_panes(tmux: Tmux) -> dict[str, PaneCapture]:
    """Every session's active pane with geometry and command; text filled in later."""
    result = tmux.run("list-panes", "-a", "-f", _ACTIVE_PANE, "-F", _LIST_FORMAT)
    if not result.ok:
        return {}
    panes: dict[str, PaneCapture] = {}
    for line in result.lines:
        parts = line.split("\t", len(_FIELDS) - 1)
        if len(parts) != len(_FIELDS):
            continue
        pane_id, pid, width, height, cx, cy, command, session = parts
        panes[session] = PaneCapture(session=session, pane_id=pane_id, current_command=command,
                                     text="", width=int(width), height=int(height),
                                     cursor_x=int(cx), cursor_y=int(cy), pid=int(pid or 0))
    return panes


def _first_chunk(pane_ids: list[str], marker: str, lines: int) -> tuple[list[str], list[str]]:
    """The panes and argv of the next invocation: marker+capture pairs below the size limit."""
    argv: list[str] = []
    taken: list[str] = []
    size = 0
    for index, pane_id in enumerate(pane_ids):
        # the marker carries an index, not the pane id: display-message runs its text
        # through strftime, which would read "%12" as a conversion
        pair = ["display-message", "-p", "-t", pane_id, f"{marker} {index}", ";",
                "capture-pane", "-p", "-t", pane_id, "-S", f"-{lines}", ";"]
        pair_size = sum(len(a) + 1 for a in pair)
        if taken and size + pair_size > MAX_ARGV_BYTES:
            break
        argv += pair
        size += pair_size
        taken.append(pane_id)
    return taken, argv[:-1]  # no trailing ";"


def _split_output(stdout: list[str], marker: str, pane_ids: list[str]) -> dict[str, list[str]]:
    """pane_id -> captured lines, using the indexed marker lines as separators."""
    texts: dict[str, list[str]] = {}
    current: list[str] | None = None
    prefix = marker + " "
    for line in stdout:
        if line.startswith(prefix):
            current = texts.setdefault(pane_ids[int(line[len(prefix):])], [])
        elif current is not None:
            current.append(line)
    return texts


def _tail(lines: list[str], count: int) -> str:
    """The last ``count`` lines up to the last non-blank one (a pane's bottom is often empty)."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return "\n".join(line.rstrip() for line in lines[max(0, end - count):end])


def _capture_texts(tmux: Tmux, pane_ids: list[str], lines: int) -> dict[str, str]:
    marker = "BRK-CAPTURE-" + secrets.token_hex(8)
    texts: dict[str, str] = {}
    pending = list(pane_ids)
    while pending:
        taken, argv = _first_chunk(pending, marker, lines)
        result = tmux.run(*argv)
        captured = _split_output(result.lines, marker, taken)
        texts.update({pid: _tail(body, lines) for pid, body in captured.items()})
        if result.ok:
            done = set(taken)
        elif no_server(result):
            break
        else:
            missing = next((m.group(1) for e in result.error_lines
                            if (m := _MISSING_PANE.search(e))), None)
            if missing is None or missing not in pending:
                break  # an error we cannot attribute: keep what we got rather than loop
            # a vanished pane stops the sequence: resume right after it.  tmux 3.3's
            # display-message does not fail on a missing target, so its marker may be there
            texts.pop(missing, None)
            done = set(pending[:pending.index(missing) + 1])
        pending = [pid for pid in pending if pid not in done]
    return texts


def capture_all(tmux: Tmux, lines: int = 60,
                sessions: list[str] | None = None) -> dict[str, PaneCapture]:
    """Capture the active pane of every session (or of ``sessions``) in few tmux calls.

    Returns session name -> PaneCapture; ``text`` holds up to ``lines`` lines ending at the
    last non-blank line of the screen.  Sessions that vanish mid-walk are simply absent; no
    running server gives an empty dict.
    """
    panes = _active_panes(tmux)
    if sessions is not None:
        wanted = set(sessions)
        panes = {name: pane for name, pane in panes.items() if name in wanted}
    if not panes:
        return {}
    by_id = {pane.pane_id: pane for pane in panes.values()}
    texts = _capture_texts(tmux, list(by_id), lines)
    out: dict[str, PaneCapture] = {}
    for pane_id, text in texts.items():
        pane = by_id.get(pane_id)
        if pane is not None:
            pane.text = text
            out[pane.session] = pane
    return out


def capture_joined(tmux: Tmux, session: str, lines: int) -> str | None:
    """The session's active pane with wrapped lines joined (``capture-pane -J``), for text
    shown to people: a secret wrapped at the pane's edge is one word again, so the scrubber
    sees all of it.  The last ``lines`` lines; None when the session is gone."""
    result = tmux.run("capture-pane", "-p", "-J", "-S", f"-{lines}", "-t", f"={session}:")
    if not result.ok:
        return None
    return _tail(result.lines, lines)
