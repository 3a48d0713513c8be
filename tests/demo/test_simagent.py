"""The simulated agent in a real tmux pane, read back with the real detector."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import libtmux
import pytest
import yaml

from breakroom.demo.simagent import Step, parse_script, shell_command, substitute
from breakroom.errors import BreakroomError
from breakroom.fleet.panestate import IdleStability, detect, guess_agent
from breakroom.fleet.tmux import Tmux
from support.cli import BREAKROOM
from support.wait import wait_value

BASIC = Path(__file__).parents[1] / "fixtures" / "sim" / "basic.yaml"


class SimPane:
    """One sim-agent in a tmux pane on a private server."""

    def __init__(self, pane: libtmux.Pane):
        self.pane = pane

    def text(self) -> str:
        return "\n".join(self.pane.capture_pane())

    def state(self) -> str:
        return detect(self.text(), "sim").state

    def type(self, text: str) -> None:
        self.pane.send_keys(text, enter=False, literal=True)

    def press(self, key: str) -> None:
        self.pane.send_keys(key, enter=False, literal=False)

    def submit(self, text: str) -> None:
        """Type ``text``, and press Enter once it shows in the input line (a long one scrolls:
        its end shows)."""
        self.type(text)
        self.wait_for(lambda shown: any(
            line.startswith("❯ ") and text.endswith(line[2:]) and len(line[2:]) >= min(len(text), 60)
            for line in shown.splitlines()))
        self.press("Enter")

    def wait_for(self, check: Callable[[str], bool], timeout: float = 8.0) -> str:
        return wait_value(self.text, check, timeout, "the pane to show what was expected", poll=0.1)

    def wait_state(self, state: str, timeout: float = 8.0) -> str:
        return self.wait_for(lambda text: detect(text, "sim").state == state, timeout)


@pytest.fixture
def sim_pane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., SimPane]]:
    monkeypatch.setenv("HOME", str(tmp_path))
    name = f"br-sim-{uuid.uuid4().hex[:8]}"
    tmux = libtmux.Server(socket_name=name)

    def start(script: Path | str = BASIC, name: str = "alice") -> SimPane:
        session = tmux.new_session(session_name=name, x=100, y=45,
                                   window_command=f"{BREAKROOM} sim-agent --script {script} --name {name}")
        tmux.cmd("set-option", "-t", name, "remain-on-exit", "on")
        return SimPane(session.active_window.active_pane)

    yield start
    Tmux(name).kill_server()


def test_states_follow_the_script(sim_pane: Callable[..., SimPane]) -> None:
    sim = sim_pane()
    text = sim.wait_state("working")                       # startup: work 1
    assert guess_agent(text, "python3") == "sim"
    sim.wait_for(lambda t: "Ready for work." in t)
    assert sim.state() == "idle"

    sim.submit("work 3")
    sim.wait_state("working")
    text = sim.wait_for(lambda t: "Finished 3." in t)
    assert detect(text, "sim").state == "idle"

    sim.submit("permission")
    sim.wait_state("waiting:permission")
    assert detect(sim.text(), "sim").question is None
    sim.press("1")
    text = sim.wait_for(lambda t: "Cleaned the build directory." in t)
    assert "⎿  Approved" in text and detect(text, "sim").state == "idle"

    sim.submit("question")
    text = sim.wait_state("waiting:question")
    assert detect(text, "sim").question == "How do we price the workshop?"
    sim.submit("per cohort")
    text = sim.wait_for(lambda t: "Thanks — got it: per cohort" in t)
    assert detect(text, "sim").state == "idle"

    sim.submit("bye")
    text = sim.wait_for(lambda t: "sim-agent exited (code 0)" in t)
    assert detect(text, "sim").state == "exited"


def test_idle_is_stable_across_captures(sim_pane: Callable[..., SimPane]) -> None:
    sim = sim_pane()
    sim.wait_for(lambda t: "Ready for work." in t)
    stability = IdleStability()
    first, second = sim.text(), sim.text()
    assert stability.observe("alice", first, detect(first, "sim")).state == "working"
    assert stability.observe("alice", second, detect(second, "sim")).state == "idle"


def test_denied_permission_skips_the_rest(sim_pane: Callable[..., SimPane]) -> None:
    sim = sim_pane()
    sim.wait_for(lambda t: "Ready for work." in t)
    sim.submit("permission")
    sim.wait_state("waiting:permission")
    sim.press("Escape")
    text = sim.wait_for(lambda t: "Denied" in t)
    sim.submit("ping")  # answered only after whatever was left of the reaction
    sim.wait_for(lambda t: "OK: ping" in t)
    assert "Cleaned the build directory." not in sim.text()
    assert detect(text, "sim").state == "idle"


def test_ignore_first_enter_keeps_the_text_in_the_input_line(sim_pane: Callable[..., SimPane],
                                                             tmp_path: Path) -> None:
    script = tmp_path / "stubborn.yaml"
    script.write_text("ignore_first_enter: true\ndefault: [{say: 'got: {0}'}]\n")
    sim = sim_pane(script, "bob")
    sim.wait_state("idle")
    sim.submit("hello there")
    sim.type("x")  # keys are read in order: once the x shows, the Enter before it was handled
    sim.wait_for(lambda t: "❯ hello therex" in t or "> hello there" in t)
    sim.press("BSpace")
    text = sim.wait_for(lambda t: "❯ hello therex" not in t)
    assert "❯ hello there" in text and "> hello there" not in text   # swallowed, still typed
    sim.press("Enter")                                                 # the retry of only the Enter
    text = sim.wait_for(lambda t: "got: hello there" in t)
    assert text.count("> hello there") == 1
    sim.submit("second")                                               # later Enters work at once
    text = sim.wait_for(lambda t: "got: second" in t)
    assert text.count("> second") == 1


def test_run_step_quotes_what_it_substitutes(sim_pane: Callable[..., SimPane], tmp_path: Path) -> None:
    sim = sim_pane()
    sim.wait_for(lambda t: "Ready for work." in t)
    sim.submit(f"run x;touch${{IFS}}{tmp_path}/pwned")
    text = sim.wait_for(lambda t: "⎿  ran x;touch" in t)
    assert f"ran x;touch${{IFS}}{tmp_path}/pwned" in text.replace("\n", "")
    assert not (tmp_path / "pwned").exists()


def test_bracketed_paste_is_one_multiline_submission(sim_pane: Callable[..., SimPane]) -> None:
    sim = sim_pane()
    sim.wait_for(lambda t: "Ready for work." in t)
    server = sim.pane.server
    server.cmd("set-buffer", "-b", "msg", "first line\nsecond line")
    server.cmd("paste-buffer", "-p", "-d", "-b", "msg", "-t", sim.pane.pane_id)
    text = sim.wait_for(lambda t: "  second line" in t)
    assert "> first line" not in text                  # a pasted newline does not submit
    sim.press("Enter")
    text = sim.wait_for(lambda t: "OK: first line" in t)
    assert text.count("> first line") == 1


def test_typing_while_busy_is_queued(sim_pane: Callable[..., SimPane]) -> None:
    sim = sim_pane()
    sim.wait_for(lambda t: "Ready for work." in t)
    sim.submit("work 3")
    sim.wait_state("working")
    sim.submit("after that")
    text = sim.wait_for(lambda t: "OK: after that" in t)
    assert text.index("Finished 3.") < text.index("OK: after that")


# ---------------------------------------------------------------- scripts (no tmux)


def test_script_parsing_and_errors() -> None:
    script = parse_script(yaml.safe_load(  # YAML 1.1 reads the bare `on:` key as true
        "startup: [{work: 2}, {exit: null}]\n"
        "reactions:\n  - on: '^hi (\\w+)'\n    do: [{say: 'hello {1}'}]\n"))
    assert script.startup == (Step("work", 2), Step("exit", 0))
    assert script.reactions[0].pattern.pattern == "^hi (\\w+)"
    for bad, message in [({"startup": [{"sleep": 1}]},
                          r"startup\[0\].sleep: unknown key \(known keys here: ask, exit"),
                         ({"startup": [{"work": -1}]},
                          r"startup\[0\].work: expected a number of seconds, got -1"),
                         ({"startup": [{"say": "a", "work": 1}]}, r"startup\[0\]: expected one of work, say"),
                         ({"reactions": [{"on": "(", "do": []}]}, r"reactions\[0\].on: bad regex"),
                         ({"colour": "red"}, "colour: unknown key"),
                         ({"startup": [{"say": 3}]}, r"startup\[0\].say: expected a string, got 3")]:
        with pytest.raises(BreakroomError, match=message):
            parse_script(bad)


def test_substitute_leaves_unknown_keys() -> None:
    substituted = substitute("{sender} said {0} {missing}", {"0": "a b", "sender": "bob"})
    assert substituted == "bob said a b {missing}"


@pytest.mark.parametrize("template,shown", [("printf %s {v}", "{}"),
                                             ("printf %s \"<{v}>\"", "<{}>"),
                                             ("printf %s '<{v}>'", "<{}>"),
                                             ("printf %s \\'{v}", "'{}")])
def test_shell_command_never_runs_the_value(template: str, shown: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    value = f"x'; touch {work}/a; \"$(touch {work}/b)\" `touch {work}/c` $HOME *"
    command, env = shell_command(template, {"v": value})
    done = subprocess.run(command, shell=True, capture_output=True, text=True, env={**os.environ, **env},
                          cwd=work)
    assert list(work.iterdir()) == []
    assert done.stdout == shown.format(value)
