"""Each session's day as bands of state, with its stuck spells and the idle time while work
waited — from the sweep's captures (``sweep_captures``, what ``breakroom fleet --history``
prints) and the work queue's transitions.

A capture row says a walk saw the session in a state from ``ts`` and every walk until
``last_seen`` saw the same screen.  The state is taken to hold until the next row began, but
never more than :data:`HOLD_WALKS` walk intervals past ``last_seen``: longer than that, the
sweep did not see the session (it was gone, or the breakroom was down), and the band stops.

A *stuck spell* is what the sweep flags: the same working screen for ``sweep.stall_minutes``
(stalled: a frozen screen, though it says it works), or a wait on a prompt or question, or an
error, lasting ``sweep.permission_flag_minutes``.  *Idle while work waited*: an idle stretch of
at least ``sweep.idle_with_work_minutes`` while an active issue routed to the session (its
``project`` or ``role`` in the config, as the dispatcher routes) was open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from breakroom.config import Config
from breakroom.fleet.states import PaneState
from breakroom.report.window import Window, epoch
from breakroom.work.dispatch import routed_to
from breakroom.work.issue_states import ACTIVE_STATES
from breakroom.work.queue import Issue, list_issues

if TYPE_CHECKING:
    import sqlite_utils

HOLD_WALKS = 1.5
BAND_KINDS = ("working", "idle", "waiting", "error", "exited", "unknown")
Span = tuple[float, float]


def band_kind(state: str) -> str:
    """``waiting:permission`` -> ``waiting``, ``error:auth`` -> ``error``; the six kinds the
    timeline draws."""
    head = state.split(":", 1)[0]
    return head if head in BAND_KINDS else "unknown"


@dataclass(frozen=True)
class Band:
    """The session in ``state`` from ``start`` to ``end`` (epoch seconds, inside the window)."""

    start: float
    end: float
    state: str

    @property
    def kind(self) -> str:
        return band_kind(self.state)

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Spell:
    """A stretch worth a human's eye: ``stalled``, ``waiting``, ``error`` (stuck spells) or
    ``idle-with-work``; ``detail`` says what (the state, or the issues that waited)."""

    kind: str
    start: float
    end: float
    detail: str

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def stuck(self) -> bool:
        return self.kind != "idle-with-work"


@dataclass(frozen=True)
class _Segment:
    start: float
    end: float
    state: str
    shape: str


def segments(db: sqlite_utils.Database, window: Window, walk: float) -> dict[str, list[_Segment]]:
    """Every session's capture rows as back-to-back segments, clipped to the window."""
    hold = HOLD_WALKS * walk
    rows = db.execute(
        "SELECT session, ts, last_seen, state, shape FROM sweep_captures "
        "WHERE ts < ? AND last_seen >= ? ORDER BY session, ts, id",
        [window.end, window.start - hold]).fetchall()
    by_session: dict[str, list[tuple[float, float, str, str]]] = {}
    for session, ts, last_seen, state, shape in rows:
        by_session.setdefault(session, []).append((ts, last_seen, state, shape))
    out: dict[str, list[_Segment]] = {}
    for session, caps in by_session.items():
        found = []
        for i, (ts, last_seen, state, shape) in enumerate(caps):
            end = last_seen + hold
            if i + 1 < len(caps):
                end = min(end, caps[i + 1][0])
            span = window.clip(ts, end)
            if span:
                found.append(_Segment(*span, state, shape))
        if found:
            out[session] = found
    return out


def _runs(segs: Iterable[_Segment], same: str) -> list[list[_Segment]]:
    """Back-to-back segments grouped while ``same`` (an attribute name) stays equal."""
    runs: list[list[_Segment]] = []
    for seg in segs:
        last = runs[-1][-1] if runs else None
        if last and last.end == seg.start and getattr(last, same) == getattr(seg, same):
            runs[-1].append(seg)
        else:
            runs.append([seg])
    return runs


def bands(segs: list[_Segment]) -> list[Band]:
    return [Band(run[0].start, run[-1].end, run[0].state) for run in _runs(segs, "state")]


def stuck_spells(segs: list[_Segment], config: Config) -> list[Spell]:
    """Stalled working screens, and long waits and errors (the sweep's thresholds)."""
    stall, flag = config.sweep.stall_minutes * 60, config.sweep.permission_flag_minutes * 60
    spells = []
    for run in _runs((s for s in segs if s.state == PaneState.WORKING), "shape"):
        if run[-1].end - run[0].start >= stall:
            spells.append(Spell("stalled", run[0].start, run[-1].end, "the same working screen"))
    for band in bands(segs):
        if band.kind in ("waiting", "error") and band.seconds >= flag:
            spells.append(Spell(band.kind, band.start, band.end, _stuck_on(band.state)))
    return sorted(spells, key=lambda s: s.start)


def _stuck_on(state: str) -> str:
    if state == PaneState.WAITING_PERMISSION:
        return "waiting on a permission prompt"
    if state == PaneState.WAITING_QUESTION:
        return "waiting on a question"
    kind, _, what = state.partition(":")
    return f"waiting ({what})" if kind == "waiting" else f"in error ({what})"


# ---------------------------------------------------------------- idle while work waited


@dataclass(frozen=True)
class _Routing:
    """The fields of a session's status the dispatcher's routing reads (:func:`routed_to`)."""

    session: str
    project: str | None
    role: str | None
    state: str = "idle"
    since: float = 0.0


def open_work(db: sqlite_utils.Database, window: Window) -> list[tuple[Issue, list[Span]]]:
    """Each issue with the spans (inside the window) it spent in an active state."""
    rows = db.execute(
        "SELECT issue_id, ts, to_state FROM issue_transitions WHERE ts < ? ORDER BY issue_id, id",
        [window.iso_bounds()[1]]).fetchall()
    moves: dict[int, list[tuple[float, str]]] = {}
    for issue_id, ts, to_state in rows:
        moves.setdefault(issue_id, []).append((epoch(ts), to_state))
    found = []
    for issue in list_issues(db, include_done=True):
        spans = []
        trail = moves.get(issue.id, [])
        for i, (start, state) in enumerate(trail):
            end = trail[i + 1][0] if i + 1 < len(trail) else window.end
            span = window.clip(start, end) if state in ACTIVE_STATES else None
            if span:
                spans.append(span)
        if spans:
            found.append((issue, spans))
    return found


def _overlap(a: Span, b: Span) -> Span | None:
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if end > start else None


def _union(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def idle_with_work(session: str, session_bands: list[Band], work: list[tuple[Issue, list[Span]]],
                   config: Config) -> list[Spell]:
    """Idle stretches of at least ``sweep.idle_with_work_minutes`` while an active issue
    routed to ``session`` was open."""
    conf = config.session(session)
    routing = _Routing(session, conf.project, conf.role)
    mine = [(issue, spans) for issue, spans in work if routed_to(issue, routing)]
    if not mine:
        return []
    least = config.sweep.idle_with_work_minutes * 60
    waiting = _union(span for _, spans in mine for span in spans)
    spells = []
    for band in session_bands:
        if band.state != PaneState.IDLE:
            continue
        for span in waiting:
            both = _overlap((band.start, band.end), span)
            if both and both[1] - both[0] >= least:
                ids = sorted({issue.id for issue, spans in mine
                              if any(_overlap(both, s) for s in spans)})
                shown = " ".join(f"#{i}" for i in ids[:5]) + (" …" if len(ids) > 5 else "")
                spells.append(Spell("idle-with-work", *both, f"idle while {shown} waited"))
    return spells


def time_in(session_bands: Iterable[Band]) -> Mapping[str, float]:
    """Seconds per band kind."""
    total = dict.fromkeys(BAND_KINDS, 0.0)
    for band in session_bands:
        total[band.kind] += band.seconds
    return total
