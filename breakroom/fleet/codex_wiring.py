"""``breakroom hooks install --agent codex``: wire the Codex CLI to the breakroom through its own
``config.toml`` (in ``$CODEX_HOME``, default ``~/.codex``).

What Codex offers, and what this writes (verified on the releases the codex profile lists):

- **Hooks** (``[[hooks.EVENT]]``, the same events and JSON as Claude Code's): UserPromptSubmit,
  PostToolUse, PermissionRequest and Stop run ``breakroom hook EVENT``, so state is reported
  at once and queued messages reach the agent mid-turn (``additionalContext``) or keep it
  going at Stop (``decision: block``).  SessionStart is left out: Codex starts its session
  with the first turn, so the hook fires as that turn begins, and its "idle" would be a lie
  (a message typed then would land in a working pane).  Codex runs a hook
  only once its hash is trusted — otherwise every start stops at a "Hooks need review"
  dialog — so this asks Codex itself (``codex app-server``, ``hooks/list``) for the hashes of
  the hooks it wrote and records them under ``[hooks.state]``, as the dialog's "Trust" would.
- **notify** (``notify = [...]``): Codex runs it with a JSON argument when a turn completes;
  it reports ``idle`` even where hooks are untrusted or missing (older releases).  A
  ``notify`` the user set is kept: Codex has room for one program.
- **MCP** (``[mcp_servers.breakroom]``): ``breakroom mcp``, so the agent has say, ask, inbox …
  as tools (Codex offers them to the model as ``mcp__breakroom`` namespace tools).  Its tools
  are approved (``default_tools_approval_mode = "approve"``): Codex would otherwise stop at
  "Allow the breakroom MCP server to run tool "say"?" on every call, and they act only as
  the calling session.

The file is edited with tomlkit, which keeps the user's comments, order and formatting;
only breakroom's own entries are added or replaced, so running it again changes nothing.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Table

from breakroom.errors import BreakroomError
from breakroom.fleet.hooks import HOOK_TIMEOUT, breakroom_argv, hook_command, hook_prefix, is_breakroom_hook
from breakroom.fleet.mcp_register import SERVER_NAME, server_entry

EVENTS = ("UserPromptSubmit", "PostToolUse", "PermissionRequest", "Stop")
NOTIFY_EVENT = "agent-turn-complete"   # the notify program's event (its JSON's "type")
TRUST_TIMEOUT = 20.0                   # seconds `codex app-server` gets to list the hooks


def codex_home() -> Path:
    """Where Codex keeps its config: ``$CODEX_HOME``, else ``~/.codex``."""
    return Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")


def notify_argv(config: str | None) -> list[str]:
    """``[/abs/breakroom, hook, agent-turn-complete, --config, /abs/breakroom.yaml]``; Codex
    appends the turn's JSON as one more argument."""
    return [*breakroom_argv(), "hook", NOTIFY_EVENT, *(["--config", config] if config else [])]


def read_config(path: Path) -> tomlkit.TOMLDocument:
    """``config.toml`` as an editable document ({} when missing); one line on bad TOML."""
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    except (TOMLKitError, OSError, UnicodeDecodeError) as exc:
        raise BreakroomError(f"{path}: cannot read it as TOML ({exc}); fix it by hand first") from None


def _table(parent: Any, key: str, where: str) -> Any:
    if key not in parent:
        parent[key] = tomlkit.table()
    if not isinstance(parent[key], Table | dict):
        raise BreakroomError(f"{where}: {key!r} is not a table; fix it by hand first")
    return parent[key]


def _ours(group: Any, event: str) -> bool:
    return isinstance(group, Table | dict) and any(
        isinstance(h, Table | dict) and is_breakroom_hook(h.get("command"), event)
        for h in group.get("hooks") or [])


def merge(doc: tomlkit.TOMLDocument, where: str, *, prefix: str | None = None,
          config: str | None = None) -> list[str]:
    """Put breakroom's hooks, notify and MCP server into ``doc`` in place; returns what
    changed, one phrase each (empty: all there already)."""
    prefix = prefix or hook_prefix()
    changes: list[str] = []

    hooks = _table(doc, "hooks", where)
    for event in EVENTS:
        command = hook_command(event, prefix, config)
        wanted = {"hooks": [{"type": "command", "command": command, "timeout": HOOK_TIMEOUT}]}
        groups = hooks.get(event)
        if groups is None:
            groups = hooks[event] = tomlkit.aot()
        if not isinstance(groups, AoT | list):
            raise BreakroomError(f"{where}: hooks.{event} is not an array of tables; fix it by hand first")
        ours = [i for i, g in enumerate(groups) if _ours(g, event)]
        if len(ours) == 1 and groups[ours[0]].unwrap() == wanted:
            continue
        for i in reversed(ours):
            del groups[i]
        groups.append(wanted)
        changes.append(f"hook {event}")

    argv = notify_argv(config)
    current = doc.get("notify")
    ours_notify = isinstance(current, list) and is_breakroom_hook(" ".join(map(str, current)), NOTIFY_EVENT)
    if current is None or (ours_notify and list(current) != argv):
        doc["notify"] = argv
        changes.append("notify")

    servers = _table(doc, "mcp_servers", where)
    server = server_entry(config)
    entry = {"command": server["command"], "args": server["args"], "default_tools_approval_mode": "approve"}
    existing = servers.get(SERVER_NAME)
    if existing is None or existing.unwrap() != entry:
        servers[SERVER_NAME] = entry
        changes.append(f"MCP server {SERVER_NAME}")
    return changes


def pending(home: Path, config: str | None) -> list[str]:
    """What ``install`` would still change in ``home/config.toml`` ([]: all wired, as this
    breakroom's config names it)."""
    path = home / "config.toml"
    return merge(read_config(path), str(path), config=config)


def user_notify(doc: tomlkit.TOMLDocument) -> list[str] | None:
    """A ``notify`` program the user set (kept as it is), or None."""
    current = doc.get("notify")
    if isinstance(current, list) and not is_breakroom_hook(" ".join(map(str, current)), NOTIFY_EVENT):
        return [str(word) for word in current]
    return None


def write_config(path: Path, doc: tomlkit.TOMLDocument) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".breakroom-tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------- trust


def listed_hooks(binary: str, home: Path, cwd: Path) -> list[dict[str, Any]]:
    """The hooks Codex discovers for ``cwd``, as its ``hooks/list`` reports them (key,
    command, currentHash, trustStatus …), asked of ``codex app-server`` over stdio JSON-RPC.
    Each request waits for the answer before it: a ``hooks/list`` sent before ``initialize``
    is answered can go unanswered."""
    env = {**os.environ, "CODEX_HOME": str(home)}
    proc = subprocess.Popen([binary, "app-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout
    deadline = time.monotonic() + TRUST_TIMEOUT

    def call(ident: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        stdin.write(json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params}).encode()
                    + b"\n")
        stdin.flush()
        while select.select([stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
            line = stdout.readline()
            if not line:
                break
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict) or message.get("id") != ident:
                continue  # notifications (warnings, status)
            if "error" in message:
                error = message["error"]
                detail = error.get("message", error) if isinstance(error, dict) else error
                raise BreakroomError(f"codex app-server: {method}: {detail}")
            result = message.get("result")
            return result if isinstance(result, dict) else {}
        raise BreakroomError(f"codex app-server did not answer {method} in {TRUST_TIMEOUT:.0f}s")

    try:
        call(1, "initialize", {"clientInfo": {"name": "breakroom", "version": "1"}})
        stdin.write(b'{"jsonrpc": "2.0", "method": "initialized"}\n')
        result = call(2, "hooks/list", {"cwds": [str(cwd)]})
    finally:
        proc.kill()
        proc.wait()
    return [hook for entry in result.get("data") or [] if isinstance(entry, dict)
            for hook in entry.get("hooks") or [] if isinstance(hook, dict)]


def trust(doc: tomlkit.TOMLDocument, hooks: list[dict[str, Any]]) -> int:
    """Record Codex's own hash of each of breakroom's hooks as trusted in ``doc``; returns
    how many were not trusted yet.  Other hooks are left for the user to review."""
    state = _table(_table(doc, "hooks", "config.toml"), "state", "config.toml hooks")
    added = 0
    for hook in hooks:
        name = str(hook.get("eventName") or "").replace("_", "").lower()  # stop, postToolUse, …
        event = next((e for e in EVENTS if e.lower() == name), None)
        key, digest = hook.get("key"), hook.get("currentHash")
        if event is None or not is_breakroom_hook(hook.get("command"), event) or not key or not digest:
            continue
        if hook.get("trustStatus") == "trusted":
            continue
        state[str(key)] = {"trusted_hash": str(digest)}
        added += 1
    return added


@dataclass(frozen=True)
class Installed:
    """What ``install`` did: the file, its merged text, the changes (one phrase each) and,
    when breakroom's hooks are not trusted, why (Codex will ask the user to review them)."""

    path: Path
    text: str
    changes: list[str]
    untrusted: str | None = None


def install(home: Path, cwd: Path, *, write: bool = True, codex: str | None = None,
            prefix: str | None = None, config: str | None = None) -> Installed:
    """Merge breakroom's entries into ``home/config.toml`` and trust its hooks through the
    ``codex`` binary.  With ``write=False`` nothing is written nor trusted (``--print``)."""
    path = home / "config.toml"
    doc = read_config(path)
    changes = merge(doc, str(path), prefix=prefix, config=config)
    if not write:
        return Installed(path, tomlkit.dumps(doc), changes)
    if changes:
        write_config(path, doc)
    if codex is None:
        return Installed(path, tomlkit.dumps(doc), changes, "codex is not on PATH")
    try:
        trusted = trust(doc, listed_hooks(codex, home, cwd))
    except (BreakroomError, OSError) as exc:
        return Installed(path, tomlkit.dumps(doc), changes, str(exc))
    if trusted:
        write_config(path, doc)
        changes.append(f"trusted {trusted} hook{'s' if trusted != 1 else ''}")
    return Installed(path, tomlkit.dumps(doc), changes)
