"""The agent's CLI, run *inside* a session: say, ask, inbox, read, sent, fleet.

The session is the pane's the command runs in, as the kernel sees it (process ancestry, see
:mod:`breakroom.fleet.identity`); ``--as SESSION`` lets an operator outside every pane act
for one, and is refused inside a pane for any other session.  ``say``/``ask``/``fleet`` talk
to the running breakroom over the control socket, so a message goes out under the session
bot's nick; ``inbox``/``read`` read the inbox in SQLite directly and work while the
breakroom is down.
"""

from __future__ import annotations

import datetime as dt
import time

import click
from rich.console import Console
from rich.table import Table

from breakroom.cli.base import State, cli, pass_state
from breakroom.control import client as control
from breakroom.errors import BreakroomError
from breakroom.fleet.session_env import checked_session

as_option = click.option("--as", "as_session", metavar="SESSION",
                         help="Act for this tmux session (operators; default: the current one).")


def _when(epoch: float | None) -> str:
    return dt.datetime.fromtimestamp(epoch).strftime("%H:%M:%S") if epoch else "-"


def _preview(text: str, width: int) -> str:
    """A message on one line, cut to ``width`` characters."""
    line = text.replace("\n", " ")
    return line if len(line) <= width else line[:width - 1] + "…"


def _for_how_long(epoch: float) -> str:
    """``42s``, ``5m``, ``3h12m``: how long a state has lasted."""
    seconds = max(0, int(time.time() - epoch))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@cli.command()
@click.argument("target")
@click.argument("text", nargs=-1, required=True)
@as_option
@pass_state
def say(state: State, target: str, text: tuple[str, ...], as_session: str | None) -> None:
    """Speak as this session's bot: TARGET is a nick (addressed in the channel) or #channel."""
    for line in control.say(state.config.data_path, as_session, target, " ".join(text)):
        click.echo(line)


@cli.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--to", "to", default="knowledge", show_default=True, metavar="NICK",
              help="Who to ask.")
@click.option("--timeout", type=click.FloatRange(1, 600), default=60, show_default=True,
              help="Seconds to wait for the reply.")
@as_option
@pass_state
def ask(state: State, question: tuple[str, ...], to: str, timeout: float,
        as_session: str | None) -> None:
    """Ask a question (adds a request id like [q7f3]) and print the reply carrying that id.

    Exits non-zero when no reply comes within --timeout."""
    response = control.request_as(state.config.data_path, as_session,
                                  {"op": "ask", "to": to, "question": " ".join(question),
                                   "timeout": timeout}, timeout=timeout + 10)
    click.echo(f"{response['from']}: {response['reply']}")


@cli.command("inbox")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@as_option
@pass_state
def inbox_cmd(state: State, limit: int, as_session: str | None) -> None:
    """Messages addressed to this session, unread first; marks them read."""
    session = checked_session(as_session, state.config.tmux.socket_name)
    from breakroom.fleet import inbox  # SQLite is not needed by say/ask: keep their start-up fast
    messages = inbox.for_session(state.db, session, limit)
    if not messages:
        click.echo(f"no messages for {session}")
        return
    for m in messages:
        flag = "new " if not m.read else "    "
        click.echo(f"{flag}#{m.id:<5} {_when(m.created)} {m.sender:<16} {m.state:<9} {_preview(m.text, 100)}")
    inbox.mark_read(state.db, [m.id for m in messages if not m.read], "breakroom inbox")
    click.echo("(full text: breakroom read ID)")


@cli.command("read")
@click.argument("message_ref", metavar="ID")
@as_option
@pass_state
def read_cmd(state: State, message_ref: str, as_session: str | None) -> None:
    """Show one message in full and mark it read (k42: a knowledge answer in full); a
    message this session sent: its text and how far it got (queued, delivered, read)."""
    if message_ref[:1].lower() == "k":
        from breakroom.cli.knowledge_cmds import show_answer
        show_answer(state, message_ref)
        return
    if not message_ref.isdigit():
        raise click.BadParameter(f"{message_ref!r} is not a message id (42) or an answer id (k42)",
                                 param_hint="ID")
    message_id = int(message_ref)
    session = checked_session(as_session, state.config.tmux.socket_name)
    from breakroom.fleet import inbox  # SQLite is not needed by say/ask: keep their start-up fast
    message = inbox.get(state.db, message_id)
    if message is None or session not in (message.session, message.from_session):
        raise BreakroomError(f"no message #{message_id} for or from {session}")
    if message.session == session:
        inbox.mark_read(state.db, [message.id], "breakroom read")
        message = inbox.stored(state.db, message.id)
    click.echo(f"#{message.id} from {message.sender} to {message.session} at {_when(message.created)} — "
               f"{message.receipt()}")
    click.echo(message.text)


@cli.command("sent")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@as_option
@pass_state
def sent_cmd(state: State, limit: int, as_session: str | None) -> None:
    """What this session sent to other sessions here, newest first, and how far each got:
    queued, delivered, read."""
    session = checked_session(as_session, state.config.tmux.socket_name)
    from breakroom.fleet import inbox
    messages = inbox.sent_by(state.db, session, limit)
    if not messages:
        click.echo(f"nothing sent by {session} yet")
        return
    for m in messages:
        click.echo(f"#{m.id:<5} {_when(m.created)} to {m.session:<16} {m.receipt()} — {_preview(m.text, 60)}")


@cli.command()
@click.option("--history", metavar="SESSION", help="That session's state timeline from the sweep's record.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000),
              help="How many state changes to show (with --history; the newest).")
@pass_state
def fleet(state: State, history: str | None, limit: int) -> None:
    """Table of sessions: nick, agent, state, since, project (or one session's timeline)."""
    if history:
        from breakroom.sweep.walk import history_lines  # the sweep's record of captures, read from SQLite
        lines = history_lines(state.db, history, limit)
        click.echo("\n".join(lines) if lines else f"no sweep record for {history!r} yet")
        return
    sessions = control.request(state.config.data_path, {"op": "fleet"})["sessions"]
    if not sessions:
        click.echo("no tmux sessions in the breakroom")
        return
    table = Table(box=None, header_style="bold")
    hosts = any(s.get("host") for s in sessions)  # a multi-host fleet: say where each runs
    for column in ("session", *(("host",) if hosts else ()), "nick", "agent", "state", "since",
                   "project"):
        table.add_column(column)
    for s in sessions:
        state_text = s["state"] + (" (hook)" if s["hook_fresh"] else "")
        where = (s.get("host") or "-",) if hosts else ()
        table.add_row(s["session"], *where, s["nick"], s["agent"], state_text,
                      f"{_when(s['since'])} ({_for_how_long(s['since'])})", s["project"] or "-")
    Console(width=120).print(table)
