"""The morning line: the page's day in one channel line, with where to see the rest."""

from __future__ import annotations

from datetime import datetime, timedelta

from breakroom.report.gather import DayReport
from breakroom.report.render import duration


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def morning_line(report: DayReport, where: str) -> str:
    """``the last 24h: 15 sessions, busiest api (16h45m working) · 3 stuck spells (longest
    shop, 1h20m) · knowledge 40 answered, 5 didn't know · stuck questions 2 answered,
    1 escalated · 14 nudges · 9 issue moves — http://127.0.0.1:6680/``"""
    hours = report.window.seconds / 3600
    span = f"{hours:.0f}h" if hours >= 1 else f"{report.window.seconds / 60:.0f}m"
    parts = [_plural(len(report.sessions), "session")]
    busiest = report.busiest()
    if busiest is not None:
        parts[0] += f", busiest {busiest.name} ({duration(busiest.seconds['working'])} working)"
    stuck = report.stuck
    if stuck:
        name, longest = max(stuck, key=lambda pair: pair[1].seconds)
        parts.append(f"{_plural(len(stuck), 'stuck spell')} (longest {name}, "
                     f"{duration(longest.seconds)})")
    else:
        parts.append("no stuck spells")
    parts.append(f"knowledge {report.answered} answered, {report.unanswered} didn't know")
    parts.append(f"stuck questions {report.sweep_count('answered')} answered, "
                 f"{report.sweep_count('escalated')} escalated")
    parts.append(_plural(len(report.nudges), "nudge"))
    parts.append(_plural(len(report.moved), "issue move"))
    return f"the last {span}: {' · '.join(parts)} — {where}"


def seconds_until(daily_at: str, now: datetime) -> float:
    """Seconds from ``now`` (local, naive) to the next ``HH:MM`` (``report.daily_at``)."""
    hour, minute = (int(part) for part in daily_at.split(":"))
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at <= now:
        at += timedelta(days=1)
    return (at - now).total_seconds()
