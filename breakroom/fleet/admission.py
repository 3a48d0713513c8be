"""Whether the breakroom may type into a pane at all: only into an agent.

Text typed at a shell's prompt is a command line: ``$(touch F)`` said in the channel would
run.  The ``[breakroom #N]`` tag that starts a delivery happens to make bash and dash read a
comment, but zsh (and a program nobody profiled) reads it differently, so nothing is typed
while the pane's foreground program is a shell or an agent no profile knows — unless the
session opts in with ``sessions.NAME.deliver: any``.  The message stays in the inbox.
"""

from __future__ import annotations

from breakroom.fleet import panestate


def refusal(agent: str, current_command: str | None, mode: str) -> str | None:
    """Why nothing may be typed into this pane, or None when typing is allowed."""
    if mode == "any":
        return None
    if current_command and current_command in panestate.shell_commands():
        return f"its foreground program is the shell {current_command}, not an agent"
    if agent in (panestate.UNKNOWN_AGENT, "shell") or agent not in panestate.available_agents():
        program = f"{current_command!r}" if current_command else "its program"
        return f"no agent profile knows {program}"
    return None
