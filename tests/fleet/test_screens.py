"""The screen corpus and its published accuracy table; teaching Breakroom a screen from a live
pane (`breakroom screens save`), with a pattern of the user's own (`agents.profiles_dir`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from breakroom.errors import BreakroomError
from breakroom.fleet import panestate, screens
from breakroom.paths import DOCS_SCREENS, PROFILES_DIR, SCREEN_CORPUS
from support.fake_agent import RULE, fake_claude
from support.pin_claude_release import pin
from support.tmux_pane import capture
from support.wait import wait_value

# Claude Code's box with a footer no shipped pattern knows: a screen a new release might draw
NEW_FOOTER_SCREEN = (f"● Which port should I use?\n\n✻ Baked for 2s · tea at 4 PM\n\n{RULE}\n❯\n{RULE}\n"
                     "  ☕ new mode on\n")


@pytest.fixture
def shipped_profiles():
    """Leave the profile search path as the shipped one, whatever a test set."""
    yield
    panestate.use_profile_dirs(None)


def test_the_published_table_is_current_and_every_screen_reads_right() -> None:
    rows, wrong = screens.accuracy(screens.corpus(SCREEN_CORPUS))
    assert not wrong, [f"{m.screen.path}: read {m.found.state} ({m.found.reason})" for m in wrong]
    doc = DOCS_SCREENS.read_text(encoding="utf-8")
    assert screens.with_table(doc, screens.render_table(rows)) == doc, \
        "docs/screens.md is stale: run `breakroom screens table --write docs/screens.md`"
    releases = {r.release for r in rows if r.agent == "claude-code"}
    assert set(panestate.load_profile("claude-code").tested) <= releases  # every pinned one captured


def test_every_tested_release_is_captured_in_every_mode_and_state() -> None:
    captured = [s for s in screens.corpus(SCREEN_CORPUS) if s.agent == "claude-code"]
    for release in panestate.load_profile("claude-code").tested:
        for mode in ("auto", "manual"):
            states = {s.state for s in captured if (s.version, s.mode) == (release, mode)}
            assert {"idle", "working", "waiting:question", "exited", "error:auth", "error:usage-limit",
                    "error:overloaded", "error:rate-limit"} <= states, (release, mode, states)
        assert "waiting:permission" in {s.state for s in captured if s.version == release}


@pytest.mark.parametrize("front, message", [
    ("version: 2.1\n", 'version: expected a release like 2.1.197, got 2.1'),
    ("mode: manual\nversion: [1]\n", "version: expected a release like 2.1.197, got [1]"),
    ("comand: claude\n", "comand: unknown key (known keys here: command, mode, question, version)"),
])
def test_front_matter_errors_name_file_line_and_key(tmp_path: Path, front: str, message: str) -> None:
    path = tmp_path / "claude-code" / "idle" / "x.txt"
    path.parent.mkdir(parents=True)
    path.write_text(f"---\n{front}---\n❯ \n")
    line = front.count("\n") + 1
    with pytest.raises(BreakroomError) as err:
        screens.read_screen(path)
    assert str(err.value) == f"{path}:{line}: {message}"


def test_a_state_directory_must_be_a_state(tmp_path: Path) -> None:
    path = tmp_path / "claude-code" / "sleepy" / "x.txt"
    path.parent.mkdir(parents=True)
    path.write_text("❯ \n")
    with pytest.raises(BreakroomError, match="the directory 'sleepy' is not a state"):
        screens.read_screen(path)


def test_save_writes_a_screen_that_reads_back(tmp_path: Path) -> None:
    path = screens.save(tmp_path, agent="claude-code", state="waiting:question",
                        text=NEW_FOOTER_SCREEN + "\n\n", name="new-footer", version="2.1.400",
                        command="claude", question="Which port should I use?")
    assert path == tmp_path / "claude-code" / "waiting-question" / "2.1.400-new-footer.txt"
    saved = screens.read_screen(path)
    assert (saved.state, saved.version, saved.command, saved.question) == \
        ("waiting:question", "2.1.400", "claude", "Which port should I use?")
    assert saved.text == NEW_FOOTER_SCREEN
    with pytest.raises(BreakroomError, match="exists; choose another --name"):
        screens.save(tmp_path, agent="claude-code", state="waiting:question", text="x", name="new-footer",
                     version="2.1.400")
    with pytest.raises(BreakroomError, match="use letters, digits"):
        screens.save(tmp_path, agent="claude-code", state="idle", text="x", name="../escape")
    rows, wrong = screens.accuracy(screens.corpus(tmp_path))
    assert [(r.release, r.state, r.right, r.captured) for r in rows] == \
        [("2.1.400", "waiting:question", 0, 1)]
    assert wrong[0].found.state == "unknown"


def test_a_users_profile_extends_the_shipped_one(tmp_path: Path, shipped_profiles) -> None:
    text = NEW_FOOTER_SCREEN
    assert panestate.detect(text, "claude-code").state == "unknown"
    mine = tmp_path / "profiles"
    mine.mkdir()
    (mine / "claude-code.yaml").write_text(
        "extends: claude-code\nprepend_rules:\n  - state: idle\n    name: new footer\n    region: footer\n"
        "    any: ['new mode on']\n    input: true\n")
    panestate.use_profile_dirs(mine)
    found = panestate.detect(text, "claude-code")
    assert (found.state, found.question) == ("waiting:question", "Which port should I use?")
    assert panestate.load_profile("claude-code").tested  # the shipped keys come along
    (mine / "claude-code.yaml").write_text("extends: claude-code\nprepend_rules:\n  - state: idel\n")
    with pytest.raises(BreakroomError, match=r"claude-code.yaml:3: prepend_rules\[0\].state: expected"):
        panestate.use_profile_dirs(mine)  # checked when the breakroom starts, not mid-poll
    with pytest.raises(BreakroomError, match=r"agents.profiles_dir: .* is not a directory"):
        panestate.use_profile_dirs(tmp_path / "nowhere")


def test_teach_a_screen_from_a_live_pane(tmp_path: Path, tmux_socket: str, cli, shipped_profiles) -> None:
    """A pane reads wrong: `screens save` keeps it with its true state and the agent's release
    (asked of its binary, nothing typed), the table shows it misread; a pattern in the user's
    profiles directory makes it read right."""
    program = fake_claude(tmp_path / "bin", "2.1.400", NEW_FOOTER_SCREEN)
    mine, saved = tmp_path / "profiles", tmp_path / "my-screens"
    mine.mkdir()
    (tmp_path / "breakroom.yaml").write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "data"), "tmux": {"socket_name": tmux_socket},
        "sessions": {"cc": {"agent": "claude-code"}},
        "agents": {"profiles_dir": str(mine), "screens_dir": str(saved)}}))
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", "cc", "-x", "100", "-y", "20",
                    f"exec {program}"], check=True)
    before = wait_value(lambda: capture(tmux_socket, "cc"), lambda screen: "new mode on" in screen, 5,
                        "the fake agent's screen", poll=0.1)

    done = cli("screens", "save", "cc", "--state", "waiting:question", "--name", "new-footer")
    assert done.returncode == 1 and "say which question" in done.stderr  # it reads no question
    done = cli("screens", "save", "cc", "--state", "waiting:question", "--name", "new-footer",
               "--question", "Which port should I use?")
    assert done.returncode == 0, done.stderr
    path = saved / "claude-code" / "waiting-question" / "2.1.400-new-footer.txt"
    assert f"saved {path} (claude-code 2.1.400, waiting:question)" in done.stdout
    assert "Breakroom reads it as unknown" in done.stdout and "claude-code.yaml" in done.stdout
    screen = screens.read_screen(path)
    assert (screen.version, screen.question) == ("2.1.400", "Which port should I use?")
    assert "new mode on" in screen.text
    after = subprocess.run(["tmux", "-L", tmux_socket, "capture-pane", "-p", "-t", "=cc:"],
                           capture_output=True, text=True).stdout
    assert after == before  # nothing was typed into the pane

    table = cli("screens", "table")
    assert table.returncode == 1 and "| claude-code | 2.1.400 | `waiting:question` | 0/1 |" in table.stdout
    assert f"misread: {path} is waiting:question, read as unknown" in table.stdout
    (mine / "claude-code.yaml").write_text(
        "extends: claude-code\nprepend_rules:\n  - state: idle\n    name: new footer\n    region: footer\n"
        "    any: ['new mode on']\n    input: true\n")
    table = cli("screens", "table")
    assert table.returncode == 0, table.stdout
    assert "| claude-code | 2.1.400 | `waiting:question` | 1/1 |" in table.stdout
    assert "misread" not in table.stdout


def test_screens_cli_errors_are_one_line(tmp_path: Path, tmux_socket: str, cli) -> None:
    (tmp_path / "breakroom.yaml").write_text(yaml.safe_dump({"tmux": {"socket_name": tmux_socket}}))
    for args, message in ((("screens", "save", "nope", "--state", "idle"), "no tmux session 'nope'"),
                          (("screens", "save", "nope", "--state", "sleepy"), "--state: expected one of")):
        done = cli(*args)
        assert done.returncode == 1 and done.stderr.startswith(f"breakroom: {message}"), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_pin_moves_the_newest_release_and_keeps_the_oldest(tmp_path: Path) -> None:
    profile = tmp_path / "claude-code.yaml"
    profile.write_text((Path(PROFILES_DIR) / "claude-code.yaml").read_text(encoding="utf-8"))
    oldest = panestate.load_profile("claude-code").tested[0]
    assert pin("2.1.400", profile) == [oldest, "2.1.400"]
    assert "# The releases the live suite runs" in profile.read_text()  # comments kept
    with pytest.raises(BreakroomError, match="not newer than the oldest"):
        pin(oldest, profile)
    with pytest.raises(BreakroomError, match="not a release"):
        pin("latest", profile)


def test_the_makefile_installs_every_pinned_release() -> None:
    """The Makefile reads the pins from the profile (one place for the build and the product)."""
    root = Path(PROFILES_DIR).parents[2]
    shown = subprocess.run(["make", "-s", "-n", "-B", "claude-code"], cwd=root, capture_output=True,
                           text=True, env={**os.environ, "MAKEFLAGS": ""})
    for release in panestate.load_profile("claude-code").tested:
        assert f"npm install --prefix .claude-code/{release} " in shown.stdout, shown.stdout
        assert f"@anthropic-ai/claude-code@{release} " in shown.stdout
