"""``sweep.policy``: which permission prompts the sweep may approve on its own.

A permission prompt is not a question: by default the sweep approves nothing and only
flags sessions that wait too long.  A policy file names the low-risk prompts it may answer,
for example read-only tools::

    approve:
      - name: read-only tools
        tool: "Read|Glob|Grep|LS"     # full match, case-insensitive, on the prompt's tool
        agents: [claude-code]         # optional: only for these agent kinds
        keys: ["1"]                   # optional: what to press on a screen's dialog
                                      # (default: the agent profile's permission.allow)

A rule needs ``tool`` or ``prompt`` (a regex searched in the prompt's text, ``^``/``$`` at
line ends); both must match when both are given.  The first matching rule wins.  What a
prompt's tool and text are (:mod:`breakroom.fleet.dialogs`): from Claude Code's
PermissionRequest hook, the tool's name (``Bash``, ``Read``, ``mcp__server__tool``), and as
text what it will do on the first line (``rm -rf build``) then its input as JSON; read off a
screen, the ``Name(`` call
shown in the dialog (``Read(/etc/hosts)`` -> ``Read``), else the dialog's title line (Claude
Code: ``Bash command``, ``Edit file shop/cart.py``), and the dialog's text.  A matching rule
decides through the same path an operator's ``!allow`` takes (:mod:`breakroom.fleet.permissions`):
the hook gets the answer, or ``keys`` are pressed on a screen's dialog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, model_validator

from breakroom.errors import ConfigError
from breakroom.fleet.dialogs import PermissionPrompt
from breakroom.yamlfile import FileModel, Regex, Text, entry_error, load_model, validate


@dataclass(frozen=True)
class Rule:
    name: str
    tool: re.Pattern[str] | None = None
    prompt: re.Pattern[str] | None = None
    agents: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()   # none: the agent profile's ``permission.allow``

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
    keys: Names = Field(default_factory=list)

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
