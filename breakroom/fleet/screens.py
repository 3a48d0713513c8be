"""The screen corpus: real agent screens with their true states, and how well they read.

A screen is one ``tmux capture-pane`` saved as ``<dir>/<agent>/<state>/<name>.txt`` (the
state with its first ``-`` standing for ``:`` after ``error``/``waiting``), optionally
after YAML front matter between ``---`` lines::

    ---
    version: 2.1.332     # the agent's release (captured screens; none: written after reports)
    mode: manual         # the agent's permission mode, when it has modes
    command: claude      # the pane's #{pane_current_command} (states like exited need it)
    question: Which database should I use, sqlite or postgres?   # for waiting:question
    ---
    <the screen>

The shipped corpus is ``tests/fixtures/panes`` of a checkout; ``breakroom screens save``
adds to it, or to ``agents.screens_dir``.  :func:`accuracy` reads every screen with the
profiles and counts, per agent × release × state, how many read as their true state; the
table in ``docs/screens.md`` is :func:`render_table` of the shipped corpus, and a test keeps
it current — the test and ``breakroom screens table`` run this same code.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from breakroom.errors import BreakroomError
from breakroom.fleet import panestate
from breakroom.fleet.panestate import Detection, Release, release_key
from breakroom.fleet.states import PaneState, parse_state
from breakroom.yamlfile import FileModel, Text, parse_yaml_lines, validate

WRITTEN = "—"  # the release column of screens written after reports rather than captured
TABLE_START = "<!-- screens table: `breakroom screens table --write docs/screens.md` writes it -->"
TABLE_END = "<!-- end of the screens table -->"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}")


class ScreenFront(FileModel):
    """A screen file's front matter."""

    version: Release | None = None
    mode: Text | None = None
    command: Text | None = None
    question: Text | None = None


@dataclass(frozen=True)
class Screen:
    """One saved screen and the state it truly shows."""

    path: Path
    agent: str
    state: PaneState
    text: str
    version: str | None = None
    mode: str | None = None
    command: str | None = None
    question: str | None = None

    @property
    def release(self) -> str:
        return self.version or WRITTEN


def state_dir(state: str) -> str:
    """``waiting:question`` -> ``waiting-question`` (':' is awkward in file names)."""
    return state.replace(":", "-", 1)


def dir_state(name: str) -> str:
    """``error-usage-limit`` -> ``error:usage-limit``; ``idle`` as it is."""
    head, sep, tail = name.partition("-")
    return f"{head}:{tail}" if sep and head in ("error", "waiting") else name


def split_front(text: str) -> tuple[str, str]:
    """(front matter, screen) of a screen file's text; no front matter -> ("", text)."""
    if text.startswith("---\n"):
        front, sep, body = text[4:].partition("\n---\n")
        if sep:
            return front, body
    return "", text


def read_screen(path: Path) -> Screen:
    """A screen file, its front matter validated (errors name file, line and key)."""
    try:
        front, text = split_front(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BreakroomError(f"{path}: cannot read: {exc}") from None
    try:
        data, lines = parse_yaml_lines(front, first_line=2) if front else ({}, {})
    except yaml.YAMLError:
        raise BreakroomError(f"{path}: front matter is not valid YAML") from None
    meta = validate(ScreenFront, data or {}, source=path, lines=lines)
    try:
        state = parse_state(dir_state(path.parent.name))
    except ValueError as exc:
        raise BreakroomError(f"{path}: the directory {path.parent.name!r} is not a state: {exc}") from None
    return Screen(path=path, agent=path.parent.parent.name, state=state, text=text,
                  version=meta.version, mode=meta.mode, command=meta.command, question=meta.question)


def corpus(*roots: Path) -> list[Screen]:
    """Every screen under ``roots`` (``<agent>/<state>/<name>.txt``), in path order."""
    return [read_screen(path) for root in roots if root.is_dir()
            for path in sorted(root.glob("*/*/*.txt"))]


def read(screen: Screen) -> Detection:
    """What Breakroom reads the screen as, with the profiles now in use."""
    return panestate.detect(screen.text, screen.agent, screen.command)


def reads_right(screen: Screen, found: Detection) -> bool:
    """Its true state, and for a question, the question it asks."""
    if found.state != screen.state:
        return False
    return screen.question is None or found.question == screen.question


@dataclass(frozen=True)
class Row:
    """One agent × release × state of the accuracy table."""

    agent: str
    release: str
    state: PaneState
    right: int
    captured: int


@dataclass(frozen=True)
class Misread:
    screen: Screen
    found: Detection


def accuracy(screens: Iterable[Screen]) -> tuple[list[Row], list[Misread]]:
    """Per agent × release × state, screens read right / captured; and every misread one."""
    counts: dict[tuple[str, str, PaneState], list[int]] = {}
    wrong: list[Misread] = []
    for screen in screens:
        found = read(screen)
        tally = counts.setdefault((screen.agent, screen.release, screen.state), [0, 0])
        tally[1] += 1
        if reads_right(screen, found):
            tally[0] += 1
        else:
            wrong.append(Misread(screen, found))

    def order(key: tuple[str, str, PaneState]) -> tuple[str, tuple[int, ...], int]:
        agent, release, state = key
        return agent, (-1,) if release == WRITTEN else release_key(release), list(PaneState).index(state)

    rows = [Row(*key, *counts[key]) for key in sorted(counts, key=order)]
    return rows, wrong


def render_table(rows: list[Row]) -> str:
    """The accuracy table as markdown, with a total line."""
    lines = ["| agent | release | state | read right |", "|---|---|---|---|"]
    lines += [f"| {r.agent} | {r.release} | `{r.state}` | {r.right}/{r.captured} |" for r in rows]
    right, total = sum(r.right for r in rows), sum(r.captured for r in rows)
    lines += ["", f"{right} of {total} screens read right."]
    return "\n".join(lines) + "\n"


def with_table(doc: str, table: str) -> str:
    """``doc`` with the text between its table markers replaced by ``table``."""
    start, end = doc.find(TABLE_START), doc.find(TABLE_END)
    if start < 0 or end < start:
        raise BreakroomError(f"no screens table markers in the document ({TABLE_START} … {TABLE_END})")
    return doc[:start + len(TABLE_START)] + "\n\n" + table + "\n" + doc[end:]


def save(root: Path, *, agent: str, state: str, text: str, name: str | None = None,
         version: str | None = None, mode: str | None = None, command: str | None = None,
         question: str | None = None) -> Path:
    """Write a screen into the corpus at ``root``; returns its path (never overwrites).
    ValueError when ``state`` is not a pane state."""
    state = parse_state(state)
    name = name or time.strftime("saved-%Y%m%d-%H%M%S")
    if not _NAME.fullmatch(name):
        raise BreakroomError(f"screen name {name!r}: use letters, digits, '.', '_' and '-'")
    stem = f"{version}-{name}" if version else name
    path = root / agent / state_dir(state) / f"{stem}.txt"
    if path.exists():
        raise BreakroomError(f"{path} exists; choose another --name")
    front = {k: v for k, v in (("version", version), ("mode", mode), ("command", command),
                               ("question", question)) if v}
    head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000) if front else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join(line.rstrip() for line in text.rstrip().split("\n"))
    path.write_text((f"---\n{head}---\n" if head else "") + body + "\n", encoding="utf-8")
    read_screen(path)  # what was written reads back
    return path
