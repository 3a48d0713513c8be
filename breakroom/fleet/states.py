"""The states an agent's pane can be in: one enum that the profiles, the observer, hooks,
delivery, the sweep and the dispatcher all name, so no two of them spell a state differently.

Values are the strings users see (``breakroom fleet``, ``!fleet``, the record) and write
(profile rules, hook reports), so ``PaneState("waiting:question")`` parses what a file or a
hook says.  Error states share the ``error:`` prefix: what a turn failed on.
"""

from __future__ import annotations

from enum import StrEnum


class PaneState(StrEnum):
    WORKING = "working"
    IDLE = "idle"
    WAITING_PERMISSION = "waiting:permission"   # a dialog that takes keys, never text
    WAITING_QUESTION = "waiting:question"       # idle, and the agent's last message asks
    EXITED = "exited"
    UNKNOWN = "unknown"                         # no profile rule matched: nothing is typed
    GONE = "gone"                               # no such session (any more)
    ERROR_AUTH = "error:auth"
    ERROR_USAGE_LIMIT = "error:usage-limit"
    ERROR_CRASHED = "error:crashed"
    ERROR_CONFIG_CORRUPTED = "error:config-corrupted"
    ERROR_RATE_LIMIT = "error:rate-limit"
    ERROR_OVERLOADED = "error:overloaded"
    ERROR_SERVER = "error:server"

    @property
    def is_error(self) -> bool:
        return self.value.startswith("error:")


# The agent waits for typed input: idle at its prompt, or asking a question (the sweep
# delivers answers to those).  Permission dialogs take keys (pressed), not text.
READY_STATES = frozenset({PaneState.IDLE, PaneState.WAITING_QUESTION})


def known_state(value: object) -> PaneState | None:
    """The state ``value`` names, or None (for untrusted input: a report from another host)."""
    return next((s for s in PaneState if s.value == value), None)


def parse_state(text: str) -> PaneState:
    """A state named in a file or a report; ValueError naming the choices otherwise."""
    try:
        return PaneState(text)
    except ValueError:
        choices = ", ".join(s.value for s in PaneState if s is not PaneState.GONE)
        raise ValueError(f"expected one of {choices}, got {text!r}") from None
