"""sweep.policy: reading permission dialogs, validating rules, deciding.  (Deciding a real
prompt through the relay: tests/fleet/test_permission_relay.py.)"""

from __future__ import annotations

import pytest

from breakroom.errors import ConfigError
from breakroom.fleet.dialogs import PermissionPrompt, from_tool, read_prompt, summary
from breakroom.fleet.screens import read_screen
from breakroom.paths import SCREEN_CORPUS
from breakroom.sweep.policy import Policy, load_policy, parse_policy


def fixture(path: str) -> str:
    return read_screen(SCREEN_CORPUS / path).text


@pytest.mark.parametrize("path, tool, first, last", [
    ("claude-code/waiting-permission/bash-command.txt", "Bash command", "Bash command",
     "3. No, and tell Claude what to do differently (esc)"),
    ("claude-code/waiting-permission/edit-file.txt", "Edit file shop/cart.py", "Edit file shop/cart.py",
     "3. No, and tell Claude what to do differently (esc)"),
    ("claude-code/waiting-permission/2.1.197-manual-bash-touch.txt", "Bash command", "Bash command", "3. No"),
    ("claude-code/waiting-permission/2.1.332-manual-bash-touch.txt", "Bash command", "Bash command", "4. No"),
    ("gemini/waiting-permission/0.61.0-allow-shell.txt", "Shell",
     "? Shell  touch made-by-the-test.txt", "3. No, suggest changes (esc)"),
    ("aider/waiting-permission/0.86.2-run-shell-command.txt", "sleep 4; echo tool-output",
     "sleep 4; echo tool-output", "Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]:"),
    ("codex/waiting-permission/0.171.0-run-command.txt", "Would you like to run the following command?",
     "Would you like to run the following command?",
     "3. No, and tell Codex what to do differently (esc)"),
])
def test_read_prompt_cuts_the_dialog_and_names_the_tool(path, tool, first, last):
    prompt = read_prompt("s", path.split("/")[0], fixture(path))  # cut with its agent's patterns
    lines = prompt.text.splitlines()
    assert prompt.tool == tool
    assert (lines[0], lines[-1]) == (first, last)


@pytest.mark.parametrize("path, what", [
    ("claude-code/waiting-permission/2.1.197-manual-bash-touch.txt", "touch made-by-the-test.txt"),
    # 2.1.332 frames the command between ╌ lines, under a "Tip:" and its description
    ("claude-code/waiting-permission/2.1.332-manual-bash-touch.txt", "touch made-by-the-test.txt"),
    ("codex/waiting-permission/0.171.0-run-command.txt", "$ touch made-by-the-capture.txt"),
])
def test_what_a_dialog_asks_to_do(path, what):
    assert read_prompt("s", path.split("/")[0], fixture(path)).what == what


def test_a_hooks_report_is_a_prompt_too():
    bash = from_tool("s", "claude-code", "Bash", {"command": "rm -rf build", "description": "clean"})
    assert (bash.tool, bash.what) == ("Bash", "rm -rf build")
    assert bash.text.splitlines()[0] == "rm -rf build"  # policies' `prompt: ^rm -rf build$` match it
    assert parse_policy({"approve": [{"tool": "Bash", "prompt": "^rm -rf build$"}]}).decide(bash)
    mcp = from_tool("s", "claude-code", "mcp__x__y", {"n": 1})
    assert summary(mcp, 80) == 'mcp__x__y: {"n": 1}'
    odd = from_tool("s", "claude-code", ["not", "a", "name"], "text")  # untrusted: any JSON
    assert (odd.tool, odd.what) == (None, "text")
    assert summary(from_tool("s", "x", "Bash", {"command": "x" * 500}), 40) == "Bash: " + "x" * 33 + "…"


def test_the_agents_profile_says_what_a_dialog_looks_like():
    """The cutting patterns are the profile's: an agent without its own uses the shell
    profile's, and Claude Code's real (●) tool lines are not taken for the title."""
    pane = fixture("claude-code/waiting-permission/2.1.332-manual-bash-touch.txt")
    own, default = read_prompt("s", "claude-code", pane), read_prompt("s", "no-such-agent", pane)
    assert (own.tool, own.text) == (default.tool, default.text)


def test_a_tool_call_in_the_dialog_names_the_tool():
    pane = ("⏺ Let me look at the hosts file.\n\n" + "─" * 60 + "\n Read file\n\n  Read(/etc/hosts)\n\n"
            " Do you want to proceed?\n ❯ 1. Yes\n   2. No, and tell Claude what to do differently (esc)\n")
    assert read_prompt("s", "claude-code", pane).tool == "Read"


def prompt(tool: str | None, text: str = "Do you want to proceed?", agent: str = "claude-code"):
    return PermissionPrompt("s", agent, tool, "", text)


def test_default_policy_approves_nothing():
    assert load_policy(None).decide(prompt("Read")) is None
    assert Policy().decide(prompt("Bash command")) is None


def test_rules_match_tool_fully_prompt_by_search_and_agents():
    policy = parse_policy({"approve": [
        {"name": "read-only", "tool": "Read|Glob|Grep", "agents": ["claude-code"]},
        {"name": "git status", "prompt": r"^git status$", "keys": ["Enter"]},
    ]})
    assert policy.decide(prompt("Read")).name == "read-only"
    assert policy.decide(prompt("read")).name == "read-only"  # case-insensitive
    assert policy.decide(prompt("ReadWrite")) is None  # a full match, not a prefix
    assert policy.decide(prompt("Read", agent="codex")) is None
    rule = policy.decide(prompt("Bash command", "Bash command\ngit status\nDo you want to proceed?"))
    assert rule.name == "git status" and rule.keys == ("Enter",)
    assert policy.decide(prompt("Bash command", "Bash command\nrm -rf /\nDo you want to proceed?")) is None


@pytest.mark.parametrize("raw, message", [
    ({"approve": [{"name": "all"}]}, "needs `tool` or `prompt`"),
    ({"approve": [{"tool": "Read", "colour": "red"}]}, "approve[0].colour: unknown key"),
    ({"approve": [{"tool": "("}]}, "approve[0].tool: bad regex"),
    ({"approve": [{"tool": "Read", "keys": 1}]}, "approve[0].keys: expected a list of strings"),
    ({"allow": []}, "sweep.policy: allow: unknown key"),
    ({"approve": {"tool": "Read"}}, "sweep.policy: approve: expected a list, got {'tool': 'Read'}"),
])
def test_bad_policies_name_the_key(raw, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_policy(raw)


def test_load_policy_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("approve: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_policy(str(bad))
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("approve:\n  - name: reads\n    tool: Read\n"
                     "  - name: shell\n    tool: Bash\n    keys: {y: 1}\n")
    with pytest.raises(ConfigError) as err:
        load_policy(str(wrong))
    assert str(err.value) == f"{wrong}:6: approve[1].keys: expected a list of strings, got {{'y': 1}}"
    good = tmp_path / "policy.yaml"
    good.write_text("approve:\n  - {name: reads, tool: Read}\n")
    assert [r.name for r in load_policy(str(good)).rules] == ["reads"]
