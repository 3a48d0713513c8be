"""`breakroom doctor`: check a running fleet and say, one line per problem, what to run.

Setup that fails quietly is the worst kind: hooks that cannot find ``breakroom`` do nothing,
an MCP server that is not registered is simply absent.  Each check here either passes or
names the command that fixes it.
"""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from breakroom.config import Config
from breakroom.control import client as control
from breakroom.errors import BreakroomError
from breakroom.fleet import codex_wiring, gemini_settings, hooks, mcp_register
from breakroom.fleet.drift import save_hint

# agents whose project settings `hooks install` wires (Codex: _codex)
HOOKED_AGENTS = ("claude-code", "gemini")


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str          # what was checked, or what is wrong
    fix: str = ""      # the command that fixes it


def _ircd(cfg: Config) -> Finding:
    where = f"{cfg.ircd.host}:{cfg.ircd.port}"
    try:
        with socket.create_connection((cfg.ircd.host, cfg.ircd.port), timeout=2):
            return Finding(True, f"ircd reachable at {where}")
    except OSError as exc:
        return Finding(False, f"ircd not reachable at {where} ({exc.strerror or exc})",
                       "breakroom up (or set ircd.host/ircd.port to the running server)")


def _pane_dir(cfg: Config, session: str) -> Path | None:
    base = ["tmux", *(["-L", cfg.tmux.socket_name] if cfg.tmux.socket_name else [])]
    try:
        done = subprocess.run([*base, "display-message", "-p", "-t", f"={session}:", "#{pane_current_path}"],
                              capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = done.stdout.strip()
    return Path(path) if done.returncode == 0 and path else None


def _hooks_installed(project: Path, config: str | None, relay_timeout: float) -> bool:
    """Every hook `hooks install` writes is there as it would write it now (the command, and
    the PermissionRequest hook's time for ``permissions.relay_timeout``)."""
    try:
        settings = json.loads((project / ".claude" / "settings.json").read_text(encoding="utf-8"))
        return isinstance(settings, dict) and hooks.merge_hooks(settings, hooks.hook_prefix(), config,
                                                                relay_timeout=relay_timeout) == 0
    except (OSError, ValueError, BreakroomError):
        return False


def _ago(epoch: float | None) -> str:
    if epoch is None:
        return "never fired since the breakroom started"
    return f"last fired {int(time.time() - epoch)}s ago"


def _session(cfg: Config, status: dict[str, Any]) -> list[Finding]:
    name, agent, state = status["session"], status["agent"], status["state"]
    release = f" {status['version']}" if status.get("version") else ""
    line = f"session {name}: {agent}{release}, {state}"
    if agent == "unknown":
        return [Finding(False, f"{line}: no profile recognises its pane",
                        f"set sessions.{name}.agent in the config (one of the profiles)")]
    if status.get("drift"):  # breakroom.fleet.drift: a screen no pattern reads, an untested release
        return [Finding(False, f"{line}: {status['drift']}",
                        f"{save_hint(name)} (its true state), then a pattern in agents.profiles_dir "
                        "(docs/screens.md)")]
    if state.startswith("error:"):
        return [Finding(False, f"{line}: the agent reports an error", f"tmux attach -t {shlex.quote(name)}")]
    config = str(Path(cfg.source).resolve()) if cfg.source else None
    if agent == "codex":
        return [_codex(line, config, status)]
    if agent not in HOOKED_AGENTS:
        return [Finding(True, line)]
    project = _pane_dir(cfg, name)
    if agent == "gemini":
        return [_gemini(line, project, config, status)]
    fix = f"breakroom hooks install --project {shlex.quote(str(project or '.'))}"
    findings = []
    if project is None or not _hooks_installed(project, config, cfg.permissions.relay_timeout):
        findings.append(Finding(False, f"{line}: breakroom's hooks are not installed (or are out of date) "
                                       f"in {project}/.claude/settings.json", fix))
    else:
        findings.append(Finding(True, f"{line}, hooks installed, {_ago(status.get('hook_at'))}"))
    if project is None or mcp_register.registered(project) is None:
        findings.append(Finding(False, f"session {name}: the breakroom MCP server is not registered "
                                       f"for {project}", fix))
    return findings


def _codex(line: str, config: str | None, status: dict[str, Any]) -> Finding:
    """Codex keeps its hooks, notify and MCP servers in one config per $CODEX_HOME (this
    process's: run doctor as the user who runs Codex)."""
    home = codex_wiring.codex_home()
    fix = "breakroom hooks install --agent codex"
    try:
        missing = codex_wiring.pending(home, config)
    except BreakroomError as exc:
        return Finding(False, f"{line}: {exc}", fix)
    if missing:
        return Finding(False, f"{line}: not wired in {home}/config.toml (or out of date): "
                              f"{', '.join(missing)}", fix)
    return Finding(True, f"{line}, hooks installed, {_ago(status.get('hook_at'))}")


def _gemini(line: str, project: Path | None, config: str | None, status: dict[str, Any]) -> Finding:
    """Gemini CLI keeps its hooks and MCP servers in one file: both there and up to date."""
    if project is None or not gemini_settings.installed(project, mcp_register.server_entry(config), config):
        return Finding(False, f"{line}: breakroom's hooks and MCP server are not installed (or are out of "
                              f"date) in {project}/{gemini_settings.SETTINGS}",
                       f"breakroom hooks install --agent gemini --project {shlex.quote(str(project or '.'))}")
    return Finding(True, f"{line}, hooks and MCP server installed, {_ago(status.get('hook_at'))}")


def check(cfg: Config) -> list[Finding]:
    """Every check, in order: the ircd, the breakroom itself, then each session."""
    findings = [_ircd(cfg)]
    try:
        fleet = control.request(cfg.data_path, {"op": "fleet"}, timeout=5)
    except BreakroomError as exc:
        return [*findings, Finding(False, str(exc).split(" (")[0], "breakroom up")]
    findings.append(Finding(True, f"breakroom running, {len(fleet['sessions'])} session(s)"))
    for status in fleet["sessions"]:
        findings.extend(_session(cfg, status))
    return findings


def render(finding: Finding) -> str:
    if finding.ok:
        return f"ok       {finding.text}"
    return f"PROBLEM  {finding.text}" + (f" — fix: {finding.fix}" if finding.fix else "")
