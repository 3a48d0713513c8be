"""The fleet of tmux sessions and their bots (owned by the session-bots work)."""

from __future__ import annotations

from typing import Any


class SessionManager:
    """Discovers tmux sessions, gives each a bot, tracks its state and delivers into it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def start(self) -> None:
        """Begin watching the tmux server."""

    async def stop(self) -> None:
        """Stop watching; the app stops the bots."""
