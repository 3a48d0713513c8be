"""A simulated CLI agent: a small terminal program that looks enough like Claude Code for
pane-state detection, delivery and the demo to be exercised without a real agent.

It draws a transcript, then a bottom area: the input box (``❯`` between ``────`` rules),
or a spinner line above the box while it works, or a permission dialog.  Every line it
receives is echoed into the transcript as ``> text``.  What it does is driven by a YAML
script::

    name: alice                     # shown in the banner (--name overrides)
    ignore_first_enter: false       # swallow the first Enter that would submit text
    startup:                        # steps run once at start
      - work: 2                     #   spinner for 2 s
      - ask: "How do we price the workshop?"   # a question; the next line is the answer
      - permission: "Bash(rm -rf build)"        # dialog; denied -> the rest is skipped
      - run: "breakroom say '#breakroom' hi"   #   a shell command, output shown
      - say: "Ready."               #   an agent message (⏺ …)
      - print: "raw line"           #   a raw transcript line
      - exit: 0                     #   print the exit line and end
    reactions:                      # the first whose regex matches a received line runs
      - on: '^\\[breakroom #\\d+\\] (?P<sender>[^:]+): (?P<text>.*)'
        do:
          - run: "breakroom say {sender} 'got it: {text}'"
    default: [{say: "OK."}]         # when no reaction matches

In step texts ``{0}``, ``{1}``… and ``{name}`` are replaced by the match and its groups
(``{agent}`` is the sim's own name).  A received line is untrusted text, so in ``run`` the
values reach the shell as environment variables, never as code: each ``{key}`` becomes a
quoted ``$SIM_ARG_key`` fitting where it stands (bare, inside '…' or inside "…").  The
bottom area is redrawn in place (cursor up, erase below), so the transcript stays in the
pane's scrollback and capture-pane reads plain lines.
"""

from __future__ import annotations

import codecs
import os
import re
import select
import shutil
import subprocess
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TextIO

from pydantic import BeforeValidator, Field, model_validator

from breakroom.errors import BreakroomError
from breakroom.yamlfile import FileModel, Regex, Text, entry_error, expect, load_model, validate

BANNER = "✻ breakroom sim-agent"
EXIT_LINE = "sim-agent exited"
SPINNER = "·✢✳✶✻✽"
STEP_KINDS = ("work", "say", "print", "run", "ask", "permission", "exit")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
ESCAPE_SEQUENCE = re.compile(r"\x1b(\[[0-9;]*[A-Za-z~]|O[A-Za-z])")
PERMISSION_OPTIONS = ("Yes", "Yes, and don't ask again for this command",
                      "No, and tell Claude what to do differently (esc)")
RUN_TIMEOUT = 60.0
MAX_OUTPUT_LINES = 8


# ---------------------------------------------------------------- the script


@dataclass(frozen=True)
class Step:
    kind: str
    value: Any


@dataclass(frozen=True)
class Reaction:
    pattern: re.Pattern[str]
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Script:
    name: str = "sim"
    ignore_first_enter: bool = False
    startup: tuple[Step, ...] = ()
    reactions: tuple[Reaction, ...] = ()
    default: tuple[Step, ...] = (Step("say", "OK."),)



class StepFile(FileModel):
    """One step as written: a one-key mapping, ``{work: 2}``, ``{say: "Ready."}``, …"""

    work: Annotated[float, expect(float, "a number of seconds", lambda v: v >= 0)] | None = None
    say: str | None = None
    print: str | None = None
    run: str | None = None
    ask: str | None = None
    permission: str | None = None
    exit: Annotated[int, BeforeValidator(lambda v: 0 if v is True else v)] | None = None

    @model_validator(mode="after")
    def _one_step(self) -> StepFile:
        if len(self.model_fields_set) != 1:
            raise entry_error(f"expected one of {', '.join(STEP_KINDS)} as a one-key mapping")
        return self

    def step(self) -> Step:
        (kind,) = self.model_fields_set
        value = getattr(self, kind)
        return Step(kind, 0 if kind == "exit" and value is None else value)


class ReactionFile(FileModel):
    on: Regex
    do: list[StepFile]

    @model_validator(mode="before")
    @classmethod
    def _bare_on(cls, data: Any) -> Any:
        """YAML 1.1 reads a bare ``on:`` key as the boolean true."""
        if isinstance(data, dict):
            return {("on" if k is True else k): v for k, v in data.items()}
        return data


class ScriptFile(FileModel):
    name: Text | None = None
    ignore_first_enter: bool = False
    startup: list[StepFile] = Field(default_factory=list)
    reactions: list[ReactionFile] = Field(default_factory=list)
    default: list[StepFile] | None = None

    def script(self) -> Script:
        return Script(
            name=self.name or "sim",
            ignore_first_enter=self.ignore_first_enter,
            startup=tuple(s.step() for s in self.startup),
            reactions=tuple(Reaction(re.compile(r.on), tuple(s.step() for s in r.do))
                            for r in self.reactions),
            default=Script.default if self.default is None else tuple(s.step() for s in self.default))


def parse_script(raw: object, where: str = "script") -> Script:
    """Validate a script mapping; errors name the bad key."""
    return validate(ScriptFile, {} if raw is None else raw, label=where).script()


def load_script(path: str | Path) -> Script:
    return load_model(Path(path), ScriptFile, label="sim script").script()


def substitute(text: str, values: dict[str, str]) -> str:
    """Replace ``{key}`` by ``values[key]``; unknown keys stay as they are."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def shell_command(template: str, values: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The command with each known ``{key}`` turned into a reference to an environment
    variable holding its value, quoted for the context it stands in; and that environment."""
    env: dict[str, str] = {}
    out: list[str] = []
    quote: str | None = None  # the quote character we are inside of, if any
    i = 0
    while i < len(template):
        placeholder = PLACEHOLDER.match(template, i)
        if placeholder and placeholder.group(1) in values:
            name = f"SIM_ARG_{placeholder.group(1)}"
            env[name] = values[placeholder.group(1)]
            out.append({None: f'"${{{name}}}"', '"': f"${{{name}}}", "'": f"'\"${{{name}}}\"'"}[quote])
            i = placeholder.end()
            continue
        char = template[i]
        if char == "\\" and quote != "'":
            out.append(template[i:i + 2])
            i += 2
            continue
        if char in "'\"" and quote in (None, char):
            quote = None if quote == char else char
        out.append(char)
        i += 1
    return "".join(out), env


def match_values(match: re.Match[str]) -> dict[str, str]:
    values = {str(i): g or "" for i, g in enumerate([match.group(0), *match.groups()])}
    values.update({k: v or "" for k, v in match.groupdict().items()})
    return values


# ---------------------------------------------------------------- the terminal program


class Denied(Exception):
    """A permission was refused: the rest of the current step list is skipped."""


class AgentExit(Exception):
    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


@contextmanager
def cbreak_terminal(fd: int, out: TextIO) -> Iterator[None]:
    """Keys one at a time (no echo), bracketed paste on; both restored on the way out."""
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    out.write("\x1b[?2004h")
    try:
        yield
    finally:
        try:
            out.write("\x1b[?2004l")
            out.flush()
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        except (OSError, termios.error):
            pass  # the terminal is gone already


@dataclass
class SimAgent:
    script: Script
    name: str
    fd: int = 0
    out: TextIO = field(default_factory=lambda: sys.stdout)
    buffer: str = ""
    status: str | None = None
    dialog: list[str] | None = None
    queued: list[str] = field(default_factory=list)
    enter_swallowed: bool = False
    _drawn: int = 0          # lines of the bottom area on screen
    _cursor_up: int = 0      # how far the cursor sits above the bottom area's last line
    _pending: str = ""
    _pasting: bool = False

    def __post_init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    # ---- drawing

    @property
    def width(self) -> int:
        return max(20, shutil.get_terminal_size((80, 24)).columns - 1)

    def _bottom(self) -> tuple[list[str], int, int]:
        """The bottom area's lines, the index of the cursor's line and its column."""
        rule = "─" * self.width
        lines = ["", self.status, ""] if self.status else [""]
        if self.dialog is not None:
            lines += [rule, *self.dialog]
            return [line[:self.width] for line in lines], len(lines) - 1, 0
        typed = self.buffer.split("\n")
        tail = self.width - 3
        box = [f"❯ {typed[0][-tail:]}"] + [f"  {line[-tail:]}" for line in typed[1:]]
        cursor = len(lines) + len(box)
        lines += [rule, *box, rule, "  ? for shortcuts"]
        return lines, cursor, len(box[-1])

    def draw(self, *transcript: str) -> None:
        """Erase the bottom area, append transcript lines, draw the bottom area again."""
        parts = [self._erase()]
        for text in transcript:
            parts.append(text.replace("\n", "\r\n") + "\r\n")
        lines, cursor, column = self._bottom()
        parts.append("\r\n".join(lines))
        self._drawn, self._cursor_up = len(lines), len(lines) - 1 - cursor
        if self._cursor_up:
            parts.append(f"\x1b[{self._cursor_up}A")
        parts.append(f"\r\x1b[{column}C" if column else "\r")
        self.out.write("".join(parts))
        self.out.flush()

    def _erase(self) -> str:
        """Escape codes that move to the bottom area's first line and erase from there."""
        if not self._drawn:
            return ""
        up = self._drawn - 1 - self._cursor_up
        return f"\r\x1b[{up}A\x1b[J" if up else "\r\x1b[J"

    def message(self, text: str) -> None:
        first, *rest = text.split("\n")
        self.draw("\n".join([f"⏺ {first}", *(f"  {line}" for line in rest)]))

    # ---- input

    def _tokens(self) -> Iterator[tuple[str, str]]:
        """("key", k) for keys and escape sequences, ("paste", text) for bracketed paste."""
        while self._pending:
            s = self._pending
            if self._pasting:
                end = s.find(PASTE_END)
                text, self._pending = (s, "") if end < 0 else (s[:end], s[end + len(PASTE_END):])
                self._pasting = end < 0
                yield "paste", text
            elif s.startswith(PASTE_START):
                self._pasting, self._pending = True, s[len(PASTE_START):]
            elif (m := ESCAPE_SEQUENCE.match(s)) is not None:
                self._pending = s[m.end():]
                yield "key", m.group(0)
            else:
                self._pending = s[1:]
                yield "key", s[0]

    def _read(self, timeout: float | None) -> list[tuple[str, str]]:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return []
        data = os.read(self.fd, 4096)
        if not data:
            raise AgentExit(0)  # the terminal went away
        self._pending += self._decoder.decode(data)
        return list(self._tokens())

    def _edit(self, kind: str, key: str) -> str | None:
        """Apply one token to the input line; returns the submitted line on Enter."""
        if kind == "paste":
            self.buffer += key.replace("\r\n", "\n").replace("\r", "\n")
        elif key in ("\r", "\n"):
            if not self.buffer.strip():
                self.buffer = ""
            elif self.script.ignore_first_enter and not self.enter_swallowed:
                self.enter_swallowed = True  # the text stays in the input line
            else:
                line, self.buffer = self.buffer, ""
                return line
        elif key in ("\x7f", "\x08"):
            self.buffer = self.buffer[:-1]
        elif key == "\x15":
            self.buffer = ""
        elif key == "\x04" and not self.buffer:
            raise AgentExit(0)
        elif key.isprintable():
            self.buffer += key
        return None

    def read_line(self) -> str:
        """Wait at the idle input box for a submitted line (or one queued while busy)."""
        if self.queued:
            return self.queued.pop(0)
        self.draw()
        while True:
            for kind, key in self._read(None):
                line = self._edit(kind, key)
                if line is not None:
                    self.draw(f"> {line}")
                    return line
            self.draw()

    def _busy(self, label: str, seconds: float) -> bool:
        """Show the spinner for ``seconds``, keeping typed lines for later; False if Esc."""
        start = time.monotonic()
        tick = 0
        while (left := seconds - (time.monotonic() - start)) > 0:
            elapsed = int(time.monotonic() - start)
            self.status = f"{SPINNER[tick % len(SPINNER)]} {label}… ({elapsed}s · esc to interrupt)"
            self.draw()
            tick += 1
            for kind, key in self._read(min(0.5, left)):
                if key == "\x1b":
                    self.status = None
                    self.draw("  ⎿  Interrupted by user")
                    return False
                line = self._edit(kind, key)
                if line is not None:
                    self.queued.append(line)
                    self.draw(f"> {line}")
        self.status = None
        return True

    # ---- steps

    def work(self, seconds: float) -> None:
        if self._busy("Working", seconds):
            self.draw(f"✻ Worked for {max(1, round(seconds))}s")

    def ask(self, question: str) -> None:
        self.message(question)
        answer = self.read_line()
        self.message(f"Thanks — got it: {answer}")

    def permission(self, request: str) -> None:
        tool = re.match(r"(\w+)\((.*)\)$", request, re.S)
        title, body = (f"{tool.group(1)} command", tool.group(2)) if tool else ("Permission", request)
        self.message(request)
        choice = 0
        while True:
            self.dialog = [f" {title}", "", f"   {body}", "", " Do you want to proceed?",
                           *(f" {'❯' if i == choice else ' '} {i + 1}. {text}"
                             for i, text in enumerate(PERMISSION_OPTIONS)), "", " Esc to cancel"]
            self.draw()
            for _kind, key in self._read(None):
                if key in ("1", "2", "3"):
                    choice = int(key) - 1
                    break
                if key in ("\x1b[A", "\x1b[B"):
                    choice = (choice + (1 if key == "\x1b[B" else -1)) % len(PERMISSION_OPTIONS)
                elif key == "\x1b":
                    choice = 2
                    break
                elif key in ("\r", "\n"):
                    break
            else:
                continue
            break
        self.dialog = None
        if choice == 2:
            self.draw("  ⎿  Denied: tell me what to do differently")
            raise Denied()
        self.draw("  ⎿  Approved" + (" (won't ask again)" if choice == 1 else ""))

    def run_command(self, template: str, values: dict[str, str]) -> None:
        command, env = shell_command(template, values)
        self.message(f"Bash({substitute(template, values)})")
        self.status = f"{SPINNER[0]} Running… (0s · esc to interrupt)"
        self.draw()
        try:
            done = subprocess.run(command, shell=True, capture_output=True, text=True,
                                  env={**os.environ, **env}, stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT)
            output = (done.stdout + done.stderr).strip().splitlines() or ["(no output)"]
            if done.returncode:
                output.append(f"exit {done.returncode}")
        except subprocess.TimeoutExpired:
            output = [f"timed out after {RUN_TIMEOUT:g}s"]
        self.status = None
        shown = output[:MAX_OUTPUT_LINES] + ([f"… +{len(output) - MAX_OUTPUT_LINES} lines"]
                                             if len(output) > MAX_OUTPUT_LINES else [])
        self.draw("\n".join(("  ⎿  " if i == 0 else "     ") + line for i, line in enumerate(shown)))

    def run_steps(self, steps: tuple[Step, ...], values: dict[str, str]) -> None:
        values = {"agent": self.name, **values}
        try:
            for step in steps:
                if step.kind == "work":
                    self.work(float(step.value))
                elif step.kind == "exit":
                    raise AgentExit(step.value)
                elif step.kind == "run":
                    self.run_command(step.value, values)
                else:
                    show: dict[str, Callable[[str], None]] = {
                        "say": self.message, "print": self.draw, "ask": self.ask,
                        "permission": self.permission}
                    show[step.kind](substitute(step.value, values))
        except Denied:
            pass

    def react(self, line: str) -> None:
        for reaction in self.script.reactions:
            match = reaction.pattern.search(line)
            if match:
                self.run_steps(reaction.steps, match_values(match))
                return
        self.run_steps(self.script.default, {"0": line})

    def run(self) -> int:
        """Run until an exit step, Ctrl-D on an empty line, or Ctrl-C; returns the exit code."""
        if not os.isatty(self.fd):
            raise BreakroomError("sim-agent needs a terminal (run it in a tmux pane)")
        code = 0
        try:
            with cbreak_terminal(self.fd, self.out):
                self.draw(f"{BANNER} · {self.name}", "  a Claude Code look-alike for tests and the demo", "")
                try:
                    self.run_steps(self.script.startup, {})
                    while True:
                        self.react(self.read_line())
                except AgentExit as exc:
                    code = exc.code
                except KeyboardInterrupt:
                    code = 130
                self.out.write(f"{self._erase()}{EXIT_LINE} (code {code})\r\n")
        except OSError:
            pass  # the pane was closed under us; nobody is left to tell
        return code
