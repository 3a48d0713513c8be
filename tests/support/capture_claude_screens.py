"""Capture the real Claude Code screens in ``tests/fixtures/panes/claude-code/*/linux-*.txt``.

Run ``.venv/bin/python tests/support/capture_claude_screens.py`` after a Claude Code upgrade: it
drives the CLI through every state against :mod:`tests.claude_stub` and rewrites the
``linux-*`` fixtures; then fix the profile until ``tests/fleet/test_panestate.py`` passes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the support package

from support.claude_code import keys, missing_reason, pane_command, start_claude, wait_screen, write_home
from support.claude_stub import ASK_TEXT, ClaudeStub

OUT = Path(__file__).parents[1] / "fixtures" / "panes" / "claude-code"
SOCKET = "breakroom-capture"


def save(state: str, name: str, screen: str, **front: str) -> None:
    path = OUT / state / f"linux-{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "".join(f"{k}: {v}\n" for k, v in front.items())
    path.write_text((f"---\n{head}---\n" if head else "") + screen.rstrip() + "\n", encoding="utf-8")
    print("wrote", path.relative_to(OUT))


def type_line(session: str, text: str) -> None:
    """Type, wait for the echo, press Enter until the input line is empty again."""
    keys(SOCKET, session, text, literal=True)
    wait_screen(SOCKET, session, lambda x: text[-20:] in x.replace("\n  ", " "))
    for _ in range(5):
        time.sleep(0.5)
        keys(SOCKET, session, "Enter")
        try:
            wait_screen(SOCKET, session, lambda x: bool(re.search(r"^❯\s*$", x, re.M)) or "proceed" in x, 2)
            return
        except AssertionError:
            continue


def main() -> int:
    reason = missing_reason()
    if reason:
        print(reason)
        return 1
    stub = ClaudeStub()
    tmp = Path(tempfile.mkdtemp(prefix="cc-capture-"))
    s = "cc"
    try:
        write_home(tmp / "home", tmp / "work")
        start_claude(SOCKET, s, tmp / "work", tmp / "home", stub.url,
                     extra_env={"CLAUDE_CODE_MAX_RETRIES": "2"})
        subprocess.run(["tmux", "-L", SOCKET, "set-option", "-t", f"={s}:", "remain-on-exit", "on"])
        save("idle", "fresh-start", wait_screen(SOCKET, s, lambda x: "? for shortcuts" in x, 30),
             command="claude")

        type_line(s, "slow 6 " + "a long streaming reply " * 6)
        save("working", "streaming",
             wait_screen(SOCKET, s, lambda x: "esc to interrupt" in x and "● echo" in x), command="claude")
        save("idle", "after-turn",
             wait_screen(SOCKET, s, lambda x: ("for shortcuts" in x and "Churned" in x)
                         or ("for shortcuts" in x and " for " in x.split("● echo")[-1])),
             command="claude")

        type_line(s, "bash-ask: sleep 3; echo tool-output")
        save("working", "tool-running", wait_screen(SOCKET, s, lambda x: "Running…" in x),
             command="claude")
        save("waiting-question", "after-tool-call",
             wait_screen(SOCKET, s, lambda x: x.count(ASK_TEXT) == 1 and "for shortcuts" in x),
             command="claude", question=ASK_TEXT)

        type_line(s, "ask")
        save("waiting-question", "plain",
             wait_screen(SOCKET, s, lambda x: x.count(ASK_TEXT) == 2 and "for shortcuts" in x),
             command="claude", question=ASK_TEXT)

        type_line(s, "bash: touch made-by-the-test.txt")
        save("waiting-permission", "bash-touch",
             wait_screen(SOCKET, s, lambda x: "Do you want to proceed?" in x), command="claude")
        keys(SOCKET, s, "Escape")
        save("idle", "after-permission-escape",
             wait_screen(SOCKET, s, lambda x: "Interrupted" in x and "for shortcuts" in x), command="claude")

        type_line(s, "fail 529")
        save("working", "api-retrying", wait_screen(SOCKET, s, lambda x: "Retrying in" in x, 40),
             command="claude")
        save("idle", "after-overloaded-error",
             wait_screen(SOCKET, s, lambda x: "529" in x and "for shortcuts" in x, 90), command="claude")

        type_line(s, "fail credit")
        save("error-usage-limit", "credit-balance-too-low",
             wait_screen(SOCKET, s, lambda x: "redit balance" in x and "for shortcuts" in x, 60),
             command="claude")
        type_line(s, "good turn after the credit error")
        save("idle", "good-turn-after-credit-error",
             wait_screen(SOCKET, s,
                         lambda x: "echo: good turn after the credit" in x and "for shortcuts" in x),
             command="claude")

        type_line(s, "fail 401")
        save("error-auth", "invalid-api-key",
             wait_screen(SOCKET, s, lambda x: "Invalid API key" in x and "for shortcuts" in x, 120),
             command="claude")
        type_line(s, "good turn after the auth error")
        save("idle", "good-turn-after-auth-error",
             wait_screen(SOCKET, s, lambda x: "echo: good turn after the auth" in x and "for shortcuts" in x),
             command="claude")

        type_line(s, "/exit")
        exited = wait_screen(SOCKET, s, lambda x: "claude --resume" in x, 20)
        save("exited", "resume-hint", exited, command=pane_command(SOCKET, s) or "claude")

        t = "trust"
        write_home(tmp / "home2", tmp / "work2", trusted=False)
        start_claude(SOCKET, t, tmp / "work2", tmp / "home2", stub.url)
        save("waiting-permission", "trust-folder",
             wait_screen(SOCKET, t, lambda x: "trust this folder" in x, 30), command="claude")
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
        stub.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
