"""What an agent's pane says about its state, read from a capture with per-agent patterns.

Agent UIs change often, so everything that recognises a screen lives in data files,
``breakroom/profiles/<agent>.yaml``; this module only knows how to cut a capture into
regions and apply a profile's ordered rules.  A profile looks like::

    commands: [claude, node]        # pane_current_command values meaning "the agent runs"
    tested: ['2.1.197', '2.1.332']  # releases whose real screens are in the fixtures and
                                    #   the live tests run (the build installs them; an
                                    #   agent newer than all of them is drift)
    identify: ['Welcome to Claude Code']   # screen text that names the agent (guess_agent)
    extends: claude-code            # optional: start from another profile, override keys
                                    #   (identify adds to the parent's list, so a child
                                    #   whose own marks show outscores its parent)
    prepend_rules: [...]            # optional, with extends: rules tried before the parent's
    input:                          # where the user types
      prompt: '^❯(\\s|$)'           #   the prompt line ...
      within_last: 5                #   ... among the last N non-blank lines
      rule: '^─{8,}'                #   optional rule line just above the prompt
      rule_within: 1                #   how far above the prompt the rule may be
      rule_required: true           #   no rule there -> no input box
      echo: '^❯\\s'                 #   optional: the user's submitted prompt as echoed
                                    #   above the box (where the current turn starts)
      draft: '^[\\s│]*❯?\\s*'         #   optional: stripped from the cursor's line to leave
                                    #   the draft (default: the shell profile's)
      completion: '@\\S*$'           #   optional: typed text matching this opens a completion
                                    #   menu that would take the Enter (a space closes it)
    rules:                          # first match wins; no match -> unknown
      - state: working
        region: above_input:4       # screen | tail:N | above_input:N | turn:N | input | footer
        any: ['esc to interrupt']   # some line of the region matches one of these
        all: [...]                  # each of these matches some line of the region
        none: [...]                 # and no line of the region matches any of these
        command: shell              # shell | agent | other (needs current_command)
        input: true                 # an input prompt was found (or not, with false)
    permission:                     # how a permission dialog is cut out (the relay to IRC,
      option: '^\\s*\\d+\\.\\s'       #   sweep.policy): a numbered answer line (default:
      title_icon: '^[?!\\s]+'        #   icons before its title     the shell profile's, for
      rule_line: '[╭┌]|─{3}'         #   the border above it        agents without their own)
      tool_call: '^(\\w+)\\('        #   ``Name(`` of the tool it asks about (group 1)
      framed: '^╌{3,}'              #   optional: what the tool will do is the line after this
      skip: ['^Tip:']               #   optional: lines that never say what it will do
      allow: ['1']                  #   keys that answer yes / no when relayed (!allow, !deny)
      deny: ['Escape']
    limits:                         # optional: when a limit the screen or an error names resets
      reset: ['resets (?P<clock>\\d{1,2}(:\\d\\d)?\\s*[ap]m)']  # groups: clock (+ tz), seconds,
                                    #   minutes, hours (from now), epoch
    question:                       # turns an idle screen into waiting:question
      start: '^⏺ '                  #   first line of an agent message (marker stripped)
      stop: '^> '                   #   a line that is not part of it (the user's echo)
      skip: ['^✻ \\w+ for ']        #   lines under the message to look past
      asks: '\\?\\s*$'              #   the message asks when its text matches this
    version:                        # how to learn the running agent's release (drift)
      args: ['--version']           #   run the pane's agent binary with these ...
      pattern: '(\\d+\\.\\d+\\.\\d+)'  #   ... and read group 1 of its output
      banner: 'Claude Code v(\\S+)' #   or read it from the screen (group 1)

``region: above_input:N`` is the last N non-blank lines above the input prompt (its rule
excluded), or of the whole screen when no prompt is visible: busy markers are matched
only there, never in the model's older prose.  ``region: turn:N`` is the same but starts
after the last ``input.echo`` line, i.e. only the current turn: an error of an earlier turn
(an old ``Invalid API key`` above a later good reply) says nothing about now.  A rule's
``command`` condition is false when the current command is unknown.  Shell names are the
``commands`` of the ``shell`` profile.  The ``question`` step runs only when the rules said ``idle``.

``exited`` is kept simple: an agent profile whose pane command is a shell again (the
agent ended and left its shell's prompt), or the agent's own goodbye line (a rule in its
profile).  So start agents directly or from an interactive shell, not behind
``sh -c "agent; …"``, whose wrapper shell stays the pane's command while the agent runs.

An idle screen is trusted only when it did not change between two captures
(:class:`IdleStability`): output that is still streaming can look idle for a moment.

Profiles are looked up along a search path: the user's ``agents.profiles_dir`` first (see
:func:`use_profile_dirs`), then the shipped ``breakroom/fleet/profiles``.  A user's profile
named like a shipped one replaces it; one that ``extends`` its own name extends the next
profile of that name down the path, so ``claude-code.yaml`` with ``extends: claude-code``
and ``prepend_rules:`` adds patterns to the shipped Claude Code profile without copying it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field

from breakroom.errors import BreakroomError
from breakroom.fleet.states import READY_STATES, PaneState, parse_state
from breakroom.paths import PROFILES_DIR
from breakroom.yamlfile import FileModel, Regex, Text, Texts, expect, load_model

UNKNOWN_AGENT = "unknown"
_STATE_CHOICES = "one of " + ", ".join(s.value for s in PaneState if s is not PaneState.GONE)
MAX_MESSAGE_LINES = 40

_REGION_RE = re.compile(r"^(screen|input|footer|tail:\d+|above_input:\d+|turn:\d+)$")


@dataclass(frozen=True)
class Detection:
    """A classified pane: ``state``, a short ``reason`` (what matched), and for
    ``waiting:question`` the agent's message that asks."""

    state: PaneState
    reason: str
    question: str | None = None


# ---------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Rule:
    state: PaneState
    name: str
    region: str = "screen"
    any: tuple[re.Pattern[str], ...] = ()
    all: tuple[re.Pattern[str], ...] = ()
    none: tuple[re.Pattern[str], ...] = ()
    command: str | None = None
    input: bool | None = None


@dataclass(frozen=True)
class InputSpec:
    prompt: re.Pattern[str]
    within_last: int = 3
    rule: re.Pattern[str] | None = None
    rule_within: int = 1
    rule_required: bool = True
    echo: re.Pattern[str] | None = None
    draft: re.Pattern[str] | None = None
    completion: re.Pattern[str] | None = None


@dataclass(frozen=True)
class QuestionSpec:
    start: re.Pattern[str] | None
    stop: re.Pattern[str] | None
    skip: tuple[re.Pattern[str], ...]
    asks: re.Pattern[str]


@dataclass(frozen=True)
class PermissionSpec:
    option: re.Pattern[str]
    title_icon: re.Pattern[str]
    rule_line: re.Pattern[str]
    tool_call: re.Pattern[str]
    framed: re.Pattern[str] | None = None
    skip: tuple[re.Pattern[str], ...] = ()
    allow: tuple[str, ...] = ("1",)
    deny: tuple[str, ...] = ("Escape",)


@dataclass(frozen=True)
class VersionSpec:
    args: tuple[str, ...]               # run the agent's binary with these to print its release
    pattern: re.Pattern[str]            # group 1 of its output is the release
    banner: re.Pattern[str] | None      # group 1 of a screen line is the release


@dataclass(frozen=True)
class Profile:
    name: str
    commands: frozenset[str]
    identify: tuple[re.Pattern[str], ...]
    input: InputSpec | None
    rules: tuple[Rule, ...]
    question: QuestionSpec | None = None
    description: str = ""
    permission: PermissionSpec | None = None
    version: VersionSpec | None = None
    tested: tuple[str, ...] = ()        # releases the live suite proves, oldest first
    reset: tuple[re.Pattern[str], ...] = ()   # ``limits.reset``

    def untested(self, release: str) -> bool:
        """``release`` is newer than every tested one (a UI no pattern was checked against)."""
        return bool(self.tested) and release_key(release) > max(map(release_key, self.tested))


def release_key(release: str) -> tuple[int, ...]:
    """``"2.1.197"`` -> ``(2, 1, 197)``, for ordering releases (non-digits end a part)."""
    return tuple(int(m.group()) if (m := re.match(r"\d+", part)) else 0 for part in release.split("."))



Regexes = Annotated[list[Regex], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]


class RuleFile(FileModel):
    state: Annotated[PaneState, BeforeValidator(parse_state), expect(str, _STATE_CHOICES)]
    name: Text | None = None
    region: Annotated[str, expect(str, "screen, input, footer, tail:N, above_input:N or turn:N",
                                  lambda v: bool(_REGION_RE.match(v)))] = "screen"
    any: Regexes = Field(default_factory=list)
    all: Regexes = Field(default_factory=list)
    none: Regexes = Field(default_factory=list)
    command: Annotated[str, expect(str, "shell, agent or other",
                                   lambda v: v in ("shell", "agent", "other"))] | None = None
    input: bool | None = None

    def rule(self) -> Rule:
        return Rule(state=self.state, name=self.name or self.state, region=self.region,
                    any=tuple(map(re.compile, self.any)), all=tuple(map(re.compile, self.all)),
                    none=tuple(map(re.compile, self.none)), command=self.command, input=self.input)


class InputFile(FileModel):
    prompt: Regex
    within_last: int = 3
    rule: Regex | None = None
    rule_within: int = 1
    rule_required: bool = True
    echo: Regex | None = None        # our own typed text, as the agent echoes it in its history
    draft: Regex | None = None       # a line where someone has typed but not sent
    completion: Regex | None = None  # text whose Enter a completion menu would take

    def spec(self) -> InputSpec:
        def opt(pattern: str | None) -> re.Pattern[str] | None:
            return re.compile(pattern) if pattern else None
        return InputSpec(prompt=re.compile(self.prompt), within_last=self.within_last,
                         rule=opt(self.rule), rule_within=self.rule_within,
                         rule_required=self.rule_required, echo=opt(self.echo),
                         draft=opt(self.draft), completion=opt(self.completion))


class QuestionFile(FileModel):
    start: Regex | None = None
    stop: Regex | None = None
    skip: Regexes = Field(default_factory=list)
    asks: Regex = r"\?\s*$"

    def spec(self) -> QuestionSpec:
        return QuestionSpec(start=re.compile(self.start) if self.start else None,
                            stop=re.compile(self.stop) if self.stop else None,
                            skip=tuple(map(re.compile, self.skip)), asks=re.compile(self.asks))


_KEY = re.compile(r"^(?:[A-Za-z0-9]|Enter|Escape|Tab|BSpace|Space|Up|Down|Left|Right|Home|End)$")
Keys = Annotated[list[Annotated[str, expect(str, "a key name like 1, y, Enter or Escape",
                                            lambda v: bool(_KEY.match(v)))]],
                 BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]


class PermissionFile(FileModel):
    """How this agent draws a permission dialog (cut out for the relay to IRC and
    ``sweep.policy``), and which keys answer it."""

    option: Regex
    title_icon: Regex
    rule_line: Regex
    tool_call: Regex
    framed: Regex | None = None
    skip: Regexes = Field(default_factory=list)
    allow: Keys = Field(default_factory=lambda: ["1"])
    deny: Keys = Field(default_factory=lambda: ["Escape"])

    def spec(self) -> PermissionSpec:
        return PermissionSpec(option=re.compile(self.option), title_icon=re.compile(self.title_icon),
                              rule_line=re.compile(self.rule_line), tool_call=re.compile(self.tool_call),
                              framed=re.compile(self.framed) if self.framed else None,
                              skip=tuple(map(re.compile, self.skip)),
                              allow=tuple(self.allow), deny=tuple(self.deny))


class LimitsFile(FileModel):
    """How the agent says when a limit resets (its screen, or its error's text)."""

    reset: Regexes = Field(default_factory=list)


class VersionFile(FileModel):
    """How to learn which release of the agent runs in a pane (see breakroom.fleet.drift)."""

    args: Texts = Field(default_factory=lambda: ["--version"])
    pattern: Regex = r"(\d+(?:\.\d+)+)"
    banner: Regex | None = None

    def spec(self) -> VersionSpec:
        return VersionSpec(args=tuple(self.args), pattern=re.compile(self.pattern),
                           banner=re.compile(self.banner) if self.banner else None)


Release = Annotated[str, expect(str, "a release like 2.1.197",
                                lambda v: bool(re.fullmatch(r"\d+(\.\d+)+", v)), numbers_as_text=False)]


class ProfileFile(FileModel):
    """A profile file as written; a new kind of screen pattern is a new field here."""

    name: Text | None = None
    description: Text = ""
    commands: Texts = Field(default_factory=list)
    # agent releases proven against real screens, the live suite runs each (oldest first)
    tested: list[Release] = Field(default_factory=list)
    identify: Regexes = Field(default_factory=list)
    extends: Text | None = None
    prepend_rules: list[RuleFile] = Field(default_factory=list)  # with extends: tried first
    input: InputFile | None = None
    rules: list[RuleFile] = Field(default_factory=list)
    question: QuestionFile | None = None
    permission: PermissionFile | None = None
    version: VersionFile | None = None
    limits: LimitsFile | None = None

    def over(self, base: ProfileFile) -> ProfileFile:
        """This profile drawn over the one it extends: its keys win, its ``prepend_rules``
        go before the parent's rules, and the parent's ``identify`` marks count for it too
        (the child draws the parent's UI)."""
        merged = base.model_copy(update={k: getattr(self, k) for k in self.model_fields_set
                                         if k not in ("extends", "prepend_rules")})
        merged.rules = self.prepend_rules + base.rules
        merged.identify = self.identify + base.identify
        return merged


def read_profile(directory: Path | Sequence[Path], name: str, seen: tuple[str, ...] = ()) -> ProfileFile:
    """``<dir>/<name>.yaml`` from the first directory of the search path that has it,
    validated and merged over the profile it ``extends`` (a profile extending its own name
    extends the next one of that name down the path)."""
    dirs = [directory] if isinstance(directory, Path) else list(directory)
    path = next((d / f"{name}.yaml" for d in dirs if (d / f"{name}.yaml").is_file()), None)
    if path is None:
        where = " or ".join(str(d / f"{name}.yaml") for d in dirs)
        raise BreakroomError(f"no pane profile for agent {name!r} (expected {where})")
    profile = load_model(path, ProfileFile)
    if profile.extends is None:
        return profile
    if profile.extends == name:
        below = dirs[dirs.index(path.parent) + 1:]
        if not below:
            raise BreakroomError(f"{path}: extends {name!r}, but no profile of that name comes after it")
        return profile.over(read_profile(below, name, seen))
    if profile.extends in (*seen, name):
        raise BreakroomError(f"{path}: extends loops through {profile.extends!r}")
    return profile.over(read_profile(dirs, profile.extends, (*seen, name)))


def build_profile(name: str, raw: ProfileFile) -> Profile:
    return Profile(
        name=name, description=raw.description, commands=frozenset(raw.commands),
        identify=tuple(map(re.compile, raw.identify)),
        input=raw.input.spec() if raw.input else None,
        rules=tuple(r.rule() for r in raw.rules),
        question=raw.question.spec() if raw.question else None,
        permission=raw.permission.spec() if raw.permission else None,
        version=raw.version.spec() if raw.version else None,
        tested=tuple(sorted(raw.tested, key=release_key)),
        reset=tuple(map(re.compile, raw.limits.reset)) if raw.limits else ())


_SEARCH_PATH: list[Path] = [Path(PROFILES_DIR)]


def profile_dirs() -> tuple[Path, ...]:
    """Where profiles are looked up, first hit wins: the user's directory, then the shipped one."""
    return tuple(_SEARCH_PATH)


def use_profile_dirs(user_dir: str | Path | None) -> None:
    """Look in ``user_dir`` (``agents.profiles_dir``) before the shipped profiles, and check
    every profile there now, so a mistake in one is an error at start-up, not mid-poll."""
    dirs = [Path(PROFILES_DIR)]
    if user_dir is not None:
        path = Path(user_dir).expanduser()
        if not path.is_dir():
            raise BreakroomError(f"agents.profiles_dir: {path} is not a directory")
        dirs.insert(0, path)
    _SEARCH_PATH[:] = dirs
    load_profile.cache_clear()
    available_agents.cache_clear()
    if user_dir is not None:
        for agent in sorted(p.stem for p in dirs[0].glob("*.yaml")):
            load_profile(agent)


@cache
def load_profile(name: str) -> Profile:
    """Load and validate ``<name>.yaml`` along the search path (cached; errors name file,
    line and key)."""
    return build_profile(name, read_profile(_SEARCH_PATH, name))


def newest_tested(agent: str) -> str | None:
    """The newest release ``agent``'s profile lists as ``tested``: the one the build installs
    (the Makefile reads the same list), and what the live tests and captures run."""
    tested = load_profile(agent).tested  # oldest first (build_profile orders them)
    return tested[-1] if tested else None


@cache
def available_agents() -> tuple[str, ...]:
    """Agent kinds that have a profile, e.g. ``('aider', 'claude-code', …)``."""
    return tuple(sorted({p.stem for d in _SEARCH_PATH for p in d.glob("*.yaml")}))


def shell_commands() -> frozenset[str]:
    """Process names that are a shell (the ``shell`` profile's commands)."""
    return load_profile("shell").commands


def permission_patterns(agent: str) -> PermissionSpec:
    """The agent's ``permission`` patterns, else the shell profile's (the defaults)."""
    own = load_profile(agent).permission if agent in available_agents() else None
    fallback = load_profile("shell").permission
    assert fallback is not None, "profiles/shell.yaml: permission"
    return own or fallback


def question_asks(agent: str) -> re.Pattern[str]:
    """The agent's ``question.asks``: what a message (and each sentence of it) that asks
    looks like; a question mark at the end for agents without a profile or a question key."""
    spec = load_profile(agent).question if agent in available_agents() else None
    return spec.asks if spec is not None else re.compile(QuestionFile().asks)


def reset_patterns(agent: str) -> tuple[re.Pattern[str], ...]:
    """The agent's ``limits.reset`` patterns (none for an agent without a profile)."""
    return load_profile(agent).reset if agent in available_agents() else ()


@dataclass(frozen=True)
class TypingPatterns:
    """What delivery needs to type into an agent's input line safely."""

    draft: re.Pattern[str]      # stripped from the cursor's line; what is left is someone's draft
    completion: re.Pattern[str] | None  # typed text that opens a menu which would eat the Enter


def typing_patterns(agent: str) -> TypingPatterns:
    """The agent's ``input.draft``/``input.completion``; the shell profile's draft pattern
    for agents without one (or without a profile)."""
    fallback = load_profile("shell").input
    assert fallback is not None and fallback.draft is not None, "profiles/shell.yaml: input.draft"
    spec = load_profile(agent).input if agent in available_agents() else None
    draft = spec.draft if spec is not None and spec.draft is not None else fallback.draft
    return TypingPatterns(draft=draft, completion=spec.completion if spec is not None else None)


# ---------------------------------------------------------------- screen regions


class Screen:
    """One capture cut into the regions rules refer to."""

    def __init__(self, text: str, profile: Profile):
        lines = [line.rstrip() for line in text.replace("\r", "").split("\n")]
        while lines and not lines[-1].strip():
            lines.pop()
        self.lines = lines
        self.prompt_at, self.input_top = self._find_input(profile.input)
        self.echo = profile.input.echo if profile.input else None

    @property
    def has_input(self) -> bool:
        return self.prompt_at is not None

    def _find_input(self, spec: InputSpec | None) -> tuple[int | None, int | None]:
        """(index of the prompt line, index of the first line of the input area)."""
        if spec is None:
            return None, None
        nonblank = [i for i, line in enumerate(self.lines) if line.strip()]
        for i in reversed(nonblank[-spec.within_last:]):
            if not spec.prompt.search(self.lines[i]):
                continue
            if spec.rule is None:
                return i, i
            for j in range(i - 1, max(-1, i - 1 - spec.rule_within), -1):
                if spec.rule.search(self.lines[j]):
                    return i, j
            if not spec.rule_required:
                return i, i
        return None, None

    def region(self, name: str) -> list[str]:
        kind, _, count = name.partition(":")
        if kind == "screen":
            return self.lines
        if kind == "input":
            return [] if self.prompt_at is None else self.lines[self.prompt_at:self.prompt_at + 1]
        if kind == "footer":
            return [] if self.prompt_at is None else self.lines[self.prompt_at + 1:]
        source = self.above_input() if kind in ("above_input", "turn") else self.lines
        if kind == "turn" and self.echo is not None:
            echoes = [i for i, line in enumerate(source) if self.echo.search(line)]
            source = source[echoes[-1] + 1:] if echoes else source
        return [line for line in source if line.strip()][-int(count):]

    def above_input(self) -> list[str]:
        return self.lines[:self.input_top] if self.has_input else self.lines


def _first_hit(patterns: tuple[re.Pattern[str], ...], lines: list[str]) -> str | None:
    for line in lines:
        for pattern in patterns:
            if pattern.search(line):
                return line
    return None


def _command_kind(current_command: str | None, profile: Profile) -> str | None:
    if not current_command:
        return None
    if current_command in shell_commands():
        return "shell"
    return "agent" if current_command in profile.commands else "other"


def _apply(rule: Rule, screen: Screen, command_kind: str | None) -> str | None:
    """The reason text when ``rule`` matches, else None."""
    if rule.command is not None and rule.command != command_kind:
        return None
    if rule.input is not None and rule.input != screen.has_input:
        return None
    evidence = []
    if rule.command is not None:
        evidence.append(f"command is {rule.command}")
    if rule.any or rule.all or rule.none:
        lines = screen.region(rule.region)
        if rule.any:
            hit = _first_hit(rule.any, lines)
            if hit is None:
                return None
            evidence.append(repr(hit.strip()[:80]))
        for pattern in rule.all:
            hit = _first_hit((pattern,), lines)
            if hit is None:
                return None
            evidence.append(repr(hit.strip()[:80]))
        if rule.none and _first_hit(rule.none, lines) is not None:
            return None
    if rule.input is not None:
        evidence.append("input prompt shown" if rule.input else "no input prompt")
    return f"{rule.name}: {', '.join(evidence) or 'matched'}"


def last_message(screen: Screen, spec: QuestionSpec) -> str | None:
    """The agent's last message above the input prompt, joined into one line."""
    lines = screen.above_input()
    i = len(lines) - 1
    while i >= 0 and (not lines[i].strip() or any(p.search(lines[i]) for p in spec.skip)):
        i -= 1
    collected: list[str] = []
    while i >= 0 and len(collected) < MAX_MESSAGE_LINES:
        line = lines[i]
        if spec.stop is not None and spec.stop.search(line):
            break
        if spec.start is not None and spec.start.search(line):
            collected.append(spec.start.sub("", line, count=1))
            break
        collected.append(line)
        i -= 1
    else:
        if spec.start is not None:
            return None  # ran out of lines without finding where the message begins
    text = " ".join(part.strip() for part in reversed(collected) if part.strip())
    return text or None


def reply_after(text: str, agent: str, marker: str) -> str | None:
    """The agent's turn after the last line holding ``marker`` (text typed into it), joined
    into one line; None while the turn is not over (no input box below it) or there is
    nothing yet.  The turn starts at the agent's first message mark (``question.start``), or
    for an agent without one after the first blank line, so the wrapped rest of the typed
    text is never taken for the reply."""
    if agent not in available_agents():
        return None
    profile = load_profile(agent)
    spec = profile.question
    lines = text.replace("\r", "").split("\n")
    typed = [i for i, line in enumerate(lines) if marker in line]
    if not typed or spec is None:
        return None
    below = lines[typed[-1] + 1:]
    begins = [i for i, line in enumerate(below)
              if (spec.start.search(line) if spec.start is not None else not line.strip())]
    if not begins:
        return None
    screen = Screen("\n".join(below[begins[0]:]), profile)
    if not screen.has_input:
        return None  # the input box is what shows the turn is over
    turn = [spec.start.sub("", line, count=1) if spec.start is not None else line
            for line in screen.above_input()
            if line.strip() and not any(p.search(line) for p in spec.skip)
            and not (spec.stop is not None and spec.stop.search(line))]
    return " ".join(" ".join(turn).split()) or None


def detect(text: str, agent: str, current_command: str | None = None) -> Detection:
    """Classify one pane capture for an agent kind (see the module docstring)."""
    if agent == UNKNOWN_AGENT or agent not in available_agents():
        return Detection(PaneState.UNKNOWN, f"no pane profile for agent {agent!r}")
    profile = load_profile(agent)
    screen = Screen(text, profile)
    if not screen.lines:
        return Detection(PaneState.UNKNOWN, "empty pane")
    command_kind = _command_kind(current_command, profile)
    for rule in profile.rules:
        reason = _apply(rule, screen, command_kind)
        if reason is None:
            continue
        if rule.state is PaneState.IDLE and profile.question is not None:
            message = last_message(screen, profile.question)
            if message and profile.question.asks.search(message):
                return Detection(PaneState.WAITING_QUESTION, f"{reason}; last message asks", message)
        return Detection(rule.state, reason)
    return Detection(PaneState.UNKNOWN, "no rule matched")


def transcript(text: str, agent: str) -> str:
    """The screen above the agent's input box (all of it when none is drawn): what stays put
    while someone types a draft."""
    if agent not in available_agents():
        return text
    return "\n".join(Screen(text, load_profile(agent)).above_input())


def guess_agent(text: str, current_command: str | None) -> str:
    """Which profile fits a pane: its command first, then the screen's identifying text.

    A shell as the pane's command with no agent UI on screen is ``shell``; an agent UI on
    screen above a shell means an agent that exited there (``detect`` then says exited)."""
    agents = [a for a in available_agents() if a != "shell"]
    if current_command:
        for agent in agents:
            if current_command in load_profile(agent).commands:
                return agent
    lines = text.splitlines()
    scores = {agent: sum(1 for p in load_profile(agent).identify if _first_hit((p,), lines) is not None)
              for agent in agents}
    best = max(scores, key=lambda a: scores[a], default=None)
    if best is not None and scores[best] > 0:
        return best
    shell = load_profile("shell")
    if current_command in shell.commands or (current_command is None and Screen(text, shell).has_input):
        return "shell"
    return UNKNOWN_AGENT


# ---------------------------------------------------------------- idle stability


@dataclass
class IdleStability:
    """Trust an idle-looking screen only when it is identical to the previous capture.

    A reply that is still streaming, or a human typing, looks idle for an instant;
    two identical captures in a row rule that out.  Keyed by session, so one tracker can
    serve a whole fleet."""

    previous: dict[str, str] = field(default_factory=dict)

    def observe(self, session: str, text: str, detection: Detection) -> Detection:
        normalized = "\n".join(line.rstrip() for line in text.rstrip().splitlines())
        before = self.previous.get(session)
        self.previous[session] = normalized
        if detection.state not in READY_STATES or before == normalized:
            return detection
        return Detection(PaneState.WORKING,
                         f"looks {detection.state} but the screen changed since the last capture")

    def forget(self, session: str) -> None:
        self.previous.pop(session, None)
