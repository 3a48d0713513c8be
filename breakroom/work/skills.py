"""Skills: the markdown briefs the dispatcher hands out, with YAML front matter.

A skill is a brief, not a script: intent, constraints, what done looks like.  Its front
matter says which routing ``states`` it serves (``build`` serves ``ready-for-dev``), which
long-lived ``roles`` own it (``synthesize`` belongs to the writer), and the ``next`` skill
to hand off to when its issue is done.

A malformed skill file must not take the others down: loading keeps every good skill and
reports each problem with its file and line, the way a compiler would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator, Field, ValidationError

from breakroom.errors import BreakroomError
from breakroom.paths import PROJECT_ROOT, SKILLS_DIR
from breakroom.work.issue_states import ISSUE_STATES
from breakroom.yamlfile import FileModel, Text, Texts, expect, explain, parse_yaml_lines

_NAME = re.compile(r"[a-z][a-z0-9-]*")


def _known_states(states: list[str]) -> list[str]:
    for state in states:
        if state not in ISSUE_STATES:
            raise ValueError(f"unknown state {state!r} (states: {', '.join(ISSUE_STATES)})")
    return states


class FrontMatter(FileModel):
    """A skill file's front matter."""

    name: Annotated[str, expect(str, "lower-case letters, digits and '-'",
                                lambda v: bool(_NAME.fullmatch(v.strip()))), AfterValidator(str.strip)]
    description: Annotated[str, expect(str, "a description (some text)", lambda v: bool(v.strip()))]
    states: Annotated[Texts, AfterValidator(_known_states)] = Field(default_factory=list)
    roles: Texts = Field(default_factory=list)
    next: Text | None = None


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    states: tuple[str, ...]
    roles: tuple[str, ...]
    next: str | None
    path: Path
    body: str

    def pointer(self) -> str:
        """How a nudge names the brief: ``skills/build.md`` for shipped skills."""
        try:
            return str(self.path.relative_to(PROJECT_ROOT))
        except ValueError:
            return str(self.path)


@dataclass(frozen=True)
class SkillProblem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class SkillSet:
    """The loaded skills by name, with the problems found while loading them."""

    skills: dict[str, Skill] = field(default_factory=dict)
    problems: list[SkillProblem] = field(default_factory=list)

    def get(self, name: str) -> Skill | None:
        return self.skills.get(name)

    def require(self, name: str) -> Skill:
        skill = self.skills.get(name)
        if skill is None:
            known = ", ".join(sorted(self.skills)) or "none"
            raise BreakroomError(f"no skill named {name!r} (skills: {known})")
        return skill

    def for_state(self, state: str) -> Skill | None:
        """The skill that serves a routing state (at most one does; loading checks it)."""
        for skill in self.skills.values():
            if state in skill.states:
                return skill
        return None

    def __iter__(self) -> Iterator[Skill]:
        return iter(sorted(self.skills.values(), key=lambda s: s.name))

    def __len__(self) -> int:
        return len(self.skills)


class _FrontMatterError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def _split_front_matter(text: str) -> tuple[str, str, int]:
    """(front matter, body, line number of the body's first line)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise _FrontMatterError(1, "no front matter: the file must start with a '---' line")
    for i, line in enumerate(lines[1:], 1):
        if line.strip() == "---":
            return "".join(lines[1:i]), "".join(lines[i + 1:]), i + 2
    raise _FrontMatterError(1, "front matter is not closed: no second '---' line")


def _parse(path: Path) -> Skill:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _FrontMatterError(1, f"cannot read: {exc}") from None
    front, body, _ = _split_front_matter(text)
    try:
        data, lines = parse_yaml_lines(front, first_line=2)  # line 1 is the opening '---'
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 2 if mark else 1  # +1 for 0-based, +1 for the opening '---'
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise _FrontMatterError(line, f"front matter is not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise _FrontMatterError(2, "front matter must be a mapping of keys (name: …, description: …)")
    try:
        front_matter = FrontMatter.model_validate(data)
    except ValidationError as exc:
        line, message = explain(exc, FrontMatter, lines)
        raise _FrontMatterError(line or 1, message) from None
    if front_matter.name != path.stem:
        raise _FrontMatterError(lines.get(("name",), 1),
                                f"name {front_matter.name!r} does not match the file name {path.name!r}")
    return Skill(name=front_matter.name, description=" ".join(front_matter.description.split()),
                 states=tuple(front_matter.states), roles=tuple(front_matter.roles),
                 next=(front_matter.next or "").strip() or None, path=path, body=body.strip() + "\n")


def _key_line(path: Path, key: str) -> int:
    """The line of a top-level front matter key in a file that already parsed."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(f"{key}:"):
            return number
    return 1


def load_skills(directory: str | Path = SKILLS_DIR) -> SkillSet:
    """Load every ``*.md`` in ``directory``; bad files become problems, not exceptions."""
    directory = Path(directory)
    result = SkillSet()
    if not directory.is_dir():
        result.problems.append(SkillProblem(directory, 0, "skills directory not found"))
        return result
    for path in sorted(directory.glob("*.md")):
        try:
            skill = _parse(path)
        except _FrontMatterError as exc:
            result.problems.append(SkillProblem(path, exc.line, exc.message))
            continue
        claimed = [(s, owner) for s in skill.states if (owner := result.for_state(s)) is not None]
        if claimed:
            state, owner = claimed[0]
            result.problems.append(SkillProblem(
                path, 1, f"state {state!r} is already served by skill {owner.name!r}"))
            continue
        result.skills[skill.name] = skill
    for skill in list(result.skills.values()):
        if skill.next and skill.next not in result.skills:
            result.problems.append(SkillProblem(
                skill.path, _key_line(skill.path, "next"), f"next: no skill named {skill.next!r}"))
    return result
