"""The real Gemini CLI in tmux against the Gemini-API stub, watched by a running breakroom.

Read from the screen (no hooks): one Gemini CLI is driven through idle, waiting:permission,
working, waiting:question, error:auth and exited, each read right by the breakroom; a message
sent while it is idle reaches the model exactly once, and one sent while it waits on a tool
approval or works is queued, never typed into the dialog, and typed once when it is idle.
With `breakroom hooks install --agent gemini`: its hooks report state, a message sent while a
tool runs reaches the model through the AfterTool hook in the same turn (once, never typed),
and its MCP client offers Breakroom's tools, whose `say` reaches another session.
Skips (with the reason) when Gemini CLI is not installed; CI sets BREAKROOM_REQUIRE_GEMINI_CLI=1
so a missing install fails instead."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from breakroom import config as config_mod
from breakroom.cli.doctor import check, render
from breakroom.fleet import inbox
from breakroom.fleet.panestate import detect
from support.gemini_cli import VERSION, missing_reason, start_gemini, write_home
from support.gemini_stub import ASK_TEXT, GeminiStub, function_names, user_prompt, user_prompts
from support.sims import QUIET_SCRIPT, pane_text
from support.tmux_pane import capture, keys, wait_screen
from support.watched import Watched

_missing = missing_reason()
if _missing and os.environ.get("BREAKROOM_REQUIRE_GEMINI_CLI"):
    raise RuntimeError(f"BREAKROOM_REQUIRE_GEMINI_CLI is set but {_missing}")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")

SESSION = "gem"
PLACEHOLDER = "Type your message"


@pytest.fixture
def stub():
    running = GeminiStub()
    yield running
    running.close()


def type_prompt(socket: str, text: str) -> None:
    """Type a line and submit it as a user at the keyboard would (Gemini CLI takes an Enter
    that follows the text at once as part of a paste)."""
    keys(socket, SESSION, text, literal=True)
    wait_screen(socket, SESSION, lambda s: text[-30:] in s.replace("\n", ""))
    time.sleep(0.3)
    keys(socket, SESSION, "Enter")


def turns_with(stub: GeminiStub, text: str) -> list[dict]:
    return [b for b in list(stub.requests) if any(text in p for p in user_prompts(b))]


def test_gemini_states_and_delivery_from_the_screen(ircd, running_app, irc_client, tmux_socket,
                                                    tmp_path: Path, stub: GeminiStub) -> None:
    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                      sessions={SESSION: {"agent": "gemini"}}, delivery={"enter_delay": 0.3})
    write_home(tmp_path / "gemini-home", tmp_path / "work")
    start_gemini(tmux_socket, SESSION, tmp_path / "work", tmp_path / "gemini-home", stub.url, via_shell=True)
    gem = Watched(app, SESSION, tmux_socket, lambda: irc_client(ircd, "human"), ircd.channel)

    gem.wait_state("idle", 60)
    assert not gem.status().hook_fresh
    app.wait_until(lambda: gem.status().version == VERSION, 20, "the release, off its banner")
    doctor = [render(f) for f in check(config_mod.load(str(tmp_path / "breakroom.yaml")))]
    assert any(line.startswith(f"PROBLEM  session {SESSION}: gemini {VERSION}, ")   # then its state
               and ": breakroom's hooks and MCP server are not installed" in line
               and "fix: breakroom hooks install --agent gemini --project" in line for line in doctor), \
        "\n".join(doctor)

    # idle: a message is typed in once and reaches the model once
    gem.send("hello from the breakroom")
    gem.delivered(1, 30)
    wait_screen(tmux_socket, SESSION, lambda s: "echo: [breakroom #1] human: hello from the" in s, 30)
    assert len(turns_with(stub, "hello from the breakroom")) == 1
    assert user_prompt(stub.requests[-1]).startswith("[breakroom #1] human: hello from the breakroom")
    gem.wait_state("idle")

    # a tool call waits for approval: waiting:permission, and a message to it is queued
    type_prompt(tmux_socket, "bash: sleep 4; echo tool-ran")
    wait_screen(tmux_socket, SESSION, lambda s: "Allow execution" in s, 30)
    gem.wait_state("waiting:permission")
    gem.send("note while it asks")
    gem.queued(2, "waiting:permission")
    gem.never_typed("note while it asks")   # nothing typed into the dialog

    # approved (the test is the human here): working while the tool runs, the note still queued
    keys(tmux_socket, SESSION, "Enter")
    wait_screen(tmux_socket, SESSION, lambda s: "esc to cancel" in s and "Allow execution" not in s, 20)
    gem.wait_state("working")
    assert inbox.get(app.app.db, 2).state == "queued"
    # then idle, and the note is typed in once
    gem.delivered(2)
    wait_screen(tmux_socket, SESSION, lambda s: "echo: [breakroom #2] human: note while it asks" in s, 30)
    assert "done: sleep 4; echo tool-ran" in capture(tmux_socket, SESSION)
    assert len(turns_with(stub, "note while it asks")) == 1
    assert not any("note while it asks" in json.dumps(b) for b in stub.requests
                   if "bash: sleep 4" in user_prompt(b))
    gem.wait_state("idle")

    # a question
    type_prompt(tmux_socket, "ask")
    gem.wait_state("waiting:question", 30)
    gem.wait_question(ASK_TEXT)

    # an auth error
    type_prompt(tmux_socket, "fail 401")
    gem.wait_state("error:auth", 30)

    # exited: back at the shell it was started from
    type_prompt(tmux_socket, "/quit")
    gem.wait_state("exited", 30)
    assert "Agent powering down" in capture(tmux_socket, SESSION)


def test_gemini_hooks_and_mcp_server(ircd, running_app, cli, tmux_socket, tmp_path: Path,
                                     stub: GeminiStub, sims) -> None:
    """Wired as a user wires it (`breakroom hooks install --agent gemini`)."""
    app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                      sessions={SESSION: {"agent": "gemini"}, "b": {"agent": "sim"}},
                      delivery={"enter_delay": 0.2})
    sims("b", QUIET_SCRIPT)
    work, home = tmp_path / "work", tmp_path / "gemini-home"
    work.mkdir()
    done = cli("--config", str(tmp_path / "breakroom.yaml"), "hooks", "install", "--agent", "gemini",
               "--project", str(work))
    assert done.returncode == 0, done.stderr
    settings = json.loads((work / ".gemini" / "settings.json").read_text())
    settings["mcpServers"]["breakroom"]["trust"] = True   # no confirmation for the test's tool call
    (work / ".gemini" / "settings.json").write_text(json.dumps(settings))
    write_home(home, work)
    start_gemini(tmux_socket, SESSION, work, home, stub.url)

    def status(name: str = SESSION):
        return next((s for s in app.app.sessions.status() if s.session == name), None)

    app.wait_until(lambda: status() is not None and status().hook_at is not None and status().state == "idle",
                   60, "idle, with the SessionStart hook's report in")
    app.wait_until(lambda: status("b") is not None and status("b").state == "idle", 30, "b idle")
    wait_screen(tmux_socket, SESSION, lambda s: PLACEHOLDER in s, 30)

    # a message sent while a tool runs reaches the model in the same turn, through a hook: the
    # AfterTool hook puts it beside the tool's result; on a loaded machine, where that hook
    # can run out of its second, the AfterAgent hook hands it over and the turn goes on with it
    type_prompt(tmux_socket, "bash: sleep 3; echo tool-done")
    wait_screen(tmux_socket, SESSION, lambda s: "Allow execution" in s, 30)
    keys(tmux_socket, SESSION, "Enter")
    wait_screen(tmux_socket, SESSION, lambda s: "⊶" in s, 20)
    note = "[breakroom #1] alice: mid-turn note for gemini"
    queued = app.call(app.app.deliveries.deliver(SESSION, "alice", "mid-turn note for gemini"))
    assert queued.status == "queued"
    app.wait_until(lambda: inbox.get(app.app.db, queued.id).state == "delivered", 30, "handed over")
    via = inbox.get(app.app.db, queued.id).reason
    assert via in ("AfterTool hook", "AfterAgent hook")
    first = app.wait_until(lambda: next((b for b in list(stub.requests) if note in json.dumps(b)), None), 20,
                           "the request that carries the note")
    assert note in json.dumps(first["contents"][-1])             # in that request's newest turn
    if via == "AfterTool hook":
        assert "functionResponse" in json.dumps(first["contents"][-1])
    wait_screen(tmux_socket, SESSION, lambda s: "done: sleep 3" in s, 20)
    app.wait_until(lambda: status().state == "idle", 30, "idle after the turn (AfterAgent)")
    assert sum(note in json.dumps(c) for c in stub.requests[-1]["contents"]) == 1   # once
    assert not re.search(r"^\s?>\s+\[breakroom #1\]", capture(tmux_socket, SESSION), re.M)  # never typed

    # the MCP client offers breakroom's tools; a scripted `say` reaches session b
    names = set(function_names(stub.requests[-1]))
    tools = ("say", "ask", "inbox", "read", "digest", "fleet", "issue_list", "issue_show", "issue_move",
             "skills_show")
    assert {f"mcp_breakroom_{tool}" for tool in tools} <= names, sorted(names)
    nick_b = status("b").nick
    type_prompt(tmux_socket, f'mcp say: {{"target": "{nick_b}", "text": "hello from gemini via mcp"}}')
    app.wait_until(lambda: "hello from gemini via mcp" in pane_text(tmux_socket, "b"), 30,
                   "the message typed into b's pane")
    assert f"{status().nick}: hello from gemini via mcp" in pane_text(tmux_socket, "b")
    wait_screen(tmux_socket, SESSION, lambda s: "done: say" in s, 20)
    # the turn ends with its AfterAgent hook (its name stays listed 3 s, bare, and reads idle)
    app.wait_until(lambda: status().state == "idle", 30, "idle after the MCP turn")
    wait_screen(tmux_socket, SESSION, lambda s: detect(s, "gemini", "node").state == "idle", 20)
    lines = [render(f) for f in check(config_mod.load(str(tmp_path / "breakroom.yaml")))]
    wired = f"session {SESSION}: gemini {VERSION}, idle, hooks and MCP server installed, last fired"
    assert any(wired in line for line in lines), lines
