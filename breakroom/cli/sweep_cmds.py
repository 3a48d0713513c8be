"""``breakroom sweep …``: a walk on demand, and a check of the permission policy file.
(A session's state timeline is ``breakroom fleet --history SESSION``.)"""

from __future__ import annotations

import click

from breakroom.cli.base import State, cli, pass_state
from breakroom.control.client import request
from breakroom.sweep.policy import load_policy


@cli.group("sweep")
def sweep_group() -> None:
    """The sweep: walk the fleet now, check the permission policy."""


@sweep_group.command("now")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the walk.")
@pass_state
def sweep_now(state: State, timeout: float) -> None:
    """Ask the running breakroom's sweep to walk the fleet now; print its summary."""
    response = request(state.config.data_path, {"op": "sweep"}, timeout=timeout)
    click.echo(response["summary"])
    for line in response["lines"]:
        if line != response["summary"]:
            click.echo(line)


@sweep_group.command("policy")
@pass_state
def sweep_policy(state: State) -> None:
    """Validate sweep.policy and list the prompts the sweep may approve."""
    path = state.config.sweep.policy
    policy = load_policy(path)
    if not policy.rules:
        click.echo(f"{path or 'no sweep.policy'}: approves nothing (the default)")
        return
    for rule in policy.rules:
        parts = [f"tool={rule.tool.pattern}" if rule.tool else "",
                 f"prompt={rule.prompt.pattern}" if rule.prompt else "",
                 f"agents={','.join(rule.agents)}" if rule.agents else "",
                 f"keys={' '.join(rule.keys)}"]
        click.echo(f"{rule.name}: " + " ".join(p for p in parts if p))
