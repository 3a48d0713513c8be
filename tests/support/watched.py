"""A real agent in a tmux session, watched by a running breakroom, as the live tests of the
agents drive it: its state as the breakroom reads it, and a human on IRC who sends it
messages and reads the notices that say what became of them."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from typing import Any

from breakroom.fleet.manager import SessionStatus
from support.app import AppThread
from support.irc import RawClient
from support.tmux_pane import capture


class Watched:
    """``session`` on tmux server ``socket`` as ``app`` sees it; ``talk`` connects the human
    who talks to it in ``channel`` (``irc_client(ircd, nick)``), once its bot is there."""

    def __init__(self, app: AppThread, session: str, socket: str, talk: Callable[[], RawClient],
                 channel: str) -> None:
        self.app, self.session, self.socket, self.channel = app, session, socket, channel
        self._talk = talk
        self._human: RawClient | None = None

    @property
    def human(self) -> RawClient:
        if self._human is None:
            self.app.wait_until(lambda: self.app.app.sessions.nick_for(self.session), 30,
                                f"{self.session}'s bot")
            self._human = self._talk()
        return self._human

    def status(self) -> SessionStatus | None:
        return next((s for s in self.app.app.sessions.status() if s.session == self.session), None)

    def state(self) -> str:
        found = self.status()
        return found.state if found else "gone"

    def wait_state(self, state: str, timeout: float = 20.0, what: str = "") -> Any:
        return self._wait(lambda: self.state() == state, timeout, what or f"{self.session} read as {state}")

    def wait_question(self, question: str, timeout: float = 10.0) -> None:
        """The breakroom reads ``question`` as the one the agent asks."""
        self._wait(lambda: (found := self.status()) is not None and found.question == question, timeout,
                   f"{self.session} read as asking {question!r}")

    def _wait(self, ok: Callable[[], bool], timeout: float, what: str) -> Any:
        """Wait for ``ok``; a timeout says what the breakroom read, and from which screen."""
        try:
            return self.app.wait_until(ok, timeout, what)
        except AssertionError as exc:
            found = self.status()
            read = f"{found.state}, question {found.question!r}" if found else "no such session"
            try:
                screen = capture(self.socket, self.session)
            except subprocess.CalledProcessError as gone:  # the pane itself is gone
                screen = f"(no screen: {gone})"
            raise AssertionError(f"{exc}; read {read} from:\n{screen}") from None

    def send(self, text: str) -> None:
        """The human addresses the session's bot in the channel."""
        self.human.say(self.channel, f"{self.app.app.sessions.nick_for(self.session)}: {text}")

    def queued(self, number: int, state: str) -> None:
        """The notice that message ``number`` waits, queued behind the agent in ``state``."""
        self.human.wait_for(rf"NOTICE {self.human.nick} :#{number} queued behind a busy agent "
                            rf"\({re.escape(self.session)} is {re.escape(state)}\)")

    def delivered(self, number: int, timeout: float = 60.0) -> None:
        self.human.wait_for(rf"NOTICE {self.human.nick} :delivered #{number} to {re.escape(self.session)}",
                            timeout)

    def never_typed(self, text: str, looks: int = 5) -> None:
        """``text`` is on none of ``looks`` captures of the pane taken now."""
        screens = [capture(self.socket, self.session) for _ in range(looks)]
        assert not [s for s in screens if text in s], screens[-1]
