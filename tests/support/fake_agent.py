"""A stand-in agent for the tests that need a program, not a real CLI: named like the agent,
it answers ``--version`` and otherwise shows a screen and waits, like an agent at its prompt."""

from __future__ import annotations

import sys
from pathlib import Path

RULE = "─" * 60


def fake_claude(bindir: Path, release: str, screen: str) -> Path:
    """A program named ``claude`` (a script: the kernel names its process ``claude``) that
    prints ``release (Claude Code)`` for ``--version`` and otherwise shows ``screen``."""
    bindir.mkdir(parents=True, exist_ok=True)
    (bindir / "screen.txt").write_text(screen)
    program = bindir / "claude"
    program.write_text(f"#!{sys.executable}\nimport sys, time\n"
                       f"if sys.argv[1:] == ['--version']:\n    print('{release} (Claude Code)')\n"
                       f"    sys.exit(0)\n"
                       f"sys.stdout.write(open({str(bindir / 'screen.txt')!r}).read())\n"
                       "sys.stdout.flush()\ntime.sleep(3600)\n")
    program.chmod(0o755)
    return program
