"""The page: a :class:`~breakroom.report.gather.DayReport` through one Jinja2 template into
one self-contained HTML file — styles inline, pictures as inline SVG drawn here, no script
and nothing fetched (its Content-Security-Policy forbids both).

Everything on the page came from agents and IRC users, so the template escapes every value
(autoescape) and the environment's ``finalize`` strips control characters from, and scrubs
secrets out of, every value it prints — no template line can forget to.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import jinja2

from breakroom.report.gather import DayReport, Question
from breakroom.report.timeline import BAND_KINDS
from breakroom.sanitize import scrub_secrets, strip_controls

WIDTH = 1000.0  # the SVG timelines' user units across the window
LIST_MAX = 300  # rows a list shows (the newest); its count is always the whole
TICK_HOURS = (1, 2, 3, 6, 12, 24, 48, 168)
BINS = 10  # confidence histogram


# Values already cleaned in this render (names, states and times repeat by the thousand);
# emptied by each render, so a secret remembered since is scrubbed the next time.
_cleaned: dict[str, str] = {}


def _finalize(value: Any) -> Any:
    """Every printed value: control characters out, secrets scrubbed (escaping follows)."""
    if not isinstance(value, str):
        return value
    clean = _cleaned.get(value)
    if clean is None:
        clean = _cleaned[value] = scrub_secrets(strip_controls(value))
    return clean


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("breakroom.report", "templates"),
        autoescape=True, finalize=_finalize, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True)
    env.filters.update(dur=duration, clock=clock, stamp=stamp, short=short)
    return env


# ---------------------------------------------------------------- formatting


def duration(seconds: float) -> str:
    """``5h12m``, ``42m``, ``30s``; ``—`` for none."""
    whole = round(seconds)
    if whole == 0:
        return "—"
    if whole < 60:
        return f"{whole}s"
    minutes = whole // 60
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def clock(moment: float) -> str:
    return datetime.fromtimestamp(moment).strftime("%H:%M")


def stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment).strftime("%a %d %b %H:%M")


def short(text: str, limit: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


# ---------------------------------------------------------------- geometry


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Bin:
    low: float
    answered: int
    unanswered: int


def scale(report: DayReport) -> Callable[[float], float]:
    """Epoch seconds -> x in ``[0, WIDTH]``."""
    start, span = report.window.start, report.window.seconds
    return lambda t: round((t - start) / span * WIDTH, 2)


def ticks(report: DayReport) -> list[Tick]:
    """Whole local hours across the window, at most about eight labels."""
    w = report.window
    step = next((h for h in TICK_HOURS if w.seconds / (h * 3600) <= 8), TICK_HOURS[-1]) * 3600
    local = datetime.fromtimestamp(w.start).astimezone()
    offset = local.utcoffset()
    shift = offset.total_seconds() if offset else 0.0
    first = math.ceil((w.start + shift) / step) * step - shift
    at = scale(report)
    fmt = "%H:%M" if step < 86400 else "%a %d"
    return [Tick(at(t), datetime.fromtimestamp(t).strftime(fmt))
            for t in _frange(first, w.end, step)]


def _frange(start: float, stop: float, step: float) -> list[float]:
    count = max(0, math.ceil((stop - start) / step))
    return [start + i * step for i in range(count)]


def histogram(found: list[Question]) -> list[Bin]:
    bins = [[0, 0] for _ in range(BINS)]
    for q in found:
        slot = min(BINS - 1, max(0, int(q.confidence * BINS)))
        bins[slot][0 if q.answered else 1] += 1
    return [Bin(i / BINS, a, u) for i, (a, u) in enumerate(bins)]


def render(report: DayReport, *, refresh: float | None = None) -> str:
    """The page; ``refresh``: seconds between reloads of the live page (None: a file)."""
    env = environment()
    _cleaned.clear()
    bins = histogram(report.questions)
    tallest = max((b.answered + b.unanswered for b in bins), default=0)
    largest = max(report.messages.counts.values(), default=0)
    return env.get_template("page.html.j2").render(
        r=report, refresh=refresh, at=scale(report), width=WIDTH, ticks=ticks(report),
        kinds=BAND_KINDS, bins=bins, tallest=tallest, largest=largest, list_max=LIST_MAX,
        zone=datetime.fromtimestamp(report.window.end).astimezone().strftime("%Z (UTC%z)"))
