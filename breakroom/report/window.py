"""The stretch of time a report covers, and the record's two ways of writing a moment.

Most tables keep epoch seconds; the event log and the work queue keep ISO text (``…Z`` with
milliseconds, ``…+00:00`` with seconds).  Comparing ISO text of both forms on its first 19
characters (``YYYY-MM-DDTHH:MM:SS``, always UTC here) keeps the filter in SQLite.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from breakroom.errors import BreakroomError
from breakroom.record.events import parse_when

DAY = 86400.0


def epoch(iso: str) -> float:
    """An ISO time from the record (``Z`` or an offset) as epoch seconds."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def iso_second(moment: float) -> str:
    """Epoch seconds as the 19-character UTC ISO prefix the record's text times share."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in epoch seconds."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise BreakroomError("the report's window is empty: --until must be after --since")

    @classmethod
    def last(cls, seconds: float = DAY, now: float | None = None) -> Window:
        end = time.time() if now is None else now
        return cls(end - seconds, end)

    @classmethod
    def parse(cls, since: str, until: str | None = None) -> Window:
        """``--since 24h`` / ``--until 2h`` (or ISO times), as ``breakroom log`` reads them."""
        end = epoch(parse_when(until, option="--until")) if until else time.time()
        return cls(epoch(parse_when(since, option="--since")), end)

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def clip(self, start: float, end: float) -> tuple[float, float] | None:
        """The part of ``[start, end)`` inside the window, or None."""
        start, end = max(start, self.start), min(end, self.end)
        return (start, end) if end > start else None

    def iso_bounds(self) -> tuple[str, str]:
        return iso_second(self.start), iso_second(self.end)
