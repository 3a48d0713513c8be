"""``sweep.policy``: which permission prompts the sweep may approve on its own.

A permission prompt is not a question: by default the sweep approves nothing and only
flags sessions that wait too long.  A policy file names the low-risk prompts it may answer,
for example read-only tools::

    approve:
      - name: read-only tools
        tool: "Read|Glob|Grep|LS"     # full match, case-insensitive, on the prompt's tool
        agents: [claude-code]         # optional: only for these agent kinds
        keys: ["1"]                   # optional: what to press (default "1", i.e. "1. Yes")

A rule needs ``tool`` or ``prompt`` (a regex searched in the dialog's text, ``^``/``$`` at
line ends); both must match when both are given.  The first matching rule wins.  ``tool`` is
the ``Name(`` call shown in the dialog (``Read(/etc/hosts)`` -> ``Read``), else the dialog's
title line (Claude Code: ``Bash command``, ``Edit file shop/cart.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from breakroom.errors import ConfigError
from breakroom.fleet.panestate import permission_patterns
from breakroom.yamlfile import read_yaml

_RULE_KEYS = {"name", "tool", "prompt", "agents", "keys"}
_MAX_DIALOG_LINES = 12


@dataclass(frozen=True)
class PermissionPrompt:
    """A session's permission dialog as read from its pane."""

    session: str
    agent: str
    tool: str | None  # ``Read`` from ``Read(/etc/hosts)``, else the dialog's title line
    text: str  # the dialog, from its title to its last option


@dataclass(frozen=True)
class Rule:
    name: str
    tool: re.Pattern | None = None
    prompt: re.Pattern | None = None
    agents: tuple[str, ...] = ()
    keys: tuple[str, ...] = ("1",)

    def matches(self, prompt: PermissionPrompt) -> bool:
        if self.agents and prompt.agent not in self.agents:
            return False
        if self.tool is not None and not (prompt.tool and self.tool.fullmatch(prompt.tool)):
            return False
        return self.prompt is None or bool(self.prompt.search(prompt.text))


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def decide(self, prompt: PermissionPrompt) -> Rule | None:
        """The rule that approves ``prompt``, or None (leave it for a human)."""
        return next((rule for rule in self.rules if rule.matches(prompt)), None)


def _strip_box(line: str) -> str:
    return line.strip().strip("│|").strip()


def read_prompt(session: str, agent: str, pane_text: str) -> PermissionPrompt:
    """Cut the permission dialog out of a pane and name its tool.

    The dialog's question is the last line asking something ("Do you want to proceed?",
    "Allow execution of: 'rm'?", "Run shell command? (Y)es/(N)o"); the dialog runs from
    below the rule or box border above it (or a run of blank lines) to its last numbered
    option.  The tool is a ``Name(`` call shown in the dialog, else the dialog's title.
    What an option, a title icon, the border and a tool call look like is the agent's
    profile's ``permission`` section.
    """
    spec = permission_patterns(agent)
    lines = pane_text.splitlines()
    asks = [i for i, line in enumerate(lines) if "?" in line and not spec.option.match(line)]
    if not asks:
        return PermissionPrompt(session, agent, None, "\n".join(lines[-_MAX_DIALOG_LINES:]).strip())
    ask = asks[-1]
    options = [i for i in range(ask + 1, len(lines)) if spec.option.match(lines[i])]
    end = options[-1] + 1 if options else ask + 1
    start, blanks = ask, 0
    while start > 0 and ask - start < _MAX_DIALOG_LINES and not spec.rule_line.search(lines[start - 1]):
        blanks = blanks + 1 if not _strip_box(lines[start - 1]) else 0
        if blanks == 2:
            start += 1
            break
        start -= 1
    block = [_strip_box(line) for line in lines[start:end]]
    tool = next((m.group(1) for line in block if (m := spec.tool_call.match(line))), None)
    if tool is None:
        tool = next((spec.title_icon.sub("", line) for line in block if line), None)
    return PermissionPrompt(session, agent, tool, "\n".join(block).strip())


def _pattern(key: str, value: object, flags: int) -> re.Pattern:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: expected a regular expression, got {value!r}")
    try:
        return re.compile(value, re.IGNORECASE | flags)
    except re.error as exc:
        raise ConfigError(f"{key}: not a valid regular expression ({exc})") from None


def _names(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
    return tuple(value)


def _rule(index: int, raw: object) -> Rule:
    where = f"sweep.policy approve[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {raw!r}")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key "
                          f"(known: {', '.join(sorted(_RULE_KEYS))})")
    if "tool" not in raw and "prompt" not in raw:
        raise ConfigError(f"{where}: needs `tool` or `prompt` (a rule matching everything "
                          "would approve every prompt)")
    name = raw.get("name") or f"rule {index + 1}"
    return Rule(
        name=str(name),
        tool=_pattern(f"{where}.tool", raw["tool"], 0) if "tool" in raw else None,
        prompt=_pattern(f"{where}.prompt", raw["prompt"], re.MULTILINE) if "prompt" in raw else None,
        agents=_names(f"{where}.agents", raw["agents"]) if "agents" in raw else (),
        keys=_names(f"{where}.keys", raw["keys"]) if "keys" in raw else ("1",),
    )


def parse_policy(raw: object) -> Policy:
    """Validate a parsed policy document; errors name the rule and key."""
    if raw is None:
        return Policy()
    if not isinstance(raw, dict) or set(raw) - {"approve"}:
        raise ConfigError("sweep.policy: expected a mapping with one key, `approve` (a list of rules)")
    rules = raw.get("approve") or []
    if not isinstance(rules, list):
        raise ConfigError(f"sweep.policy approve: expected a list of rules, got {rules!r}")
    return Policy(tuple(_rule(i, r) for i, r in enumerate(rules)))


def load_policy(path: str | None) -> Policy:
    """The policy in ``path``; no path means the default: approve nothing."""
    if not path:
        return Policy()
    return parse_policy(read_yaml(Path(path).expanduser(), label="sweep.policy", error=ConfigError))
