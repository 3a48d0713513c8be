"""``breakroom issue …``, ``skills …``, ``digest``, ``audit`` and ``cost``: the work the
dispatcher hands out, what it and the permission relay decided, and what the agents spend.

Agents run these from inside their tmux session; a move records the session as who made
it and is announced in the channel in one line when the breakroom is running (when it is
not, the move still happens, quietly).
"""

from __future__ import annotations

import getpass
import sys
import time
from pathlib import Path

import click

from breakroom.cli.base import State, cli, pass_state
from breakroom.config import Config
from breakroom.control import client as control
from breakroom.errors import BreakroomError
from breakroom.fleet.session_env import current_session
from breakroom.irc.nicks import base_nick
from breakroom.paths import SKILLS_DIR
from breakroom.work import digest as digest_mod
from breakroom.work import dispatch
from breakroom.work import queue as workqueue
from breakroom.work.issue_states import ISSUE_STATES
from breakroom.work.skills import SkillSet, load_skills


def _this_session(explicit: str | None = None) -> str | None:
    """``--as SESSION``, else the tmux session this command runs in, else None (a human)."""
    try:
        return current_session(explicit)
    except BreakroomError:
        return None


def _who() -> str:
    """The session making the change, or the human at the terminal."""
    session = _this_session()
    if session:
        return session
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "someone"


def _skills() -> SkillSet:
    return load_skills(SKILLS_DIR)


def _announce(cfg: Config, text: str) -> None:
    """Tell the channel, if a breakroom is listening; a refusal is worth a warning."""
    if not control.socket_path(cfg.data_path).exists():
        return
    try:
        control.request(cfg.data_path, {"op": "announce", "text": text}, timeout=2)
    except BreakroomError as exc:
        click.echo(f"breakroom: moved, but not announced: {exc}", err=True)


def _row(issue: workqueue.Issue) -> str:
    who = f" @{issue.assignee}" if issue.assignee else ""
    return f"#{issue.id:<4} P{issue.priority} {issue.state:<14} {issue.where():<24} {issue.title}{who}"


# ---------------------------------------------------------------- issues

@cli.group("issue")
def issue_group() -> None:
    """The work queue: add, list, show, move, comment on and import issues."""


@issue_group.command("add")
@click.argument("title")
@click.option("--project", help="The project whose session does the work.")
@click.option("--role", help="A long-lived role (writer, researcher) that takes it instead.")
@click.option("--skill", help="A task issue's own brief (e.g. close); otherwise the state picks it.")
@click.option("--priority", default=str(workqueue.DEFAULT_PRIORITY), show_default=True,
              help="1 (most urgent) to 5.")
@click.option("--body-file", type=click.Path(dir_okay=False, path_type=Path),
              help="The issue's body (spec, notes) from a file; - for stdin.")
@click.option("--state", "issue_state", default="ready-for-prep", show_default=True,
              type=click.Choice([s for s in ISSUE_STATES if s != "done"]))
@pass_state
def issue_add(state: State, title: str, project: str | None, role: str | None, skill: str | None,
              priority: str, body_file: Path | None, issue_state: str) -> None:
    """File an issue."""
    body = ""
    if body_file is not None:
        try:
            # click.get_text_stream is deprecated (gone in click 9): stdin as Python opened it
            body = sys.stdin.read() if str(body_file) == "-" else body_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BreakroomError(f"--body-file: cannot read {body_file}: {exc}") from None
    if skill:
        _skills().require(skill)
    issue = workqueue.add_issue(state.db, title, who=_who(), body=body, project=project,
                                role=role, skill=skill, priority=priority, state=issue_state)
    click.echo(f"#{issue.id} {issue.state}: {issue.title} ({issue.where()})")


@issue_group.command("list")
@click.option("--project", help="Only this project.")
@click.option("--role", help="Only this role.")
@click.option("--state", "issue_state", type=click.Choice(ISSUE_STATES), help="Only this state.")
@click.option("--all", "include_done", is_flag=True, help="Include done issues.")
@pass_state
def issue_list(state: State, project: str | None, role: str | None, issue_state: str | None,
               include_done: bool) -> None:
    """Open issues, most urgent first."""
    issues = workqueue.list_issues(state.db, project=project, role=role, state=issue_state,
                                   include_done=include_done)
    if not issues:
        click.echo("no issues")
    for issue in issues:
        click.echo(_row(issue))


@issue_group.command("show")
@click.argument("issue_id", type=int)
@pass_state
def issue_show(state: State, issue_id: int) -> None:
    """An issue in full: body, comments and every transition."""
    db = state.db
    issue = workqueue.get_issue(db, issue_id)
    skills = _skills()
    click.echo(f"#{issue.id} {issue.title}")
    brief = workqueue.skill_name_for(issue, issue.state, skills) if issue.active else None
    click.echo(f"state: {issue.state}   priority: P{issue.priority}   for: {issue.where()}   "
               f"assignee: {issue.assignee or '-'}" + (f"   brief: {brief}" if brief else ""))
    click.echo(f"filed by {issue.created_by} at {issue.created_at}")
    if issue.body.strip():
        click.echo("\n" + issue.body.rstrip())
    notes = workqueue.comments(db, issue_id)
    if notes:
        click.echo("\ncomments:")
        for c in notes:
            click.echo(f"  {c.ts} {c.who}: {c.text}")
    click.echo("\nhistory:")
    for t in workqueue.history(db, issue_id):
        step = f"{t.from_state} → {t.to_state}" if t.from_state else f"created in {t.to_state}"
        click.echo(f"  {t.ts} {t.who}: {step}" + (f" ({t.note})" if t.note and t.from_state else ""))


@issue_group.command("move")
@click.argument("issue_id", type=int)
@click.argument("new_state", metavar="STATE")
@click.option("--note", help="Why (what changed, what failed); kept in the history.")
@pass_state
def issue_move(state: State, issue_id: int, new_state: str, note: str | None) -> None:
    """Move an issue to STATE (announced in the channel)."""
    result = workqueue.move(state.db, issue_id, new_state, who=_who(), skills=_skills(), note=note)
    click.echo(f"#{issue_id} {result.from_state} → {result.to_state}")
    if result.handoff:
        click.echo(f"handoff: #{result.handoff.id} {result.handoff.title} ({result.handoff.where()})")
    _announce(state.config, result.announcement())


@issue_group.command("comment")
@click.argument("issue_id", type=int)
@click.argument("text", nargs=-1, required=True)
@pass_state
def issue_comment(state: State, issue_id: int, text: tuple[str, ...]) -> None:
    """Add a comment (a spec, a finding, a review note) to an issue."""
    c = workqueue.comment(state.db, issue_id, " ".join(text), who=_who())
    click.echo(f"#{issue_id}: comment {c.id} added")


@issue_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@pass_state
def issue_import(state: State, path: Path) -> None:
    """Add every issue in a YAML file (all or none)."""
    added = workqueue.import_issues(state.db, path, who=_who())
    for issue in added:
        click.echo(_row(issue))
    click.echo(f"imported {len(added)} issue{'s' if len(added) != 1 else ''}")


# ---------------------------------------------------------------- skills

@cli.group("skills")
def skills_group() -> None:
    """The briefs the dispatcher hands out."""


@skills_group.command("list")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=SKILLS_DIR,
              show_default=True, help="Skills directory to read (check your own before shipping it).")
def skills_list(directory: Path) -> None:
    """Every skill, what it serves, and any malformed file (with file and line)."""
    skills = load_skills(directory)
    for skill in skills:
        serves = ", ".join([*skill.states, *(f"role:{r}" for r in skill.roles)]) or "-"
        nxt = f" → {skill.next}" if skill.next else ""
        click.echo(f"{skill.name:<12} {serves:<18} {skill.description}{nxt}")
    for problem in skills.problems:
        click.echo(f"breakroom: {problem}", err=True)
    if skills.problems:
        raise SystemExit(1)


@skills_group.command("show")
@click.argument("name")
def skills_show(name: str) -> None:
    """One skill's brief in full."""
    skill = _skills().require(name)
    click.echo(f"# {skill.name}: {skill.description}  ({skill.pointer()})")
    click.echo(skill.body, nl=False)


# ---------------------------------------------------------------- digest and audit

@cli.command("digest")
@click.option("--since", help="From this time (10m, 2h, 1d, or ISO) instead of the last check-in.")
@click.option("--as", "as_session", metavar="SESSION", help="For this session (default: the current one).")
@click.option("--peek", is_flag=True, help="Don't move the check-in mark.")
@pass_state
def digest_cmd(state: State, since: str | None, as_session: str | None, peek: bool) -> None:
    """What was said since this session's last check-in, addressed-to-me first."""
    session = _this_session(as_session)
    nick = base_nick(session) if session else None
    result = digest_mod.for_session(state.db, session, nick, since=since, peek=peek)
    for line in result.lines():
        click.echo(line)


@cli.command("audit")
@click.argument("count", type=int, default=20)
@pass_state
def audit_cmd(state: State, count: int) -> None:
    """The last COUNT decisions, oldest first: the dispatcher's cycles (what it did, or why it
    did nothing) and permission prompts (who allowed or denied what, when, and how)."""
    from breakroom.fleet import prompts
    decisions = [(row.ts, row.line()) for row in dispatch.audit(state.db, count)]
    decisions += [(p.decided or p.opened, p.line()) for p in prompts.recent(state.db, count)]
    if not decisions:
        click.echo("no dispatcher cycles or permission prompts yet")
    for _, line in sorted(decisions)[-count:]:
        click.echo(line)


# ---------------------------------------------------------------- spend

@cli.command("cost")
@click.argument("session", required=False)
@click.option("--since", help="From this time (10m, 2h, 7d, or ISO) instead of the start of today.")
@pass_state
def cost_cmd(state: State, session: str | None, since: str | None) -> None:
    """Tokens and estimated cost per session and day, from the agents' transcripts (read as
    their hooks fire); prices are estimates (breakroom/data/prices.yaml, spend.prices)."""
    from datetime import datetime

    from rich.console import Console
    from rich.table import Table

    from breakroom.record.events import parse_when
    from breakroom.work import spend

    start = (datetime.fromisoformat(parse_when(since).replace("Z", "+00:00")).timestamp() if since
             else spend.day_bounds(spend.day_of(time.time()))[0])
    prices = spend.PriceTable.for_config(state.config)
    rows = spend.session_spend(state.db, start, time.time() + 1, prices, session=session, by_day=True)
    if not rows:
        click.echo(f"no spend recorded{' for ' + session if session else ''} since "
                   f"{datetime.fromtimestamp(start):%Y-%m-%d %H:%M} (transcripts are read as the "
                   "agents' hooks fire: breakroom hooks install)")
        return
    table = Table(box=None, header_style="bold")
    for column in ("day", "session", "input", "output", "cache write", "cache read", "cost (est.)"):
        table.add_column(column, justify="left" if column in ("day", "session") else "right")
    counts = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
    for s in rows:
        table.add_row(s.day, s.session, *(f"{getattr(s, c):,}" for c in counts), spend.dollars(s))
    table.add_row("total", "", *(f"{sum(getattr(s, c) for s in rows):,}" for c in counts),
                  f"${sum(s.cost_usd or 0.0 for s in rows):.2f}")
    Console(width=120).print(table)
    for budget in spend.budgets(state.db, state.config, prices=prices):
        click.echo(f"budget today: {budget.line()}")
    unpriced = sorted({m for s in rows for m in s.unpriced})
    if unpriced:
        click.echo(f"no price for {', '.join(unpriced)}: add it under spend.prices in breakroom.yaml")
