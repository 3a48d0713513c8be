"""Capture the real Claude Code screens of every pinned release and mode into the corpus.

    .venv/bin/python tests/support/capture_claude_screens.py [--release R]... [--mode M]...

drives each release (default: every one the claude-code profile's ``tested`` pins) in each
permission mode (default: auto and manual) through :func:`support.claude_scenario.drive`
against :mod:`support.claude_stub`, and rewrites its screens in
``tests/fixtures/panes/claude-code/<state>/<release>-<mode>-<name>.txt`` (front matter
``version``, ``mode``, ``command``, ``question``).  Then ``breakroom screens table`` shows
what reads wrong: fix the profile's patterns until it reads right, and ``breakroom screens
table --write docs/screens.md``.  ``make claude-code-release VERSION=x.y.z`` runs all of it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for `support`

from breakroom.fleet import screens
from breakroom.paths import SCREEN_CORPUS
from support.claude_code import MODES, RELEASES, ClaudeSession, kill_server, missing_reason
from support.claude_scenario import Step, drive, drive_start_dialogs
from support.claude_stub import ClaudeStub

AGENT = "claude-code"


def forget(release: str, mode: str) -> None:
    """Remove the earlier captures of this release and mode (a state may have been renamed)."""
    for screen in screens.corpus(SCREEN_CORPUS):
        if screen.agent == AGENT and screen.version == release and screen.mode == mode:
            screen.path.unlink()


def capture(release: str, mode: str, stub: ClaudeStub, tmp: Path) -> None:
    socket = f"brcap-{uuid.uuid4().hex[:8]}"

    def save(step: Step) -> None:
        path = screens.save(SCREEN_CORPUS, agent=AGENT, state=step.state, text=step.screen,
                            name=f"{mode}-{step.name}", version=release, mode=mode,
                            command=step.command or None, question=step.question)
        print("wrote", path.relative_to(SCREEN_CORPUS))

    def make(name: str, **options: object) -> ClaudeSession:
        return ClaudeSession(socket, name, tmp / f"{mode}-{name}", stub.url, release=release, mode=mode,
                             extra_env={"CLAUDE_CODE_MAX_RETRIES": "3"}, **options)  # type: ignore[arg-type]

    forget(release, mode)
    try:
        drive(make("cc", remain=True), save)
        if mode == "manual":
            drive_start_dialogs(make, save)
    finally:
        kill_server(socket)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", action="append", help="a release (default: every pinned one)")
    parser.add_argument("--mode", action="append", choices=MODES, help="a mode (default: both)")
    args = parser.parse_args()
    releases, modes = args.release or list(RELEASES), args.mode or list(MODES)
    missing = [reason for r in releases if (reason := missing_reason(r))]
    if missing:
        print("\n".join(missing))
        return 1
    stub = ClaudeStub()
    try:
        with tempfile.TemporaryDirectory(prefix="cc-capture-") as tmp:
            for release in releases:
                for mode in modes:
                    capture(release, mode, stub, Path(tmp))
    finally:
        stub.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
