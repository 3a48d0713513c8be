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
from typing import Annotated

from pydantic import BeforeValidator, Field, model_validator

from breakroom.errors import ConfigError
from breakroom.fleet.panestate import permission_patterns
from breakroom.yamlfile import FileModel, Regex, Text, entry_error, load_model, validate

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
    tool: re.Pattern[str] | None = None
    prompt: re.Pattern[str] | None = None
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



def _names(value: object) -> object:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("expected a list of strings")
    return value


Names = Annotated[list[str], BeforeValidator(_names)]


class RuleFile(FileModel):
    """One ``approve`` entry as written."""

    name: Text | None = None
    tool: Regex | None = None
    prompt: Regex | None = None
    agents: Names = Field(default_factory=list)
    keys: Names = Field(default_factory=lambda: ["1"])

    @model_validator(mode="after")
    def _matches_something(self) -> RuleFile:
        if self.tool is None and self.prompt is None:
            raise entry_error("needs `tool` or `prompt` "
                              "(a rule matching everything would approve every prompt)")
        return self


class PolicyFile(FileModel):
    approve: list[RuleFile] = Field(default_factory=list)


def _rule(index: int, raw: RuleFile) -> Rule:
    return Rule(
        name=raw.name or f"rule {index + 1}",
        tool=re.compile(raw.tool, re.IGNORECASE) if raw.tool is not None else None,
        prompt=re.compile(raw.prompt, re.IGNORECASE | re.MULTILINE) if raw.prompt is not None else None,
        agents=tuple(raw.agents), keys=tuple(raw.keys))


def _policy(model: PolicyFile) -> Policy:
    return Policy(tuple(_rule(i, r) for i, r in enumerate(model.approve)))


def parse_policy(raw: object) -> Policy:
    """Validate a parsed policy document; errors name the rule and key."""
    return _policy(validate(PolicyFile, {} if raw is None else raw, label="sweep.policy", error=ConfigError))


def load_policy(path: str | None) -> Policy:
    """The policy in ``path``; no path means the default: approve nothing."""
    if not path:
        return Policy()
    return _policy(load_model(Path(path).expanduser(), PolicyFile, label="sweep.policy", error=ConfigError))
