"""Which release of an agent runs in a pane, found without typing a key into it.

A release newer than any the suite was run against (a profile's ``tested``) is drift: its
screens may have changed under the patterns.  Typing ``/version`` into the pane would be
typing into an agent at work, so the release is read from outside:

1. the pane's agent process — the pane's first process or a descendant of it whose name
   is one of the profile's ``commands`` (``/proc/PID/comm``; ``task/*/children`` walks
   down from a shell) — is asked by running *its own binary* (``/proc/PID/exe``, plus the
   script when the binary is an interpreter running ``claude`` or ``aider`` as a script,
   under the name it was started by, so a virtualenv's python finds its venv) with the
   profile's ``version.args``, once per process, with a timeout;
2. else the screen's banner (``version.banner``, e.g. ``Claude Code v2.1.332``), remembered
   per pane by the observer, since a banner scrolls away.

Nothing runs that is not already running in a watched pane, and each process is asked at
most once: :class:`VersionProbe` caches by pid (a restarted agent is a new pid).  Asking takes
0.2–1 s per agent, so it runs on two worker threads, never in the poll: a fleet of fifteen
new panes does not hold up the first look, and the release shows a poll or two later.
"""

from __future__ import annotations

import subprocess
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from breakroom.fleet.panestate import Profile

PROC = Path("/proc")
TIMEOUT = 10.0      # seconds an agent's --version may take (aider: 1 s idle, more on a loaded machine)
MAX_DEPTH = 4       # pane process -> shell -> wrapper -> agent is deep enough
WORKERS = 2         # agents asked at once


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in (PROC / str(pid) / "task").glob("*"):
        found += [int(c) for c in _read(task / "children").split() if c.isdigit()]
    return found


def _argv(pid: int) -> list[str]:
    return [a for a in _read(PROC / str(pid) / "cmdline").split("\0") if a]


def agent_process(pane_pid: int, commands: frozenset[str]) -> int | None:
    """The pane's process (or the nearest descendant) whose name is one of ``commands``."""
    queue: deque[tuple[int, int]] = deque([(pane_pid, 0)])
    while queue:
        pid, depth = queue.popleft()
        if _read(PROC / str(pid) / "comm").strip() in commands:
            return pid
        if depth < MAX_DEPTH:
            queue.extend((child, depth + 1) for child in _children(pid))
    return None


def version_command(pid: int, args: tuple[str, ...]) -> tuple[list[str], str] | None:
    """The process's own binary with ``args``, as (argv, the binary the kernel ran it from);
    for a script (``python3 /x/claude``, the kernel names the process after the script) the
    interpreter, the script, then ``args``.  The binary is always ``/proc/PID/exe``; an
    interpreter keeps the argv[0] it was started with, which is how a virtualenv's python
    (a link to the base interpreter) finds its venv and the script its packages."""
    try:
        exe = str((PROC / str(pid) / "exe").resolve(strict=True))
    except OSError:
        return None
    argv, comm = _argv(pid), _read(PROC / str(pid) / "comm").strip()
    if len(argv) > 1 and Path(argv[1]).name == comm:
        cwd = (PROC / str(pid) / "cwd").resolve()
        script = Path(argv[1]) if Path(argv[1]).is_absolute() else cwd / argv[1]
        interpreter = argv[0] if "/" in argv[0] else exe
        return [str(cwd / interpreter), str(script), *args], exe
    return [exe, *args], exe


def ask_release(pid: int, profile: Profile) -> str | None:
    """Run the agent process's binary with the profile's ``version.args``; the release its
    output names, or None (no binary, no answer in time, nothing that reads as a release)."""
    assert profile.version is not None
    found = version_command(pid, profile.version.args)
    if found is None:
        return None
    command, binary = found
    try:
        done = subprocess.run(command, executable=binary, capture_output=True, text=True, timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL, errors="replace")
    except (OSError, subprocess.SubprocessError):
        return None
    match = profile.version.pattern.search(done.stdout + "\n" + done.stderr)
    return match.group(1) if match else None


def banner_release(text: str, profile: Profile) -> str | None:
    """The release an agent's banner on screen names, if it shows one."""
    if profile.version is None or profile.version.banner is None:
        return None
    found = profile.version.banner.search(text)
    return found.group(1) if found else None


class VersionProbe:
    """Releases of the agents in panes, each agent process asked once, off the caller's thread
    (thread-safe: the observer asks from its capture thread and reads from the loop)."""

    def __init__(self) -> None:
        self._by_pane: dict[int, tuple[int, Future[str | None]]] = {}  # pane pid -> (agent pid, answer)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="version-probe")

    def ask(self, pane_pid: int, profile: Profile) -> Future[str | None] | None:
        """Have the pane's agent process asked, unless it was; the answer to wait on if one
        is wanted now (None: the profile says no way to ask, or no agent process runs)."""
        if profile.version is None or not profile.version.args or pane_pid <= 0:
            return None
        with self._lock:
            known = self._by_pane.get(pane_pid)
        if known is not None and _read(PROC / str(known[0]) / "comm").strip() in profile.commands:
            return known[1]  # that agent process still runs: it was asked
        pid = agent_process(pane_pid, profile.commands)
        if pid is None:
            return None
        answer = self._pool.submit(ask_release, pid, profile)
        with self._lock:
            self._by_pane[pane_pid] = (pid, answer)
        return answer

    def release(self, pane_pid: int) -> str | None:
        """The release of the pane's agent, once its answer is in."""
        with self._lock:
            known = self._by_pane.get(pane_pid)
        return known[1].result() if known is not None and known[1].done() else None

    def forget(self, pane_pid: int) -> None:
        with self._lock:
            self._by_pane.pop(pane_pid, None)
