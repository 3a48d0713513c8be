"""``breakroom screens …``: teach Breakroom a screen it reads wrong, and see how well it reads.

``save`` keeps a live pane as a screen of the corpus with its true state and the agent's
release; ``table`` reads every screen with the profiles in use (the user's
``agents.profiles_dir`` first) and prints the accuracy table, or writes it into a document.
See docs/screens.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from breakroom.cli.base import State, cli, pass_state
from breakroom.config import Config
from breakroom.errors import BreakroomError
from breakroom.fleet import panestate, screens
from breakroom.fleet.agentversion import VersionProbe, banner_release
from breakroom.fleet.capture import capture_all
from breakroom.fleet.observer import CAPTURE_LINES
from breakroom.fleet.states import PaneState, parse_state
from breakroom.fleet.tmux import Tmux
from breakroom.paths import SCREEN_CORPUS
from breakroom.sanitize import scrub_secrets


def save_dir(cfg: Config) -> Path:
    """Where ``save`` writes: ``agents.screens_dir``, else a checkout's corpus, else the data dir."""
    if cfg.agents.screens_dir:
        return Path(cfg.agents.screens_dir).expanduser()
    return SCREEN_CORPUS if SCREEN_CORPUS.is_dir() else cfg.data_path / "screens"


def read_dirs(cfg: Config) -> list[Path]:
    """The screens ``table`` reads: a checkout's corpus and the user's own."""
    return list(dict.fromkeys(d for d in (SCREEN_CORPUS, save_dir(cfg)) if d.is_dir()))


@cli.group("screens")
def screens_group() -> None:
    """The screen corpus: save a live pane with its true state, print the accuracy table."""


@screens_group.command("save")
@click.argument("session")
@click.option("--state", "true_state", required=True, metavar="STATE",
              help="What the pane truly shows: "
                   + ", ".join(s.value for s in PaneState if s is not PaneState.GONE) + ".")
@click.option("--name", metavar="NAME", help="File name (default saved-DATE-TIME), after the release.")
@click.option("--question", metavar="TEXT", help="For waiting:question: the question the agent asks "
                                                 "(default: the one Breakroom reads off the screen).")
@click.option("--agent", metavar="AGENT", help="The agent's profile (default: as configured or detected).")
@click.option("--mode", metavar="MODE", help="The agent's permission mode, if it has modes (auto, manual …).")
@click.option("--dir", "directory", type=click.Path(file_okay=False), metavar="DIR",
              help="Corpus to write into (default: agents.screens_dir, else a checkout's "
                   "tests/fixtures/panes, else DATA_DIR/screens).")
@pass_state
def screens_save(state: State, session: str, true_state: str, name: str | None, question: str | None,
                 agent: str | None, mode: str | None, directory: str | None) -> None:
    """Save SESSION's pane as a screen of the corpus, with its true state and the agent's
    release (asked of the agent's binary, never typed into the pane); say how it reads now."""
    cfg = state.config
    panestate.use_profile_dirs(cfg.agents.profiles_dir)
    try:
        truth = parse_state(true_state)
    except ValueError as exc:
        raise BreakroomError(f"--state: {exc}") from None
    capture = capture_all(Tmux(cfg.tmux.socket_name), CAPTURE_LINES, [session]).get(session)
    if capture is None:
        raise BreakroomError(f"no tmux session {session!r} on this server")
    agent = (agent or cfg.session(session).agent
             or panestate.guess_agent(capture.text, capture.current_command))
    if agent not in panestate.available_agents():
        raise BreakroomError(f"no profile recognises {session}'s pane; name its agent with --agent")
    profile = panestate.load_profile(agent)
    answer = VersionProbe().ask(capture.pid, profile)
    version = (answer.result() if answer else None) or banner_release(capture.text, profile)
    found = panestate.detect(capture.text, agent, capture.current_command)
    if truth is PaneState.WAITING_QUESTION:
        question = question or found.question
        if not question:
            raise BreakroomError("say which question the agent asks with --question TEXT")
    elif question:
        raise BreakroomError("--question is for --state waiting:question")
    path = screens.save(Path(directory) if directory else save_dir(cfg), agent=agent, state=truth,
                        text=scrub_secrets(capture.text), name=name, version=version, mode=mode,
                        command=capture.current_command or None, question=question)
    click.echo(f"saved {path} ({agent} {version or '(release unknown)'}, {true_state})")
    saved = screens.read_screen(path)
    if screens.reads_right(saved, screens.read(saved)):
        click.echo(f"Breakroom reads it right ({found.reason})")
    else:
        click.echo(f"Breakroom reads it as {found.state} ({found.reason}): add a pattern to "
                   f"{cfg.agents.profiles_dir or 'agents.profiles_dir'}/{agent}.yaml "
                   f"(extends: {agent}, prepend_rules: …), then `breakroom screens table`")


@screens_group.command("table")
@click.option("--write", "write_to", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
              help="Replace the table between the markers in FILE (docs/screens.md) instead of printing.")
@pass_state
def screens_table(state: State, write_to: str | None) -> None:
    """Per agent × release × state: screens read right / screens saved, then each misread
    screen (exit 1 when there is one).  With --write, the shipped corpus only (what
    docs/screens.md publishes)."""
    cfg = state.config
    if write_to:
        panestate.use_profile_dirs(None)  # the published table is of the shipped profiles
        rows, wrong = screens.accuracy(screens.corpus(SCREEN_CORPUS))
        doc = Path(write_to)
        doc.write_text(screens.with_table(doc.read_text(encoding="utf-8"), screens.render_table(rows)),
                       encoding="utf-8")
        click.echo(f"wrote the table of {sum(r.captured for r in rows)} screens into {doc}")
    else:
        panestate.use_profile_dirs(cfg.agents.profiles_dir)
        rows, wrong = screens.accuracy(screens.corpus(*read_dirs(cfg)))
        click.echo(screens.render_table(rows), nl=False)
    for miss in wrong:
        click.echo(f"misread: {miss.screen.path} is {miss.screen.state}, read as {miss.found.state} "
                   f"({miss.found.reason})")
    if wrong:
        sys.exit(1)
