"""The real Claude Code CLI in tmux against the Messages-API stub: its live screens read as
the states they are, and typed delivery reaches the model exactly once and never lands in a
permission dialog or a retrying pane.  Skips (with the reason) when Claude Code is not
installed; CI sets BREAKROOM_REQUIRE_CLAUDE_CODE=1 so a missing install fails instead."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from breakroom.fleet.pane import type_into_pane
from breakroom.fleet.panestate import detect, typing_patterns
from breakroom.fleet.tmux import Tmux
from support.claude_code import (
    capture,
    keys,
    missing_reason,
    pane_command,
    start_claude,
    wait_screen,
    write_home,
)
from support.claude_stub import ClaudeStub, user_prompt

_missing = missing_reason()
if _missing and os.environ.get("BREAKROOM_REQUIRE_CLAUDE_CODE"):
    raise RuntimeError(f"BREAKROOM_REQUIRE_CLAUDE_CODE is set but {_missing}")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")

SESSION = "cc"


class Claude:
    """One running Claude Code, shared by this module's tests (start-up costs seconds)."""

    def __init__(self, root: Path, stub: ClaudeStub) -> None:
        self.socket = f"brcc-{uuid.uuid4().hex[:8]}"
        self.stub = stub
        write_home(root / "home", root / "work")
        (root / "work").mkdir()
        (root / "work" / "README.md").write_text("a file the @-completion menu offers\n")
        start_claude(self.socket, SESSION, root / "work", root / "home", stub.url,
                     extra_env={"CLAUDE_CODE_MAX_RETRIES": "2"})
        self.wait(lambda s: self.state(s) == "idle", 40)
        self.settle()

    def settle(self) -> None:
        """Wait until two captures 0.3 s apart agree (what the fleet's IdleStability asks)."""
        previous = ""
        for _ in range(50):
            screen = capture(self.socket, SESSION)
            if screen == previous:
                return
            previous = screen
            time.sleep(0.3)

    def state(self, screen: str | None = None) -> str:
        screen = capture(self.socket, SESSION) if screen is None else screen
        return detect(screen, "claude-code", pane_command(self.socket, SESSION)).state

    def wait(self, ok, timeout: float = 20.0) -> str:  # type: ignore[no-untyped-def]
        return wait_screen(self.socket, SESSION, ok, timeout)

    def deliver(self, text: str) -> str:
        return type_into_pane(Tmux(self.socket), SESSION, text,
                              patterns=typing_patterns("claude-code")).status

    def prompts_seen(self, text: str) -> int:
        """How often ``text`` is a user turn in the model's newest request."""
        last = self.stub.requests[-1]
        return sum(1 for m in last.get("messages", []) if m.get("role") == "user"
                   and any(text in t for t in ([m["content"]] if isinstance(m["content"], str) else
                                               [b.get("text", "") for b in m["content"]
                                                if isinstance(b, dict)])))

    def close(self) -> None:
        Tmux(self.socket).kill_server()


@pytest.fixture(scope="module")
def claude(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Claude]:
    stub = ClaudeStub()
    running = Claude(tmp_path_factory.mktemp("claude"), stub)
    try:
        yield running
    finally:
        running.close()
        stub.close()


def test_typed_into_idle_claude_reaches_the_model_once(claude: Claude) -> None:
    assert claude.deliver("[breakroom #1] alice: hello from the breakroom") == "delivered"
    claude.wait(lambda s: "echo: [breakroom #1] alice" in s and claude.state(s) == "idle")
    assert claude.prompts_seen("hello from the breakroom") == 1
    assert user_prompt(claude.stub.requests[-1]) == "[breakroom #1] alice: hello from the breakroom"


def test_busy_screens_read_working_and_nothing_is_typed(claude: Claude) -> None:
    keys(claude.socket, SESSION, "bash: sleep 2; echo tool-ran", literal=True)
    claude.wait(lambda s: "tool-ran" in s)
    keys(claude.socket, SESSION, "Enter")
    claude.wait(lambda s: "Running…" in s or "esc to interrupt" in s)
    assert claude.state() == "working"
    claude.wait(lambda s: "done: sleep 2" in s and claude.state(s) == "idle")


def test_api_retry_reads_working(claude: Claude) -> None:
    before = len(claude.stub.requests)
    assert claude.deliver("fail 529") == "delivered"
    screen = claude.wait(lambda s: "Retrying in" in s, 30)
    assert claude.state(screen) == "working"
    claude.wait(lambda s: "529" in s and claude.state(s) == "idle", 60)
    assert len(claude.stub.requests) - before >= 2  # retried, then gave up


def test_errors_then_a_good_turn(claude: Claude) -> None:
    assert claude.deliver("fail credit") == "delivered"
    claude.wait(lambda s: claude.state(s) == "error:usage-limit", 30)
    assert claude.deliver("fail 401") == "delivered"
    claude.wait(lambda s: claude.state(s) == "error:auth", 90)
    assert claude.deliver("good turn after errors") == "delivered"
    claude.wait(lambda s: "echo: good turn after errors" in s and claude.state(s) == "idle")


def test_question_after_a_tool_call(claude: Claude) -> None:
    assert claude.deliver("bash-ask: echo before-the-question") == "delivered"
    screen = claude.wait(lambda s: claude.state(s) == "waiting:question", 30)
    found = detect(screen, "claude-code", "claude")
    assert found.question == "Which database should I use, sqlite or postgres?"


def test_at_file_mention_is_submitted(claude: Claude) -> None:
    assert claude.deliver("[breakroom #2] bob: please look at @README") == "delivered"
    claude.wait(lambda s: "echo: [breakroom #2] bob: please look at @README" in s
                and claude.state(s) == "idle")
    assert claude.prompts_seen("please look at @README") == 1


def test_nothing_is_typed_into_a_permission_dialog(claude: Claude) -> None:
    assert claude.deliver("bash: touch made-by-the-test.txt") == "delivered"
    screen = claude.wait(lambda s: "Do you want to proceed?" in s)
    assert claude.state(screen) == "waiting:permission"
    keys(claude.socket, SESSION, "Escape")
    claude.wait(lambda s: "Interrupted" in s and claude.state(s) == "idle")
    assert json.dumps(claude.stub.requests[-1]).count("made-by-the-test") >= 1


def test_a_message_to_a_retrying_claude_waits_then_arrives_once(ircd, running_app, irc_client, tmux_socket,
                                                               tmp_path: Path) -> None:
    """Through a running breakroom: a message sent while Claude Code retries an overloaded API
    is queued (its sender is told), is never typed while it retries, and is typed once after."""
    stub = ClaudeStub()
    try:
        app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                          sessions={SESSION: {"agent": "claude-code"}}, delivery={"enter_delay": 0.2})
        write_home(tmp_path / "home", tmp_path / "work")
        start_claude(tmux_socket, SESSION, tmp_path / "work", tmp_path / "home", stub.url,
                     extra_env={"CLAUDE_CODE_MAX_RETRIES": "3"})

        def state() -> str:
            return {s.session: s.state for s in app.app.sessions.status()}.get(SESSION, "gone")

        app.wait_until(lambda: state() == "idle", 40, "Claude idle")
        nick = app.app.sessions.nick_for(SESSION)
        human = irc_client(ircd, "human")
        keys(tmux_socket, SESSION, "fail 529", literal=True)
        wait_screen(tmux_socket, SESSION, lambda s: "fail 529" in s)
        keys(tmux_socket, SESSION, "Enter")
        wait_screen(tmux_socket, SESSION, lambda s: "Retrying in" in s, 30)
        app.wait_until(lambda: state() == "working", 10, "the retrying pane read as working")

        human.say(ircd.channel, f"{nick}: note sent during the retries")
        human.wait_for(rf"NOTICE human :#1 queued behind a busy agent \({SESSION} is working\)")
        screens = []  # the pane, sampled until the note is delivered: never in it while retrying
        deadline = time.monotonic() + 90
        while not human.seen(rf"NOTICE human :delivered #1 to {SESSION}"):
            assert time.monotonic() < deadline, "the note was never delivered"
            screens.append(capture(tmux_socket, SESSION))
            time.sleep(0.05)
        assert any("Retrying in" in s for s in screens)
        assert not [s for s in screens if "Retrying in" in s and "note sent during" in s]
        wait_screen(tmux_socket, SESSION, lambda s: "echo: [breakroom #1] human: note sent during" in s, 30)

        retries = [b for b in stub.requests if user_prompt(b) == "fail 529"]
        assert len(retries) >= 2 and not any("note sent during" in json.dumps(b) for b in retries)
        # one turn (Claude Code's side requests, e.g. a title from a small model, quote it too)
        typed = [b for b in stub.requests
                 if user_prompt(b).startswith("[breakroom #1] human: note sent during the retries")]
        assert len(typed) == 1, [user_prompt(b)[:80] for b in stub.requests]
        turns = [m for m in typed[0]["messages"] if m.get("role") == "user"
                 and "note sent during" in json.dumps(m)]
        assert len(turns) == 1  # typed once, not twice
        assert len(human.seen(rf"NOTICE human :delivered #1 to {SESSION}")) == 1
    finally:
        stub.close()
