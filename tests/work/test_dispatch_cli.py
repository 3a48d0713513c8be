"""The work-queue CLI as agents and humans run it: the real console script, a real database."""

import re
import subprocess

import pytest

from breakroom.record.db import db_path, open_db
from breakroom.work import queue as workqueue
from support.cli import BREAKROOM
from support.wait import wait_until


@pytest.fixture
def env():
    return {"LOGNAME": "tester", "USER": "tester"}  # getpass.getuser() reads LOGNAME first


def ok(result):
    assert result.returncode == 0, result.stderr
    return result.stdout


def fails(result, message):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert message in line, line
    return line


def test_issue_lifecycle_from_the_cli(cli, tmp_path, env):
    (tmp_path / "spec.md").write_text("Retry three times, then alert.\n")
    assert ok(cli("issue", "add", "Stripe webhook ignores DB failures", "--project", "shop",
                  "--priority", "1", "--body-file", "spec.md", env=env)) == \
        "#1 ready-for-prep: Stripe webhook ignores DB failures (project shop)\n"
    ok(cli("issue", "add", "Blog typo", "--project", "blog", "--state", "ready-for-dev", env=env))
    listing = ok(cli("issue", "list", "--project", "shop"))
    assert "#1" in listing and "Blog typo" not in listing
    assert ok(cli("issue", "move", "1", "ready-for-dev", "--note", "spec written", env=env)) == \
        "#1 ready-for-prep → ready-for-dev\n"
    ok(cli("issue", "comment", "1", "qa:", "fails", "on", "empty", "payload", env=env))
    shown = ok(cli("issue", "show", "1"))
    assert "Retry three times, then alert." in shown
    assert "tester: qa: fails on empty payload" in shown
    assert re.search(r"tester: ready-for-prep → ready-for-dev \(spec written\)", shown)
    assert "brief: build" in shown
    assert ok(cli("issue", "list", "--state", "ready-for-dev")).count("\n") == 2


def test_invalid_moves_and_unknown_ids_are_one_clear_line(cli, env):
    ok(cli("issue", "add", "Thing", "--project", "p", env=env))
    fails(cli("issue", "move", "1", "done", env=env), "cannot move #1 from ready-for-prep to done")
    fails(cli("issue", "move", "42", "qa", env=env), "no issue #42")
    fails(cli("issue", "move", "1", "shipped", env=env), "unknown state 'shipped'")
    fails(cli("issue", "show", "9"), "no issue #9")
    fails(cli("issue", "add", "x", "--skill", "nope"), "no skill named 'nope'")


def test_close_issue_done_creates_the_synthesize_issue_for_the_writer(cli, env):
    ok(cli("issue", "add", "Sprint work log", "--project", "shop", "--skill", "close",
           "--state", "ready-for-dev", env=env))
    out = ok(cli("issue", "move", "1", "done", env=env))
    assert "handoff: #2 synthesize: Sprint work log (project shop, role writer)" in out
    assert "synthesize: Sprint work log" in ok(cli("issue", "list", "--role", "writer"))


def test_import(cli, tmp_path, env):
    (tmp_path / "q.yaml").write_text("- {title: One, project: a}\n- {title: Two, project: a, priority: 1}\n")
    out = ok(cli("issue", "import", "q.yaml", env=env))
    assert out.endswith("imported 2 issues\n")
    (tmp_path / "bad.yaml").write_text("- {title: Three, state: nowhere}\n")
    fails(cli("issue", "import", "bad.yaml", env=env), "bad.yaml:1: issues[0].state: unknown state 'nowhere'")


def test_skills_list_show_and_malformed_reporting(cli, tmp_path):
    listing = ok(cli("skills", "list"))
    for name in ("scout", "prep", "build", "qa", "review", "close", "ask", "synthesize", "reflect",
                 "checkin"):
        assert re.search(rf"^{name}\s", listing, re.M), name
    assert "→ synthesize" in listing
    assert ok(cli("skills", "show", "build")).startswith("# build: ")
    fails(cli("skills", "show", "nope"), "no skill named 'nope'")
    mine = tmp_path / "myskills"
    mine.mkdir()
    (mine / "good.md").write_text("---\nname: good\ndescription: fine\n---\n")
    (mine / "bad.md").write_text("---\nname: bad\ndescription: ok\nstates: [qa\n---\n")
    result = cli("skills", "list", "--dir", str(mine))
    assert result.returncode == 1 and result.stdout.startswith("good ")
    assert re.search(rf"{re.escape(str(mine / 'bad.md'))}:\d+: front matter is not valid YAML", result.stderr)


def test_digest_and_audit_commands(cli, tmp_path):
    db = open_db(db_path(tmp_path / ".breakroom"))
    from breakroom.record import events as record
    record.append(db, [record.Event(nick="bob", kind="PRIVMSG", text=text, channel="#breakroom").values()
                       for text in ("shop: are you done?", "fixed: pool size")])
    db.conn.close()
    peek = ok(cli("digest", "--as", "shop", "--peek"))
    assert peek.splitlines()[1:] == ["For you:", peek.splitlines()[2], "Shared (decisions, fixes, warnings):",
                                     peek.splitlines()[4]]
    assert "shop: are you done?" in peek and "fixed: pool size" in peek
    ok(cli("digest", "--as", "shop"))
    assert ok(cli("digest", "--as", "shop")).startswith("Nothing new since your last check-in")
    assert ok(cli("audit")) == "no dispatcher cycles or permission prompts yet\n"
    fails(cli("digest", "--since", "yesterday-ish"), "--since: expected a time")


def test_a_move_is_announced_in_the_channel_when_the_breakroom_runs(ircd, running_app, irc_client, cli, env):
    running_app(ircd, services=("scribe",))
    human = irc_client(ircd, "human")
    ok(cli("issue", "add", "Stripe webhook ignores DB failures", "--project", "shop",
           "--state", "ready-for-dev", env=env))
    ok(cli("issue", "move", "1", "qa", "--note", "retries added", env=env))
    line = human.wait_for(r"PRIVMSG #breakroom :\[queue\]")
    assert line.endswith(':[queue] tester moved #1 "Stripe webhook ignores DB failures" '
                         "ready-for-dev → qa (retries added)")


def test_a_move_without_a_running_breakroom_is_quiet(cli, env):
    ok(cli("issue", "add", "Thing", "--project", "p", env=env))
    result = cli("issue", "move", "1", "ready-for-dev", env=env)
    assert result.returncode == 0 and result.stderr == ""


def test_an_agent_moving_an_issue_from_inside_its_tmux_session(tmp_path, tmux_socket):
    """Who moved it is the tmux session the command ran in, not the user."""
    db = open_db(db_path(tmp_path / ".breakroom"))
    workqueue.add_issue(db, "Feature", who="human", project="shop", state="ready-for-dev")
    done = tmp_path / "moved.txt"
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", "shop", "-x", "120", "-y", "30",
                    "-c", str(tmp_path),
                    f"{BREAKROOM} issue move 1 qa --note 'built it' > {done} 2>&1; sleep 30"], check=True)
    wait_until(lambda: done.exists() and done.read_text(), 15, "the move's output in moved.txt")
    assert done.read_text() == "#1 ready-for-dev → qa\n"
    last = workqueue.history(db, 1)[-1]
    assert (last.who, last.to_state, last.note) == ("shop", "qa", "built it")
    db.conn.close()
