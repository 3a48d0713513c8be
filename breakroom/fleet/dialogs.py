"""A permission prompt as the breakroom knows it: the tool it asks about and what it will do.

Two sources give one shape, :class:`PermissionPrompt`, which the relay to IRC
(:mod:`breakroom.fleet.permissions`) shows and ``sweep.policy`` matches:

- a hook's report (Claude Code's ``PermissionRequest``: ``tool_name`` and ``tool_input``):
  :func:`from_tool`;
- the dialog read off a pane, for agents without that hook: :func:`read_prompt`.  What an
  option, a title icon, the border and a tool call look like is the agent's profile's
  ``permission`` section.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from breakroom.fleet.panestate import permission_patterns

_MAX_DIALOG_LINES = 12
_MAX_TEXT = 2000  # characters of a prompt's text kept (policies match on it; IRC shows less)
# tool_input fields that say what a tool will do, most telling first (Bash's command, the
# file an edit touches, the URL a fetch reads …); an input with none of them is shown whole.
SUMMARY_FIELDS = ("command", "file_path", "notebook_path", "path", "url", "pattern", "query", "prompt")


@dataclass(frozen=True)
class PermissionPrompt:
    """A session's permission prompt: ``tool`` is the tool's name (a hook's ``Bash``; on
    screen the ``Name(`` call shown, else the dialog's title line, Claude Code's
    ``Bash command``), ``what`` one line saying what it will do, ``text`` everything known
    for policies to match (the dialog; or what it will do, then the tool's input as JSON)."""

    session: str
    agent: str
    tool: str | None
    what: str
    text: str


def _strip_box(line: str) -> str:
    return line.strip().strip("│|").strip()


def from_tool(session: str, agent: str, tool: object, tool_input: object) -> PermissionPrompt:
    """A hook's report of a permission prompt (untrusted: any JSON may arrive)."""
    name = tool if isinstance(tool, str) and tool else None
    fields = tool_input if isinstance(tool_input, dict) else {}
    shown = tool_input if isinstance(tool_input, str) else json.dumps(tool_input, ensure_ascii=False)
    what = next((fields[key] for key in SUMMARY_FIELDS if isinstance(fields.get(key), str)), shown)
    return PermissionPrompt(session, agent, name, what, f"{what}\n{shown}"[:_MAX_TEXT])


def read_prompt(session: str, agent: str, pane_text: str) -> PermissionPrompt:
    """Cut the permission dialog out of a pane, name its tool and say what it asks.

    The dialog's question is the last line asking something ("Do you want to proceed?",
    "Allow execution of: 'rm'?", "Run shell command? (Y)es/(N)o"); the dialog runs from
    below the rule or box border above it (or a run of blank lines) to its last numbered
    option.  The tool is a ``Name(`` call shown in the dialog, else the dialog's title; what
    it will do is the dialog's first line between its title and its question.
    """
    spec = permission_patterns(agent)
    lines = pane_text.splitlines()
    asks = [i for i, line in enumerate(lines) if "?" in line and not spec.option.match(line)]
    if not asks:
        text = "\n".join(lines[-_MAX_DIALOG_LINES:]).strip()
        return PermissionPrompt(session, agent, None, _first_line(text), text)
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
    call = next(((i, m) for i, line in enumerate(block) if (m := spec.tool_call.match(line))), None)
    head = block[:ask - start]
    framed = [i + 1 for i, line in enumerate(block[:-1]) if spec.framed and spec.framed.match(line)]
    body = [line for line in head if line and not any(p.search(line) for p in spec.skip)]
    if call is not None:
        tool: str | None = call[1].group(1)
        what = block[call[0]][call[1].end():].rstrip(")")
    else:
        tool = spec.title_icon.sub("", body[0]) if body else None
        after = block[framed[0]:] if framed else body[1:]
        what = next((line for line in after if line and not spec.option.match(line)), "")
    return PermissionPrompt(session, agent, tool, what or _first_line(block[ask - start]),
                            "\n".join(block).strip())


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def summary(prompt: PermissionPrompt, limit: int) -> str:
    """``Bash: rm -rf build`` in one line of at most ``limit`` characters."""
    what = one_line_what(prompt, limit)
    line = f"{prompt.tool}: {what}" if prompt.tool and what else (prompt.tool or what or "a permission")
    return _cut(line, limit)


def one_line_what(prompt: PermissionPrompt, limit: int) -> str:
    """What the tool will do, in one line of at most ``limit`` characters."""
    return _cut(re.sub(r"\s+", " ", prompt.what).strip(), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
