"""Run a command and take it down with us: ``python -m breakroom.irc.childguard CMD ARGS…``.

The breakroom starts its ircd through this guard.  The guard asks Linux for SIGTERM when
the breakroom dies (even by SIGKILL) and passes it on.  The ircd cannot ask for that itself
in every case: ngircd started as root switches to the user "nobody", and a change of user
clears the request.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """SIGTERM this process when its parent exits (Linux); a no-op elsewhere."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def main(argv: list[str]) -> int:
    child = subprocess.Popen(argv)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    code = child.wait()
    return 128 - code if code < 0 else code  # killed by signal N: 128+N, as a shell reports it


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
