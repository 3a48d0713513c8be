"""Where a test's processes run, as the breakroom's identity check sees them.

- :func:`run_on_terminal`: a person at a terminal outside every pane — the child gets a
  pseudo-terminal of its own as its controlling terminal (what ``--as SESSION`` needs; a
  test run by CI has none to inherit);
- :func:`run_in_pane`: a process inside a session's pane (a new window of that session), as
  an agent's own commands and hooks run.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from support.wait import wait_until

# Runs in the child, a new session's leader: opening the tty makes it the controlling one.
_ACQUIRE = "import os, sys; os.close(os.open(sys.argv[1], os.O_RDWR)); os.execvp(sys.argv[2], sys.argv[2:])"


def run_on_terminal(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    """``subprocess.run(argv, **kwargs)`` with a fresh pseudo-terminal as the child's
    controlling terminal (its stdin/stdout/stderr stay whatever ``kwargs`` say)."""
    master, slave = os.openpty()
    try:
        wrapped = [sys.executable, "-c", _ACQUIRE, os.ttyname(slave), *argv]
        return subprocess.run(wrapped, start_new_session=True, **kwargs)
    finally:
        os.close(slave)
        os.close(master)


def run_in_pane(tmux_socket: str, session: str, command: str, folder: Path, *,
                stdin: bytes | None = None, timeout: float = 20.0) -> tuple[int, str]:
    """Run the shell ``command`` in a new window of ``session`` (a process inside its pane
    tree) and return its exit code and output (stdout and stderr together); ``stdin`` is
    fed from a file."""
    tag = uuid.uuid4().hex[:8]
    out, rc = folder / f"{tag}.out", folder / f"{tag}.rc"
    feed = ""
    if stdin is not None:
        (folder / f"{tag}.in").write_bytes(stdin)
        feed = f" <{shlex.quote(str(folder / f'{tag}.in'))}"
    script = folder / f"{tag}.sh"
    script.write_text(f"{command}{feed} >{out} 2>&1; echo $? >{rc}.tmp; mv {rc}.tmp {rc}\n")
    subprocess.run(["tmux", "-L", tmux_socket, "new-window", "-d", "-t", f"={session}:",
                    f"sh {script}"], check=True)
    wait_until(rc.exists, timeout, f"{command!r} finished in {session}'s pane")
    return int(rc.read_text()), out.read_text()
