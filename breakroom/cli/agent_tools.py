"""Commands for agents and their panes: the simulated agent and the agent hooks."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from breakroom.cli.base import State, cli, pass_state
from breakroom.demo.simagent import Script, SimAgent, load_script
from breakroom.fleet import gemini_settings, hooks, mcp_register

HOOKED = ("claude-code", "codex", "gemini")  # agents `hooks install` wires
# What `hooks install --agent aider` says instead of writing anything.
AIDER_HAS_NO_HOOKS = (
    "aider has no hooks and no MCP client, so there is nothing to wire: the breakroom reads an "
    "aider session's state from its screen (profile aider) and types a message at its prompt "
    "only when it is idle. Nothing written.")


@cli.command("sim-agent")
@click.option("--script", "script_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="YAML script: startup steps and reactions (default: answer every line with OK).")
@click.option("--name", metavar="NAME", help="Name shown in the banner (default: the script's).")
def sim_agent(script_path: str | None, name: str | None) -> None:
    """A simulated CLI agent that looks like Claude Code, for tests and the demo."""
    script = load_script(script_path) if script_path else Script()
    sys.exit(SimAgent(script, name or script.name).run())


@cli.command()
@click.argument("event")
@click.option("--as", "as_session", metavar="SESSION", help="Report for this tmux session.")
@pass_state
def hook(state: State, event: str, as_session: str | None) -> None:
    """Report this session's state from an agent hook (Claude Code Stop, Notification,
    UserPromptSubmit, …), reading the hook's JSON on stdin.

    Always silent and exit 0 within a second, so it can never disturb the agent."""
    hooks.run_hook(event, state.config_path, as_session)


@cli.command("mcp")
@pass_state
def mcp_cmd(state: State) -> None:
    """Serve breakroom's tools (say, ask, inbox, read, digest, fleet, issue list/show/move,
    skills show) to an agent over MCP on stdio; `hooks install` registers it."""
    from breakroom.cli.mcpserver import serve

    serve(str(Path(state.config.source).resolve()) if state.config.source else None)


@cli.command("doctor")
@pass_state
def doctor_cmd(state: State) -> None:
    """Check the running fleet: the ircd, the breakroom, each session's agent and state,
    its hooks (installed, last fired) and MCP server; one line per problem says what to
    run.  Exits 1 when there is a problem."""
    from breakroom.cli import doctor

    findings = doctor.check(state.config)
    for finding in findings:
        click.echo(doctor.render(finding))
    if not all(f.ok for f in findings):
        sys.exit(1)


@cli.group("hooks")
def hooks_group() -> None:
    """Wire agent hooks to `breakroom hook`."""


@hooks_group.command("install")
@click.option("--agent", type=click.Choice([*HOOKED, "aider"]), default="claude-code", show_default=True,
              help="Which agent to wire: Claude Code (project hooks, MCP in ~/.claude.json), Codex "
                   "(hooks, notify and MCP in $CODEX_HOME/config.toml), Gemini CLI (hooks and MCP in "
                   "the project's .gemini/settings.json); aider has none of these.")
@click.option("--project", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Project whose .claude/settings.json (Claude Code) or "
                                      ".gemini/settings.json (Gemini CLI) gets the hooks; the folder "
                                      "Codex is asked to list the hooks for (Codex).")
@click.option("--codex-home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Codex's config folder (default: $CODEX_HOME, else ~/.codex).")
@click.option("--print", "print_only", is_flag=True,
              help="Print the merged settings and the MCP server's config instead of writing anything.")
@pass_state
def hooks_install(state: State, agent: str, project: Path, codex_home: Path | None, print_only: bool) -> None:
    """Wire an agent to this breakroom: its hooks report state at once and hand queued messages
    to the agent mid-turn, and `breakroom mcp` gives it the breakroom as tools.  Existing
    settings and hooks are kept; running it again adds nothing.  The commands name this
    breakroom and its config by absolute path, so they work from the agent's environment
    whatever its PATH.  aider has no hooks and no MCP client: this says so and writes nothing.
    Claude Code's PermissionRequest hook may wait permissions.relay_timeout for an operator's
    answer: run this again after changing that."""
    if agent == "aider":
        click.echo(AIDER_HAS_NO_HOOKS)
        return
    source = state.config.source
    config = str(Path(source).resolve()) if source else None
    if agent == "codex":
        _install_codex(codex_home, project, config, print_only)
        return
    entry = mcp_register.server_entry(config)
    if agent == "gemini":
        _install_gemini(project, entry, config, print_only)
        return
    path, settings, added = hooks.install(project, write=not print_only, config=config,
                                          relay_timeout=state.config.permissions.relay_timeout)
    _note_no_config(config)
    if print_only:
        click.echo(f"# Claude Code: {path}\n" + json.dumps(settings, indent=2, ensure_ascii=False))
        claude_mcp = {"projects": {str(project.resolve()): {"mcpServers": {mcp_register.SERVER_NAME: entry}}}}
        click.echo(f"\n# Claude Code: {mcp_register.claude_state_path()} (merged)\n"
                   + json.dumps(claude_mcp, indent=2, ensure_ascii=False))
        click.echo("\n" + mcp_register.other_agents_text())
        return
    if mcp_register.register_claude(project, entry):
        click.echo(f"registered the breakroom MCP server for {project.resolve()} in "
                   f"{mcp_register.claude_state_path()}")
    if added:
        click.echo(f"added or updated {added} hook entr{'y' if added == 1 else 'ies'} in {path}")
    else:
        click.echo(f"{path} already has breakroom's hooks")


def _note_no_config(config: str | None) -> None:
    if config is None:
        click.echo("note: no config file (--config / $BREAKROOM_CONFIG / ./breakroom.yaml): the hooks "
                   "will use the defaults, relative to the agent's working directory", err=True)


def _install_gemini(project: Path, entry: dict[str, Any], config: str | None, print_only: bool) -> None:
    """Hooks and the MCP server in the project's .gemini/settings.json."""
    path, settings, changed = gemini_settings.install(project, entry, write=not print_only, config=config)
    _note_no_config(config)
    if print_only:
        click.echo(f"# Gemini CLI: {path}\n" + json.dumps(settings, indent=2, ensure_ascii=False))
    elif changed:
        click.echo(f"added or updated {changed} entr{'y' if changed == 1 else 'ies'} (hooks, MCP server "
                   f"{mcp_register.SERVER_NAME!r}) in {path}; Gemini CLI runs them in a trusted folder only")
    else:
        click.echo(f"{path} already has breakroom's hooks and MCP server")


def _install_codex(home: Path | None, project: Path, config: str | None, print_only: bool) -> None:
    """Hooks (trusted through Codex itself), notify and the MCP server in Codex's config.toml."""
    from breakroom.fleet import codex_wiring

    done = codex_wiring.install(home or codex_wiring.codex_home(), project.resolve(), write=not print_only,
                                codex=shutil.which("codex"), config=config)
    _note_no_config(config)
    if print_only:
        click.echo(f"# Codex: {done.path} (merged)\n{done.text}")
        return
    if done.changes:
        click.echo(f"{done.path}: {', '.join(done.changes)}")
    else:
        click.echo(f"{done.path} already has breakroom's hooks, notify and MCP server")
    own = codex_wiring.user_notify(codex_wiring.read_config(done.path))
    if own is not None:
        click.echo(f"note: kept your notify program ({' '.join(own)}); the Stop hook reports the end "
                   "of a turn instead", err=True)
    if done.untrusted:
        click.echo(f"note: breakroom's hooks are not trusted yet ({done.untrusted}): Codex will ask to "
                   "review them at its next start (choose \"Trust all and continue\"), or run this "
                   "again with codex on PATH", err=True)
