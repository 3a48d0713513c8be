"""Capture the real screens of Gemini CLI and aider into ``tests/fixtures/panes/<agent>/``.

Run ``.venv/bin/python tests/support/capture_agent_screens.py gemini`` (or ``aider``) after bumping the
agent's release (``tested`` in its profile, then ``make gemini-cli`` / ``make aider``): it drives
the real program (the newest release in ``tested``) against its local API stub through every
state and writes its screens as ``<version>-NAME.txt`` (front matter ``version:``), beside
those of older releases (a rerun replaces only its own release's); then fix the profile's
patterns until ``tests/fleet/test_panestate.py`` passes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the support package
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: breakroom

from breakroom.fleet import gemini_settings, mcp_register
from support import aider_cli, gemini_cli
from support.gemini_stub import GeminiStub
from support.openai_chat_stub import ChatCompletionsStub
from support.sse_stub import ASK_TEXT
from support.tmux_pane import keys, pane_command, wait_screen

PANES = Path(__file__).parents[1] / "fixtures" / "panes"
SOCKET = "breakroom-capture-agents"


class Capture:
    """One agent's capture run: where fixtures go and how a line is typed into it."""

    def __init__(self, agent: str, version: str, submitted: Callable[[str], bool]) -> None:
        self.agent, self.version, self.submitted = agent, version, submitted
        for old in (PANES / agent).glob(f"*/{version}-*.txt"):
            old.unlink()

    def save(self, state: str, name: str, screen: str, session: str, **front: str) -> None:
        path = PANES / self.agent / state / f"{self.version}-{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        fields = {"version": self.version, "command": pane_command(SOCKET, session) or self.agent, **front}
        head = "".join(f"{k}: {v}\n" for k, v in fields.items())
        path.write_text(f"---\n{head}---\n" + screen.rstrip() + "\n", encoding="utf-8")
        print("wrote", path.relative_to(PANES))

    def wait(self, session: str, ok: Callable[[str], bool], timeout: float = 30.0) -> str:
        return wait_screen(SOCKET, session, ok, timeout)

    def type_line(self, session: str, text: str) -> None:
        """Type, wait for the echo, press Enter until the agent took the line."""
        keys(SOCKET, session, text, literal=True)
        self.wait(session, lambda x: text[-20:] in x.replace("\n", ""))
        for _ in range(5):
            time.sleep(0.5)  # an Enter hard on the heels of the text is taken as part of a paste
            keys(SOCKET, session, "Enter")
            try:
                self.wait(session, self.submitted, 3)
                return
            except AssertionError:
                continue


def quoted(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


# ---------------------------------------------------------------- Gemini CLI


def capture_gemini(tmp: Path) -> None:
    reason = gemini_cli.missing_reason()
    if reason:
        raise SystemExit(reason)
    stub = GeminiStub()
    s = "gemini"
    placeholder = "Type your message"
    run = Capture("gemini", gemini_cli.VERSION,
                  lambda x: placeholder in x.split("\n", 2)[-1][-2000:] or "Allow execution" in x)
    try:
        gemini_cli.write_home(tmp / "home", tmp / "work")
        gemini_cli.start_gemini(SOCKET, s, tmp / "work", tmp / "home", stub.url, width=100, via_shell=True)
        run.save("idle", "fresh-start", run.wait(s, lambda x: placeholder in x and "? for shortcuts" in x), s)

        run.type_line(s, "slow 8 " + "a long streaming reply " * 8)
        run.save("working", "streaming", run.wait(s, lambda x: "esc to cancel" in x and "✦ echo" in x), s)
        run.save("idle", "after-answer", run.wait(s, lambda x: "reply a long streaming reply" in x
                                                   and "esc to cancel" not in x), s)

        run.type_line(s, "bash: touch made-by-the-test.txt")
        run.save("waiting-permission", "allow-shell", run.wait(s, lambda x: "Allow execution" in x), s)
        keys(SOCKET, s, "Escape")
        run.save("idle", "after-permission-escape",
                 run.wait(s, lambda x: "Allow execution" not in x and placeholder in x
                          and "esc to cancel" not in x), s)

        run.type_line(s, "bash-ask: sleep 4; echo tool-output")
        run.wait(s, lambda x: "Allow execution" in x)
        keys(SOCKET, s, "Enter")
        run.save("working", "tool-running", run.wait(s, lambda x: "esc to cancel" in x and "⊶" in x), s)
        run.save("waiting-question", "after-tool-call",
                 run.wait(s, lambda x: x.count(ASK_TEXT) == 1 and "esc to cancel" not in x), s,
                 question=quoted(ASK_TEXT))

        run.type_line(s, "ask")
        run.save("waiting-question", "plain",
                 run.wait(s, lambda x: x.count(ASK_TEXT) == 2 and "esc to cancel" not in x), s,
                 question=quoted(ASK_TEXT))

        run.type_line(s, "fail 401")
        run.save("error-auth", "api-key-not-valid", run.wait(s, lambda x: "API key not valid" in x
                                                            and "esc to cancel" not in x), s)
        run.type_line(s, "good turn after the auth error")
        run.save("idle", "good-turn-after-auth-error",
                 run.wait(s, lambda x: "echo: good turn after the auth" in x and "esc to cancel" not in x), s)

        run.type_line(s, "fail 429")
        run.save("working", "rate-limited-retrying", run.wait(s, lambda x: "esc to cancel, 3s" in x), s)
        keys(SOCKET, s, "Escape")
        run.save("idle", "request-cancelled",
                 run.wait(s, lambda x: "Request cancelled" in x and "esc to cancel" not in x), s)

        run.type_line(s, "fail quota")
        run.save("error-usage-limit", "usage-limit-dialog", run.wait(s, lambda x: "Keep trying" in x), s)
        keys(SOCKET, s, "Down")
        run.wait(s, lambda x: re.search(r"●\s*2\.\s*Stop", x) is not None)
        keys(SOCKET, s, "Enter")
        run.save("error-usage-limit", "daily-quota",
                 run.wait(s, lambda x: "exhausted your daily quota" in x and placeholder in x), s)

        run.type_line(s, "/quit")
        run.save("exited", "goodbye", run.wait(s, lambda x: "Agent powering down" in x
                                                and x.rstrip().endswith("$")), s)

        # wired by `breakroom hooks install --agent gemini` (no breakroom running: the hooks
        # report to nobody, the MCP server still serves its tools)
        h = "gemini-hooks"
        config = tmp / "breakroom.yaml"
        config.write_text(f"data_dir: {tmp / 'data'}\n")
        gemini_settings.install(tmp / "work3", mcp_register.server_entry(str(config)), config=str(config))
        gemini_cli.write_home(tmp / "home3", tmp / "work3")
        gemini_cli.start_gemini(SOCKET, h, tmp / "work3", tmp / "home3", stub.url, width=100)
        run.save("idle", "hooks-installed", run.wait(h, lambda x: "1 MCP server" in x and placeholder in x
                                                     and "project-level hooks" in x
                                                     and "Executing Hook" not in x), h)
        keys(SOCKET, h, "slow 2 hello with hooks", literal=True)
        run.wait(h, lambda x: "hello with hooks" in x)
        time.sleep(0.5)
        keys(SOCKET, h, "Enter")
        run.save("working", "executing-hook", run.wait(h, lambda x: "Executing Hook" in x), h)
        # the turn is over: the last hook's name stays listed for 3 s, with no spinner
        run.save("idle", "hook-listed-after-turn",
                 run.wait(h, lambda x: "echo: hello with hooks" in x and "esc to cancel" not in x
                          and re.search(r"^\s*Executing Hooks?: ", x, re.M) is not None), h)
        run.save("idle", "after-turn-with-hooks", run.wait(h, lambda x: "echo: hello with hooks" in x
                                                           and "esc to cancel" not in x
                                                           and "Executing Hook" not in x), h)

        t = "gemini-trust"
        gemini_cli.write_home(tmp / "home2", tmp / "work2", trusted=False)
        gemini_cli.start_gemini(SOCKET, t, tmp / "work2", tmp / "home2", stub.url, width=100)
        run.save("waiting-permission", "trust-folder",
                 run.wait(t, lambda x: "Do you trust the files in this folder" in x), t)
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
        stub.close()


# ---------------------------------------------------------------- aider


def capture_aider(tmp: Path) -> None:
    reason = aider_cli.missing_reason()
    if reason:
        raise SystemExit(reason)
    stub = ChatCompletionsStub()
    s = "aider"

    def prompt_at_end(screen: str) -> bool:
        return re.search(r"^(\w+)?> ?$", screen.rstrip().rsplit("\n", 1)[-1]) is not None

    run = Capture("aider", aider_cli.VERSION, lambda x: not prompt_at_end(x) or "[Yes]:" in x)
    try:
        aider_cli.write_home(tmp / "home", tmp / "work")
        aider_cli.start_aider(SOCKET, s, tmp / "work", tmp / "home", stub.url, width=100, via_shell=True)
        run.save("idle", "fresh-start", run.wait(s, prompt_at_end), s)

        run.type_line(s, "slow 8 " + "a long streaming reply " * 8)
        run.save("working", "streaming",
                 run.wait(s, lambda x: "echo: a long" in x and not prompt_at_end(x)), s)
        run.save("idle", "after-answer", run.wait(s, lambda x: "reply a long streaming reply" in x
                                                   and prompt_at_end(x)), s)

        run.type_line(s, "slow 6 x")
        run.save("working", "waiting-for-model", run.wait(s, lambda x: "Waiting for " in x), s)
        run.wait(s, lambda x: "echo: x" in x and prompt_at_end(x))

        run.type_line(s, "bash: sleep 4; echo tool-output")
        run.save("waiting-permission", "run-shell-command",
                 run.wait(s, lambda x: "Run shell command?" in x), s)
        run.type_line(s, "y")
        run.save("working", "running-shell-command",
                 run.wait(s, lambda x: "Running sleep 4" in x and "Add command output" not in x), s)
        run.save("waiting-permission", "add-command-output",
                 run.wait(s, lambda x: "Add command output to the chat?" in x), s)
        run.type_line(s, "y")
        run.save("idle", "after-shell-command", run.wait(s, lambda x: "Added " in x and prompt_at_end(x)), s)

        run.type_line(s, "ask")
        run.save("waiting-question", "plain", run.wait(s, lambda x: ASK_TEXT in x and prompt_at_end(x)), s,
                 question=quoted(ASK_TEXT))

        run.type_line(s, "fail 401")
        run.save("error-auth", "open-url-prompt", run.wait(s, lambda x: "Open URL for more info?" in x), s)
        run.type_line(s, "n")
        run.save("error-auth", "invalid-api-key", run.wait(s, prompt_at_end), s)
        run.type_line(s, "good turn after the auth error")
        run.save("idle", "good-turn-after-auth-error",
                 run.wait(s, lambda x: "echo: good turn after the auth" in x and prompt_at_end(x)), s)

        # aider retries rate limits and quota errors for minutes (Ctrl-C twice within 2 s
        # quits it): the stub fails the first few requests only (the OpenAI client under
        # litellm retries a 429 twice itself before aider sees it)
        run.type_line(s, "fail 429 4")
        run.save("working", "rate-limited-retrying",
                 run.wait(s, lambda x: "Retrying in" in x.split("fail 429 4")[-1]
                          and not prompt_at_end(x)), s)
        run.save("idle", "answer-after-rate-limit",
                 run.wait(s, lambda x: "echo: fail 429 4" in x and prompt_at_end(x)), s)

        run.type_line(s, "fail quota 7")
        run.save("error-usage-limit", "quota-retrying",
                 run.wait(s, lambda x: x.split("fail quota 7")[-1].count("Retrying in") >= 2
                          and not prompt_at_end(x)), s)
        run.wait(s, lambda x: "echo: fail quota 7" in x and prompt_at_end(x), 60)

        run.type_line(s, "/exit")
        run.save("exited", "back-at-shell", run.wait(s, lambda x: x.rstrip().endswith("$")), s)
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
        stub.close()


def main(argv: list[str]) -> int:
    agents = {"gemini": capture_gemini, "aider": capture_aider}
    if len(argv) != 1 or argv[0] not in agents:
        print(f"usage: capture_agent_screens.py {'|'.join(agents)}")
        return 2
    started = time.monotonic()
    agents[argv[0]](Path(tempfile.mkdtemp(prefix=f"capture-{argv[0]}-")))
    print(f"captured in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
