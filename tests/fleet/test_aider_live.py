"""The real aider in tmux against the chat-completions stub, watched by a running breakroom.

aider has no hooks and no MCP client (`breakroom hooks install --agent aider` says so and
writes nothing), so everything here is the fallback: the state is read from the screen.  One
aider is driven through idle, working, waiting:permission (its "Run shell command?" and "Add
command output to the chat?" confirmations), waiting:question, error:auth and exited, each
read right; a message sent while it is idle reaches the model exactly once, and one sent while
it streams or asks for a confirmation is queued, never typed into the confirmation (where any
text is an answer), and typed once when it is idle.  Skips (with the reason) when aider is not
installed; CI sets BREAKROOM_REQUIRE_AIDER=1 so a missing install fails instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from breakroom.fleet import inbox, panestate
from breakroom.fleet.agentversion import agent_process, ask_release
from support.aider_cli import VERSION, missing_reason, start_aider, write_home
from support.app import next_poll
from support.openai_chat_stub import ASK_TEXT, ChatCompletionsStub, user_prompt
from support.tmux_pane import keys, pane_pid, wait_screen
from support.watched import Watched

_missing = missing_reason()
if _missing and os.environ.get("BREAKROOM_REQUIRE_AIDER"):
    raise RuntimeError(f"BREAKROOM_REQUIRE_AIDER is set but {_missing}")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")

SESSION = "aid"


def answer(socket: str, text: str) -> None:
    """Type a line at aider's prompt (or a confirmation) and submit it, as a user would."""
    keys(socket, SESSION, text, literal=True)
    wait_screen(socket, SESSION, lambda s: s.rstrip().endswith(text))
    keys(socket, SESSION, "Enter")


def test_aider_states_and_delivery_from_the_screen(ircd, running_app, irc_client, cli, tmux_socket,
                                                   tmp_path: Path) -> None:
    stub = ChatCompletionsStub()
    try:
        app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                          sessions={SESSION: {"agent": "aider"}}, delivery={"enter_delay": 0.3})
        work = tmp_path / "work"
        write_home(tmp_path / "aider-home", work)
        done = cli("--config", str(tmp_path / "breakroom.yaml"), "hooks", "install", "--agent", "aider",
                   "--project", str(work))
        assert done.returncode == 0 and "aider has no hooks and no MCP client" in done.stdout
        assert sorted(p.name for p in work.iterdir()) == [".git"]   # nothing written
        start_aider(tmux_socket, SESSION, work, tmp_path / "aider-home", stub.url, via_shell=True)
        aid = Watched(app, SESSION, tmux_socket, lambda: irc_client(ircd, "human"), ircd.channel)

        aid.wait_state("idle", 60)
        # its release: asked of the python script below the shell (through its venv's python,
        # ~1 s quiet, 5 s and more on a loaded machine: asked again until it answers), and
        # shown in the status (from the probe, or the banner while the probe is slow)
        agent = agent_process(pane_pid(tmux_socket, SESSION), frozenset({"aider"}))
        assert agent is not None
        app.wait_until(lambda: ask_release(agent, panestate.load_profile("aider")) == VERSION, 60,
                       "aider --version, asked of the running process")
        app.wait_until(lambda: aid.status().version == VERSION, 20, "the release in the status")
        assert not aid.status().hook_fresh   # read from the screen: aider has no hooks

        # idle: a message is typed in once and reaches the model once
        aid.send("hello from the breakroom")
        aid.delivered(1, 30)
        wait_screen(tmux_socket, SESSION, lambda s: "echo: [breakroom #1] human: hello from the" in s, 30)
        assert sum("hello from the breakroom" in user_prompt(b) for b in stub.requests) == 1
        aid.wait_state("idle")

        # streaming: working, and a message to it is queued until it is idle again
        answer(tmux_socket, "slow 5 a reply that takes five seconds to stream")
        wait_screen(tmux_socket, SESSION, lambda s: "echo: a reply" in s, 20)
        aid.wait_state("working", 10)
        aid.send("note while it streams")
        aid.queued(2, "working")
        aid.delivered(2)
        screen = wait_screen(tmux_socket, SESSION, lambda s: "echo: [breakroom #2] human: note" in s, 30)
        assert "takes five seconds to stream" in screen.split("[breakroom #2]")[0]  # typed after the reply
        assert sum("note while it streams" in user_prompt(b) for b in stub.requests) == 1
        aid.wait_state("idle")

        # a shell command to confirm: waiting:permission, and a message is never typed into it
        answer(tmux_socket, "bash: sleep 3; echo tool-ran")
        wait_screen(tmux_socket, SESSION, lambda s: "Run shell command?" in s, 30)
        aid.wait_state("waiting:permission")
        aid.send("note while it asks")
        aid.queued(3, "waiting:permission")
        aid.never_typed("note while it asks")
        answer(tmux_socket, "y")   # the test is the human here
        wait_screen(tmux_socket, SESSION, lambda s: "Running sleep 3" in s, 20)
        aid.wait_state("working", 10)
        assert inbox.get(app.app.db, 3).state == "queued"
        wait_screen(tmux_socket, SESSION, lambda s: "Add command output to the chat?" in s, 20)
        aid.wait_state("waiting:permission")
        assert inbox.get(app.app.db, 3).state == "queued"
        answer(tmux_socket, "n")
        aid.delivered(3)
        wait_screen(tmux_socket, SESSION, lambda s: "echo: [breakroom #3] human: note while it asks" in s, 30)
        assert sum("note while it asks" in user_prompt(b) for b in stub.requests) == 1
        aid.wait_state("idle")

        # a question
        answer(tmux_socket, "ask")
        aid.wait_state("waiting:question", 30)
        # aider redraws its streamed reply in place: on a loaded machine a capture can catch a
        # half-redrawn line that holds still for a moment; the settled screen asks this
        aid.wait_question(ASK_TEXT)

        # a bad key: aider also offers to open a URL, a confirmation that is still error:auth
        answer(tmux_socket, "fail 401")
        wait_screen(tmux_socket, SESSION, lambda s: "Open URL for more info?" in s, 30)
        aid.wait_state("error:auth")
        answer(tmux_socket, "n")
        wait_screen(tmux_socket, SESSION, lambda s: s.rstrip().endswith(">"), 20)
        next_poll(app)   # a poll of the prompt under the error: still the error
        assert aid.state() == "error:auth"

        # exited: back at the shell it was started from
        answer(tmux_socket, "/exit")
        aid.wait_state("exited", 30)
    finally:
        stub.close()
