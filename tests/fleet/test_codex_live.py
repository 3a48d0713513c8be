"""The real Codex CLI in tmux against the Responses-API stub, in a fleet run by a real breakroom
(ngircd or miniircd, bots, control socket): each state reads right, a message is typed once
when Codex is idle and queued while it works, nothing is ever typed into its approval
dialog, and `breakroom hooks install --agent codex` wires hooks, notify and the MCP server
that the real Codex then uses.  One Codex process per test is driven through many states
(start-up costs seconds).  Skips (with the reason) when Codex is not installed; CI sets
BREAKROOM_REQUIRE_CODEX=1 so a missing install fails instead."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from breakroom.fleet import panestate
from breakroom.fleet.agentversion import agent_process, ask_release
from support.app import next_poll
from support.claude_code import capture, keys, wait_screen
from support.cli import BREAKROOM
from support.codex_cli import codex_binary, missing_reason, start_codex, type_line, write_home
from support.codex_stub import ASK_TEXT, CodexStub, tool_names, user_prompts
from support.tmux_pane import pane_pid
from support.wait import wait_until

_missing = missing_reason()
if _missing and os.environ.get("BREAKROOM_REQUIRE_CODEX"):
    raise RuntimeError(f"BREAKROOM_REQUIRE_CODEX is set but {_missing}")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")

CX, OTHER = "cx", "other"


class Fleet:
    """A running breakroom watching one real Codex (and, when asked, a simulated agent)."""

    def __init__(self, running_app: Callable[..., Any], ircd: Any, socket: str, stub: CodexStub) -> None:
        self.socket, self.stub = socket, stub
        self.app = running_app(ircd, tmux={"socket_name": socket, "poll_interval": 0.3},
                               sessions={CX: {"agent": "codex"}, OTHER: {"agent": "sim"}})

    def status(self, session: str = CX) -> Any:
        return next((s for s in self.app.app.sessions.status() if s.session == session), None)

    def state(self, session: str = CX) -> str:
        found = self.status(session)
        return found.state if found else "gone"

    def wait_state(self, state: str, timeout: float = 30) -> None:
        try:
            self.app.wait_until(lambda: self.state() == state, timeout)
        except AssertionError:
            raise AssertionError(f"{CX} never read {state}; it reads {self.state()} "
                                 f"({self.status().reason}):\n{capture(self.socket, CX)}") from None

    def screen(self, ok: Callable[[str], bool], timeout: float = 20) -> str:
        return wait_screen(self.socket, CX, ok, timeout)

    def type(self, text: str) -> None:
        """What a human at the pane would do: type, then Enter."""
        type_line(self.socket, CX, text)

    def turns_with(self, text: str) -> int:
        """How many user turns carry ``text`` in the model's newest request."""
        return sum(text in prompt for prompt in user_prompts(self.stub.requests[-1]))


@pytest.fixture
def stub() -> Any:
    running = CodexStub()
    yield running
    running.close()


def test_states_and_delivery(ircd, running_app, irc_client, tmux_socket, tmp_path: Path,
                             stub: CodexStub) -> None:
    """With no hooks (what a user who declines to trust them has) the screen is all there is,
    and notify: idle, working (a streaming reply shows no status line), approval, question,
    errors and exit read right; a message to an idle Codex is one user turn, one sent while
    it works waits and then is one turn, and one sent while it asks for approval is never
    typed into the dialog.  The notify program reports each turn's end."""
    fleet = Fleet(running_app, ircd, tmux_socket, stub)
    notify = [BREAKROOM, "hook", "agent-turn-complete", "--config", str(tmp_path / "breakroom.yaml")]
    write_home(tmp_path / "home", tmp_path / "work", stub.url, top=f"notify = {json.dumps(notify)}\n")
    start_codex(tmux_socket, CX, tmp_path / "work", tmp_path / "home", from_shell=True)
    fleet.wait_state("idle", 40)
    # its release: asked of the native binary below the shell and the npm shim's node, and shown
    profile = panestate.load_profile("codex")
    release = profile.tested[-1]
    agent = agent_process(pane_pid(tmux_socket, CX), profile.commands)
    assert agent is not None
    fleet.app.wait_until(lambda: ask_release(agent, profile) == release, 60, "codex --version, asked")
    fleet.app.wait_until(lambda: fleet.status().version == release, 20, "the release in the status")
    nick = fleet.app.app.sessions.nick_for(CX)
    human = irc_client(ircd, "human")
    assert fleet.status().hook_at is None

    human.say(ircd.channel, f"{nick}: hello from the breakroom")
    human.wait_for(rf"NOTICE human :delivered #1 to {CX}", 30)
    fleet.screen(lambda s: "echo: [breakroom #1] human: hello from the breakroom" in s)
    assert fleet.turns_with("hello from the breakroom") == 1
    fleet.app.wait_until(lambda: fleet.status().hook_at, 10, "notify's report of the turn's end")

    fleet.type("slow 8 " + "a reply that streams " * 6)
    fleet.screen(lambda s: "• echo: a reply" in s)
    fleet.wait_state("working", 10)
    human.say(ircd.channel, f"{nick}: note sent while it works")
    human.wait_for(rf"NOTICE human :#2 queued behind a busy agent \({CX} is working\)", 30)
    def delivered() -> bool:  # and never typed into the pane while the turn runs
        if human.seen(rf"NOTICE human :delivered #2 to {CX}"):
            return True
        screen = capture(tmux_socket, CX)
        assert "note sent while" not in screen or "Worked for 8s" in screen, screen
        return False
    wait_until(delivered, 60, "note #2 delivered")
    fleet.screen(lambda s: "echo: [breakroom #2] human: note sent while it works" in s)
    assert fleet.turns_with("note sent while it works") == 1
    assert not [b for b in stub.requests if "slow 8" in user_prompts(b)[-1] and "note sent" in json.dumps(b)]

    fleet.type("approve: touch made-by-the-test.txt")
    fleet.screen(lambda s: "Would you like to run the following command?" in s)
    fleet.wait_state("waiting:permission", 10)
    human.say(ircd.channel, f"{nick}: note sent during the approval")
    human.wait_for(rf"NOTICE human :#3 queued behind a busy agent \({CX} is waiting:permission\)", 30)
    for _ in range(10):  # ten fresh looks of the breakroom at the pane: ten chances to misstep
        next_poll(fleet.app)
        assert "note sent during" not in capture(tmux_socket, CX)
    keys(tmux_socket, CX, "Escape")
    human.wait_for(rf"NOTICE human :delivered #3 to {CX}", 30)
    fleet.screen(lambda s: "echo: [breakroom #3] human: note sent during the approval" in s)
    assert fleet.turns_with("note sent during the approval") == 1
    assert not (tmp_path / "work" / "made-by-the-test.txt").exists()

    fleet.type("ask")
    fleet.wait_state("waiting:question", 20)
    assert fleet.status().question == ASK_TEXT
    fleet.type("fail 401")
    fleet.wait_state("error:auth", 20)
    fleet.type("fail usage")
    fleet.wait_state("error:usage-limit", 20)
    fleet.type("fail 429")
    fleet.wait_state("error:rate-limit", 20)
    fleet.type("a good turn after the errors")
    fleet.wait_state("idle", 20)
    fleet.type("/exit")
    fleet.wait_state("exited", 20)
    assert all(len(human.seen(rf"NOTICE human :delivered #{n} to")) == 1 for n in (1, 2, 3))


def test_hooks_and_mcp(ircd, running_app, irc_client, tmux_socket, tmp_path: Path,
                              stub: CodexStub) -> None:
    """After `breakroom hooks install --agent codex`: Codex starts without asking to review
    the hooks, they report its state, a message sent while a tool runs reaches the model
    through a hook within the turn (never typed), and the model is offered breakroom's MCP
    tools, approved, whose `say` reaches another session as this one."""
    fleet = Fleet(running_app, ircd, tmux_socket, stub)
    home, work = tmp_path / "home", tmp_path / "work"
    codex_home = write_home(home, work, stub.url)
    binary = codex_binary()
    assert binary is not None
    env = {**os.environ, "PATH": f"{Path(binary).parent}{os.pathsep}{os.environ['PATH']}", "HOME": str(home)}
    done = subprocess.run([BREAKROOM, "--config", str(tmp_path / "breakroom.yaml"), "hooks", "install",
                           "--agent", "codex", "--codex-home", str(codex_home), "--project", str(work)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and "trusted 4 hooks" in done.stdout, done.stdout + done.stderr

    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", OTHER, "-x", "120", "-y", "30",
                    f"exec {BREAKROOM} sim-agent"], check=True)
    start_codex(tmux_socket, CX, work, home)
    fleet.screen(lambda s: "for agents" in s, 40)
    assert "Hooks need review" not in capture(tmux_socket, CX)
    nick = fleet.app.app.sessions.nick_for(CX)
    human = irc_client(ircd, "human")

    fleet.type("bash: sleep 4; echo tool-ran")
    fleet.screen(lambda s: "esc to interrupt" in s)
    human.say(ircd.channel, f"{nick}: note for the running tool")
    # the tool's PostToolUse, or — on a loaded machine — the turn's slower UserPromptSubmit
    hook = "(PostToolUse|UserPromptSubmit)"
    human.wait_for(rf"NOTICE human :delivered #1 to {CX} mid-turn \(its {hook} hook\)", 30)
    fleet.screen(lambda s: "done: sleep 4" in s and "Worked for" in s, 30)
    carrying = [b for b in stub.requests if "note for the running tool" in json.dumps(b)]
    assert carrying, "the note never reached the model"
    assert json.dumps(carrying[0]["input"]).count("note for the running tool") == 1  # handed over once
    assert "note for the running tool" not in capture(tmux_socket, CX)  # never typed
    assert not any("note for the running tool" in p for b in stub.requests for p in user_prompts(b))
    fleet.wait_state("idle", 20)
    assert fleet.status().hook_fresh

    offered = tool_names(stub.requests[-1])
    assert {"mcp__breakroom/say", "mcp__breakroom/ask", "mcp__breakroom/inbox"} <= set(offered), offered
    other_nick = fleet.app.app.sessions.nick_for(OTHER)
    fleet.type(f'mcp say: {{"target": "{other_nick}", "text": "hello from codex over MCP"}}')
    fleet.screen(lambda s: "done: say" in s, 30)
    wait_screen(tmux_socket, OTHER, lambda s: f"[breakroom #2] {nick}: hello from codex over MCP" in s, 20)
    human.wait_for(rf":{nick}!\S+ PRIVMSG {ircd.channel} :{other_nick}: hello from codex over MCP", 30)
