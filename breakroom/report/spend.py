"""What each session spent over the page's window: tokens and estimated cost read from the
agents' transcripts (:mod:`breakroom.work.spend`, the same figures as ``breakroom cost``).
The page says "not recorded" while there are none (agents without hooks, or none yet)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from breakroom.report.window import Window
from breakroom.work.spend import PriceTable, SessionSpend
from breakroom.work.spend import session_spend as spent_between

__all__ = ["SessionSpend", "session_spend"]

if TYPE_CHECKING:
    import sqlite_utils


def session_spend(db: sqlite_utils.Database, window: Window,
                  prices: PriceTable | None = None) -> list[SessionSpend]:
    """Tokens and estimated cost per session in ``window`` (``prices``: the config's, else the
    shipped estimates)."""
    return spent_between(db, window.start, window.end, prices)
