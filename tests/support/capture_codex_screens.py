"""Capture the real Codex screens in ``tests/fixtures/panes/codex/<state>/<version>-<name>.txt``.

Run ``.venv/bin/python tests/support/capture_codex_screens.py`` after installing a new Codex
release (``make codex`` installs the newest of the codex profile's ``tested`` list): it drives
the CLI through every state against :mod:`tests.support.codex_stub` and writes one fixture
per screen, named and front-mattered with the installed version, next to the earlier
releases' captures.  Then fix ``breakroom/fleet/profiles/codex.yaml`` until
``tests/fleet/test_panestate.py`` passes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the support package

from support.claude_code import keys, pane_command, wait_screen
from support.cli import BREAKROOM
from support.codex_cli import installed_version, missing_reason, start_codex, type_line, write_home
from support.codex_stub import ASK_TEXT, CodexStub

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "panes" / "codex"
SOCKET = "breakroom-codex-capture"
IDLE_FOOTER = "? for shortcuts"


class Capture:
    """One Codex session being driven, and where its screens go."""

    def __init__(self, session: str, version: str) -> None:
        self.session = session
        self.version = version

    def wait(self, ok, timeout: float = 20.0) -> str:  # type: ignore[no-untyped-def]
        return wait_screen(SOCKET, self.session, ok, timeout)

    def save(self, state: str, name: str, screen: str, **front: str) -> None:
        path = OUT / state / f"{self.version}-{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"version": self.version, "command": pane_command(SOCKET, self.session), **front}
        head = "".join(f"{k}: {v}\n" for k, v in meta.items())
        path.write_text(f"---\n{head}---\n" + screen.rstrip() + "\n", encoding="utf-8")
        print("wrote", path.relative_to(OUT))

    def type_line(self, text: str) -> None:
        type_line(SOCKET, self.session, text)


def turn_over(text: str) -> bool:
    """The current turn ended: its ``Worked for`` line or an ``■`` error line is on screen."""
    last = text.rsplit("\n› ", 1)[0]
    return IDLE_FOOTER in text and bool(re.search(r"^\s*Worked for |^■ ", last.split("\n›")[-1], re.M))


def main() -> int:
    reason = missing_reason()
    if reason:
        print(reason)
        return 1
    version = installed_version()
    assert version, "codex --version said no version"
    stub = CodexStub()
    # A fixed place (the fixtures show its paths, so a rerun changes no more than it must),
    # outside /tmp, where Codex refuses to set up its helper binaries and says so on screen.
    tmp = Path.home() / ".cache" / "breakroom-codex-capture"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        cx = Capture("cx", version)
        mcp = f"\n[mcp_servers.breakroom]\ncommand = {json.dumps(BREAKROOM)}\nargs = [\"mcp\"]\n"
        write_home(tmp / "home", tmp / "work", stub.url, extra=mcp)
        start_codex(SOCKET, cx.session, tmp / "work", tmp / "home", from_shell=True)
        cx.save("working", "starting-up",
                cx.wait(lambda x: re.search(r"^\s+loading$", x, re.M) is not None, 30))
        cx.save("idle", "fresh-start", cx.wait(lambda x: "for agents" in x and "OpenAI Codex" in x, 30))

        cx.type_line("slow 5 " + "a long streaming reply " * 8)
        cx.save("working", "streaming-no-status-line", cx.wait(lambda x: "• echo: a long" in x))
        cx.save("idle", "after-turn", cx.wait(lambda x: "Worked for" in x and turn_over(x), 20))

        cx.type_line("slow 8 two words")
        cx.save("working", "waiting-for-the-model", cx.wait(lambda x: "esc to interrupt" in x))
        cx.wait(turn_over, 20)

        cx.type_line("bash-ask: sleep 4; echo tool-output")
        cx.save("working", "tool-running", cx.wait(lambda x: "background terminal running" in x
                                                    or "Running sleep" in x))
        cx.save("waiting-question", "after-tool-call",
                cx.wait(lambda x: x.count(ASK_TEXT) == 1 and turn_over(x), 20), question=ASK_TEXT)

        cx.type_line("ask")
        cx.save("waiting-question", "plain",
                cx.wait(lambda x: x.count(ASK_TEXT) == 2 and turn_over(x)), question=ASK_TEXT)

        cx.type_line("approve: touch made-by-the-capture.txt")
        cx.save("waiting-permission", "run-command", cx.wait(lambda x: "Would you like to run" in x))
        keys(SOCKET, cx.session, "Escape")
        cx.save("idle", "after-approval-escape", cx.wait(lambda x: "interrupted" in x and turn_over(x)))

        cx.type_line('mcp say: {"target": "someone", "text": "hello"}')  # its server started by now
        cx.save("waiting-permission", "mcp-tool", cx.wait(lambda x: "MCP server to run tool" in x, 30))
        keys(SOCKET, cx.session, "Escape")
        cx.wait(turn_over, 30)

        errors = [("fail 401", "error-auth", "invalid-api-key", "401 Unauthorized"),
                  ("fail usage", "error-usage-limit", "usage-limit", "usage limit"),
                  ("fail quota", "error-usage-limit", "quota-exceeded", "Quota exceeded"),
                  ("fail 429", "error-rate-limit", "rate-limit-retries-exhausted", "429 Too Many"),
                  ("fail 500", "idle", "after-server-error", "high demand")]
        for prompt, state, name, shown in errors:
            cx.type_line(prompt)
            cx.save(state, name, cx.wait(lambda x, shown=shown, prompt=prompt:
                                         shown in x.split("› " + prompt)[-1] and turn_over(x), 30))
        cx.type_line("good turn after the errors")
        cx.save("idle", "good-turn-after-errors",
                cx.wait(lambda x: "echo: good turn after the errors" in x and turn_over(x)))

        cx.type_line("/exit")
        cx.save("exited", "back-at-the-shell",
                cx.wait(lambda x: "codex resume" in x and pane_command(SOCKET, cx.session) == "bash", 20))

        # A second Codex in a git repository it does not trust yet, retrying a rate limit.
        tr = Capture("trust", version)
        write_home(tmp / "home2", tmp / "work2", stub.url, trusted=False)
        subprocess.run(["git", "init", "-q", str(tmp / "work2")], check=True)
        start_codex(SOCKET, tr.session, tmp / "work2", tmp / "home2",
                    args=("-c", "model_providers.stub.request_max_retries=3"))
        tr.save("waiting-permission", "trust-folder",
                tr.wait(lambda x: "trust" in x.lower() and "1." in x, 30))
        keys(SOCKET, tr.session, "Enter")
        tr.wait(lambda x: IDLE_FOOTER in x, 20)
        tr.type_line("fail 429")
        tr.save("working", "retrying-rate-limit",
                tr.wait(lambda x: re.search(r"(?i)reconnecting|retrying|esc to interrupt", x) is not None,
                        30))

        # A third, whose config has a hook nobody has trusted yet.
        rv = Capture("review", version)
        hook = (f'\n[[hooks.Stop]]\n[[hooks.Stop.hooks]]\ntype = "command"\n'
                f'command = "{BREAKROOM} hook Stop"\n')
        write_home(tmp / "home3", tmp / "work3", stub.url, extra=hook)
        start_codex(SOCKET, rv.session, tmp / "work3", tmp / "home3")
        rv.save("waiting-permission", "hooks-need-review", rv.wait(lambda x: "Hooks need review" in x, 30))
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
        stub.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
