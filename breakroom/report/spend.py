"""What each session spent: the page's seam for issue 19 (``breakroom cost``).

Nothing in the record holds tokens or cost yet.  Issue 19 reads the agents' transcripts into
the database; when it lands, :func:`session_spend` returns its figures for the window and the
page's *Spend* section and each session's row show them with no other change (the page says
"not recorded" while this returns nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from breakroom.report.window import Window

if TYPE_CHECKING:
    import sqlite_utils


@dataclass(frozen=True)
class SessionSpend:
    """One session's use of its model over the window."""

    session: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # None: tokens known, no price for the model

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def session_spend(db: sqlite_utils.Database, window: Window) -> list[SessionSpend]:
    """Tokens and estimated cost per session in ``window``; empty until issue 19 records them."""
    del db, window  # the seam: issue 19's query of its own table goes here
    return []
