"""Where a test's processes run, as the breakroom's identity check sees them.

- :func:`run_on_terminal`: a person at a terminal outside every pane — the child gets a
  pseudo-terminal of its own as its controlling terminal (what ``--as SESSION`` needs; a
  test run by CI has none to inherit);
- :func:`run_in_pane`: a process inside a session's pane (a new window of that session), as
  an agent's own commands and hooks run; :class:`PaneRunner` runs many there, for benchmarks.
"""

from __future__ import annotations

import json
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


# Runs in a window of the session: each request (one JSON line: argv, env, stdin) is run as a
# child of this process, inside the session's pane tree (with the pane's $TMUX and $TMUX_PANE
# unless the request says otherwise), and answered with its duration and output (one line).
_RUNNER = """
import json, os, subprocess, sys, time
with open(sys.argv[1]) as requests, open(sys.argv[2], "w") as answers:
    for line in requests:
        ask = json.loads(line)
        start = time.perf_counter()
        done = subprocess.run(ask["argv"], env={**os.environ, **ask["env"]}, input=ask["stdin"].encode(),
                              capture_output=True)
        answers.write(json.dumps({"seconds": time.perf_counter() - start, "rc": done.returncode,
                                  "out": done.stdout.decode(errors="replace")}) + "\\n")
        answers.flush()
"""


class PaneRunner:
    """Runs commands inside a session's pane tree again and again (as the agent there runs its
    hooks and ``breakroom say``), timing each where it runs: for benchmarks, where starting a
    tmux window per command would be measured too."""

    def __init__(self, tmux_socket: str, session: str, folder: Path):
        tag = uuid.uuid4().hex[:8]
        self._in, self._out = folder / f"runner-{tag}.in", folder / f"runner-{tag}.out"
        os.mkfifo(self._in)
        os.mkfifo(self._out)
        words = (sys.executable, "-c", _RUNNER, str(self._in), str(self._out))
        subprocess.run(["tmux", "-L", tmux_socket, "new-window", "-d", "-t", f"={session}:",
                        " ".join(map(shlex.quote, words))], check=True)
        # the two FIFOs stay open while the runner lives; close() ends both
        self._requests = open(self._in, "w")  # noqa: SIM115
        self._answers = open(self._out)  # noqa: SIM115

    def run(self, argv: list[str], env: dict[str, str], stdin: bytes = b"") -> tuple[float, int, str]:
        """(seconds the command took, its exit code, its stdout)."""
        self._requests.write(json.dumps({"argv": argv, "env": env, "stdin": stdin.decode()}) + "\n")
        self._requests.flush()
        answer = json.loads(self._answers.readline())
        return answer["seconds"], answer["rc"], answer["out"]

    def close(self) -> None:
        self._requests.close()
        self._answers.close()
