"""`breakroom hooks install --agent codex`: Codex's config.toml gains breakroom's hooks, notify
and MCP server without losing a byte of the user's own settings, and the hooks are trusted
with the hashes the real Codex computes (its ``app-server`` ``hooks/list``)."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from breakroom.cli.base import cli
from breakroom.errors import BreakroomError
from breakroom.fleet import codex_wiring
from breakroom.fleet.hooks import hook_command, hook_prefix
from support.cli import BREAKROOM
from support.codex_cli import codex_binary

USER_CONFIG = """\
# my Codex settings
model = "gpt-5"   # the good one
notify = ["notify-send", "codex"]

[mcp_servers.github]
command = "gh-mcp"

[[hooks.Stop]]
[[hooks.Stop.hooks]]
type = "command"
command = "say done"
"""


def install(home: Path, **kw: object) -> codex_wiring.Installed:
    return codex_wiring.install(home, home, config=str(home / "breakroom.yaml"), **kw)  # type: ignore[arg-type]


def test_into_an_empty_home(tmp_path: Path) -> None:
    config = str(tmp_path / "breakroom.yaml")
    done = install(tmp_path)
    on_disk = tomllib.loads((tmp_path / "config.toml").read_text())
    assert on_disk == tomllib.loads(done.text)
    for event in codex_wiring.EVENTS:
        assert on_disk["hooks"][event] == [{"hooks": [{
            "type": "command", "command": hook_command(event, hook_prefix(), config), "timeout": 10}]}]
    assert on_disk["notify"] == [BREAKROOM, "hook", "agent-turn-complete", "--config", config]
    assert on_disk["mcp_servers"]["breakroom"] == {"command": BREAKROOM, "args": ["--config", config, "mcp"],
                                                   "default_tools_approval_mode": "approve"}
    assert done.untrusted == "codex is not on PATH"
    assert install(tmp_path).changes == []  # idempotent


def test_keeps_the_users_settings_and_comments(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(USER_CONFIG)
    done = install(tmp_path)
    text = (tmp_path / "config.toml").read_text()
    assert text.startswith(USER_CONFIG.split("[[hooks.Stop]]")[0])  # comments, order, spacing
    on_disk = tomllib.loads(text)
    assert on_disk["model"] == "gpt-5"
    assert on_disk["notify"] == ["notify-send", "codex"]  # one program only: the user's stays
    assert "notify" not in done.changes
    kept = codex_wiring.user_notify(codex_wiring.read_config(tmp_path / "config.toml"))
    assert kept == ["notify-send", "codex"]
    assert on_disk["mcp_servers"]["github"] == {"command": "gh-mcp"}
    assert on_disk["hooks"]["Stop"][0] == {"hooks": [{"type": "command", "command": "say done"}]}
    assert on_disk["hooks"]["Stop"][1]["hooks"][0]["command"].startswith(f"{BREAKROOM} hook Stop ")


def test_an_older_install_is_replaced_not_doubled(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        'notify = ["/old/breakroom", "hook", "agent-turn-complete"]\n\n'
        '[[hooks.Stop]]\n[[hooks.Stop.hooks]]\ntype = "command"\ncommand = "/old/breakroom hook Stop"\n'
        '\n[mcp_servers.breakroom]\ncommand = "/old/breakroom"\nargs = ["mcp"]\n')
    done = install(tmp_path)
    assert {"notify", "hook Stop", "MCP server breakroom"} <= set(done.changes)
    on_disk = tomllib.loads((tmp_path / "config.toml").read_text())
    assert len(on_disk["hooks"]["Stop"]) == 1
    assert on_disk["notify"][0] == BREAKROOM and on_disk["mcp_servers"]["breakroom"]["command"] == BREAKROOM


@pytest.mark.parametrize("text,message", [
    ("model = [unclosed\n", "cannot read it as TOML"),
    ('hooks = "none"\n', "'hooks' is not a table"),
    ('[hooks]\nStop = "no"\n', "hooks.Stop is not an array of tables"),
])
def test_a_file_it_cannot_merge_is_left_alone(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(BreakroomError, match=message):
        install(tmp_path)
    assert (tmp_path / "config.toml").read_text() == text


def test_trust_records_only_breakroom_hooks_that_codex_does_not_trust_yet(tmp_path: Path) -> None:
    doc = codex_wiring.read_config(tmp_path / "config.toml")
    codex_wiring.merge(doc, "config.toml", config=None)
    ours = hook_command("Stop", hook_prefix(), None)
    listed = [  # the shape `codex app-server` answers hooks/list with (0.171.0)
        {"key": "/h/config.toml:stop:0:0", "eventName": "stop", "command": "say done",
         "currentHash": "sha256:aa", "trustStatus": "untrusted"},
        {"key": "/h/config.toml:stop:1:0", "eventName": "stop", "command": ours,
         "currentHash": "sha256:bb", "trustStatus": "untrusted"},
        {"key": "/h/config.toml:post_tool_use:0:0", "eventName": "postToolUse",
         "command": hook_command("PostToolUse", hook_prefix(), None), "currentHash": "sha256:cc",
         "trustStatus": "modified"},
        {"key": "/h/config.toml:user_prompt_submit:0:0", "eventName": "userPromptSubmit",
         "command": hook_command("UserPromptSubmit", hook_prefix(), None), "currentHash": "sha256:dd",
         "trustStatus": "trusted"},
        {"key": "/h/config.toml:session_start:0:0", "eventName": "sessionStart",  # not one of ours
         "command": hook_command("SessionStart", hook_prefix(), None), "currentHash": "sha256:ee",
         "trustStatus": "untrusted"},
    ]
    assert codex_wiring.trust(doc, listed) == 2
    state = tomllib.loads(doc.as_string())["hooks"]["state"]
    assert state == {"/h/config.toml:stop:1:0": {"trusted_hash": "sha256:bb"},
                     "/h/config.toml:post_tool_use:0:0": {"trusted_hash": "sha256:cc"}}


@pytest.mark.skipif(codex_binary() is None, reason="Codex is not installed (make venv)")
def test_the_real_codex_trusts_what_was_installed(tmp_path: Path) -> None:
    """Codex's own hooks/list, asked again after the install, finds every hook of breakroom
    trusted (so its start-up shows no "Hooks need review" dialog) and the user's untouched."""
    (tmp_path / "config.toml").write_text(USER_CONFIG)
    binary = codex_binary()
    assert binary is not None
    done = install(tmp_path, codex=binary)
    assert done.untrusted is None and f"trusted {len(codex_wiring.EVENTS)} hooks" in done.changes
    listed = codex_wiring.listed_hooks(binary, tmp_path, tmp_path)
    status = {h["command"]: h["trustStatus"] for h in listed}
    assert status.pop("say done") == "untrusted"
    assert len(status) == len(codex_wiring.EVENTS) and set(status.values()) == {"trusted"}
    assert install(tmp_path, codex=binary).changes == []


def test_cli(tmp_path: Path) -> None:
    config = tmp_path / "breakroom.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    home = tmp_path / "codex-home"
    args = ["--config", str(config), "hooks", "install", "--agent", "codex", "--codex-home", str(home)]
    printed = CliRunner().invoke(cli, [*args, "--print"])
    assert printed.exit_code == 0 and printed.output.startswith(f"# Codex: {home}/config.toml (merged)\n")
    assert tomllib.loads(printed.output.split("\n", 1)[1])["mcp_servers"]["breakroom"]["args"][-1] == "mcp"
    assert not home.exists()
    env = {**os.environ, "PATH": os.defpath}  # no codex on PATH: written, trust left to the user
    done = subprocess.run([BREAKROOM, *args], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{home}/config.toml: hook UserPromptSubmit, ")
    assert "not trusted yet (codex is not on PATH)" in done.stderr
    (home / "config.toml").write_text("[broken\n")
    done = subprocess.run([BREAKROOM, *args], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("breakroom: ") and "config.toml" in done.stderr


def test_doctor_says_when_codex_is_not_wired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from breakroom import config as config_mod
    from breakroom.cli.doctor import _session, render

    config = tmp_path / "breakroom.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    cfg = config_mod.load(str(config))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    status = {"session": "cx", "agent": "codex", "state": "idle", "hook_at": None}
    [finding] = _session(cfg, status)
    expected = f"PROBLEM  session cx: codex, idle: not wired in {tmp_path}/codex/config.toml"
    assert render(finding).startswith(expected)
    assert render(finding).endswith("fix: breakroom hooks install --agent codex")
    codex_wiring.install(tmp_path / "codex", tmp_path, config=str(config))
    [finding] = _session(cfg, status)
    assert finding.ok and "hooks installed, never fired" in render(finding)
