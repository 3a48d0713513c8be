"""The real Claude Code CLI in tmux against the Messages-API stub, every pinned release in
both permission modes.

One session per release × mode is driven through every state it has
(:func:`support.claude_scenario.drive`, the scenario the screen capture runs; in manual mode
also the start-up dialogs: trust, and 2.1.332's auto-mode nudge) and each screen must read
as the state it is; prompts are typed the way the breakroom types
messages, reach the model once, and the agent's release is found without typing into it.
Then, through a running breakroom: a message sent while Claude Code retries an overloaded
API is queued, never typed while it retries, and typed once after.

Skips (with the reason) for a release that is not installed; CI sets
BREAKROOM_REQUIRE_CLAUDE_CODE=1 so a missing install fails instead."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from breakroom.config import from_dict
from breakroom.fleet.drift import drift_of
from breakroom.fleet.observer import FleetObserver
from breakroom.fleet.panestate import detect
from breakroom.fleet.tmux import Tmux
from support.claude_code import ClaudeSession, capture, kill_server, releases_and_modes, wait_screen
from support.claude_scenario import Step, drive, drive_start_dialogs
from support.claude_stub import ClaudeStub, user_prompt
from support.wait import wait_until

SESSION = "cc"


def typed_once(body: dict, prompt: str) -> int:
    """How many text blocks of user messages in ``body`` are exactly ``prompt``."""
    return sum(1 for m in body.get("messages", []) if m.get("role") == "user"
               for t in ([m["content"]] if isinstance(m["content"], str) else
                         [b.get("text", "") for b in m["content"] if isinstance(b, dict)])
               if t.strip() == prompt)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("release, mode", releases_and_modes())
def test_every_state_reads_right_and_nothing_is_typed_twice(release: str, mode: str, tmp_path: Path) -> None:
    stub, socket = ClaudeStub(), f"brcc-{uuid.uuid4().hex[:8]}"
    try:
        claude = ClaudeSession(socket, SESSION, tmp_path, stub.url, release=release, mode=mode,
                               extra_env={"CLAUDE_CODE_MAX_RETRIES": "2"}, remain=True)
        seen: list[str] = []

        def check(step: Step) -> None:
            found = detect(step.screen, "claude-code", step.command)
            assert (found.state, found.question) == (step.state, step.question), \
                f"{release} {mode} {step.name}: read {found.state} ({found.reason})\n{step.screen}"
            seen.append(step.name)
            if step.name == "fresh-start":  # the release: off the banner at once, then its binary's
                config = from_dict({"tmux": {"socket_name": socket},
                                    "sessions": {SESSION: {"agent": "claude-code"}}})
                observer = FleetObserver(config, Tmux(socket))
                view = observer.poll().sessions[SESSION]
                assert view.version == release
                assert drift_of(view, time.time(), 1.0) is None  # a tested release, read right
                pane_pid = observer.capture([SESSION])[SESSION].pid
                wait_until(lambda: observer.versions.release(pane_pid) == release, 10, "--version")

        drive(claude, check)
        if mode == "manual":  # the start-up dialogs: the same in either mode, driven once a release
            drive_start_dialogs(lambda name, **options: ClaudeSession(
                socket, name, tmp_path / name, stub.url, release=release, mode=mode, **options), check)
            assert "trust-folder" in seen
        assert {"streaming", "question", "tool-running", "api-retrying", "overloaded", "rate-limited",
                "invalid-api-key", "exit-pending", "resume-hint"} <= set(seen)
        assert any(s.startswith(("bash-touch", "auto-")) for s in seen)  # a permission screen
        # every prompt reached the model as one user turn, never twice
        last = next(b for b in reversed(stub.requests)  # the turn's own request (side ones have no tools)
                    if user_prompt(b) == "good turn after the invalid-api-key" and b.get("tools"))
        for prompt in ("ask", "bash-ask: sleep 3; echo tool-output", "[breakroom #2] bob: please look at "
                       "@README", "good turn after the credit-balance-too-low"):
            assert typed_once(last, prompt) == 1, (prompt, [user_prompt(b) for b in stub.requests])
    finally:
        kill_server(socket)
        stub.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("release, mode", releases_and_modes())
def test_a_message_to_a_retrying_claude_waits_then_arrives_once(
        release: str, mode: str, ircd, running_app, irc_client, tmux_socket, tmp_path: Path) -> None:
    """Through a running breakroom: a message sent while Claude Code retries an overloaded API
    is queued (its sender is told), is never typed while it retries, and is typed once after
    the API comes back."""
    stub = ClaudeStub()
    try:
        app = running_app(ircd, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                          sessions={SESSION: {"agent": "claude-code"}}, delivery={"enter_delay": 0.2})
        claude = ClaudeSession(tmux_socket, SESSION, tmp_path, stub.url, release=release, mode=mode,
                               extra_env={"CLAUDE_CODE_MAX_RETRIES": "4"})

        def state() -> str:
            return {s.session: s.state for s in app.app.sessions.status()}.get(SESSION, "gone")

        app.wait_until(lambda: state() == "idle", 40, "Claude idle")
        nick = app.app.sessions.nick_for(SESSION)
        human = irc_client(ircd, "human")
        prompt = "fail 529 3"  # the API is back after three 529s
        assert claude.deliver(prompt) == "delivered"
        claude.wait(lambda s: "etrying in" in s, 30)
        app.wait_until(lambda: state() == "working", 10, "the retrying pane read as working")

        human.say(ircd.channel, f"{nick}: note sent during the retries")
        human.wait_for(rf"NOTICE human :#1 queued behind a busy agent \({SESSION} is working\)")
        screens = []  # the pane, sampled until the note is delivered: never in it while retrying

        def delivered() -> bool:
            if human.seen(rf"NOTICE human :delivered #1 to {SESSION}"):
                return True
            screens.append(capture(tmux_socket, SESSION))
            return False
        wait_until(delivered, 60, "the note delivered")
        assert any("etrying in" in s for s in screens)
        assert not [s for s in screens if "etrying in" in s and "note sent during" in s]
        wait_screen(tmux_socket, SESSION, lambda s: "echo: [breakroom #1] human: note sent during" in s, 30)

        retries = [b for b in stub.requests if user_prompt(b) == prompt]
        assert len(retries) >= 4 and not any("note sent during" in json.dumps(b) for b in retries)
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
