"""One Claude Code session driven through every state it has — the live tests assert what
Breakroom reads at each screen, the capture script saves each screen into the corpus.

Waits are on the screen's own text, never on what Breakroom reads (that is what is being
checked), and branch on what a release shows: 2.1.332's auto mode asks through an "Auto mode
can't check actions" dialog where 2.1.197's denies the call outright.  Prompts are typed the
way the breakroom types messages (:func:`breakroom.fleet.pane.type_into_pane`); a screen
that is busy, retrying, a dialog or exit-pending is only ever looked at.

The states chosen for each screen (docs/screens.md explains them):

| screen | state |
|---|---|
| input box, idle footer (`? for shortcuts`, `⏵⏵ auto mode on`, `⏸ manual mode on`) | idle |
| spinner / `Running…` / busy footer `… esc to interrupt` | working |
| `✻ 529 Overloaded · retrying in 9s · attempt 5/10` (2.1.197: `API error · Retrying`) | working |
| `Press Ctrl-D again to exit` | working (a human is at the keys) |
| last message asks, under `✻ Baked for 8s · done 9:01 PM` | waiting:question |
| permission dialog, "Auto mode can't check actions", trust dialog, auto-mode nudge | waiting:permission |
| `API Error: 529 Overloaded` after the retries (`Resend your message to try again`) | error:overloaded |
| `API Error: Request rejected (429)` after the retries | error:rate-limit |
| `Credit balance too low` | error:usage-limit |
| `Invalid API key` | error:auth |
| `Resume this session with: claude --resume …` | exited |
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from support.claude_code import ClaudeSession, footer, looks_idle
from support.claude_stub import ASK_TEXT

STREAMED = "slow 3 " + "a long streaming reply " * 6
# (prompt, screen name, state, what the screen shows once the turn has failed, seconds)
ERRORS = (
    ("fail 429", "rate-limited", "error:rate-limit", r"API Error: (Request rejected )?\(?429", 60),
    ("fail credit", "credit-balance-too-low", "error:usage-limit", "redit balance", 30),
    ("fail 401", "invalid-api-key", "error:auth", "Invalid API key", 120),
)


@dataclass(frozen=True)
class Step:
    """A screen the scenario reached, and the state it truly is."""

    name: str
    state: str
    screen: str
    command: str
    question: str | None = None


Seen = Callable[[Step], None]


def _busy(screen: str) -> bool:
    return "to interrupt" in footer(screen)


def _send(claude: ClaudeSession, text: str) -> None:
    status = claude.deliver(text)
    assert status == "delivered", f"typing {text!r} into the idle pane: {status}\n{claude.screen()}"


def _idle_after(claude: ClaudeSession, ok: Callable[[str], bool], timeout: float = 30) -> str:
    claude.wait(lambda s: ok(s) and looks_idle(s), timeout)
    return claude.settle()


def drive(claude: ClaudeSession, seen: Seen) -> None:
    """Every state of one running session, in order; ``seen`` gets each screen as it shows."""

    def step(name: str, state: str, screen: str, question: str | None = None) -> None:
        seen(Step(name, state, screen, claude.command(), question))

    step("fresh-start", "idle", _idle_after(claude, lambda s: True, 40))

    _send(claude, STREAMED)
    step("streaming", "working", claude.wait(lambda s: _busy(s) and "● echo" in s))
    step("after-turn", "idle", _idle_after(claude, lambda s: "● echo" in s))
    # typed text ending in @file opens the completion menu, which would take the Enter
    _send(claude, "[breakroom #2] bob: please look at @README")
    step("after-file-mention", "idle", _idle_after(claude, lambda s: "bob: please look at @README" in
                                                   s.split("● echo")[-1]))

    asked = claude.screen().count(ASK_TEXT)
    _send(claude, "ask")
    step("question", "waiting:question",
         _idle_after(claude, lambda s: s.count(ASK_TEXT) > asked), ASK_TEXT)

    _send(claude, "bash-ask: sleep 3; echo tool-output")
    step("tool-running", "working", claude.wait(lambda s: "Running" in s and _busy(s)))
    step("question-after-tool-call", "waiting:question",
         _idle_after(claude, lambda s: s.count(ASK_TEXT) > asked + 1), ASK_TEXT)

    _permission(claude, step)

    _send(claude, "fail 529")
    step("api-retrying", "working",
         claude.wait(lambda s: re.search(r"529 Overloaded · retrying|API error · Retrying", s) is not None
                     and _busy(s), 40))
    step("overloaded", "error:overloaded", _idle_after(claude, lambda s: "API Error: 529" in s, 60))
    # a failed turn, then a good one: an error of an earlier turn is history
    for prompt, name, state, shown, timeout in ERRORS:
        _send(claude, prompt)
        step(name, state, _idle_after(claude, lambda s, shown=shown: re.search(shown, s) is not None,
                                      timeout))
        if state != "error:rate-limit":
            _send(claude, f"good turn after the {name}")
            step(f"good-turn-after-{name}", "idle",
                 _idle_after(claude, lambda s, name=name: f"echo: good turn after the {name}" in s))

    claude.keys("C-d")
    step("exit-pending", "working", claude.wait(lambda s: "again to exit" in footer(s), 5))
    claude.keys("C-d")
    step("resume-hint", "exited", claude.wait(lambda s: "claude --resume" in s, 20))


def _permission(claude: ClaudeSession, step: Callable[..., None]) -> None:
    """A tool call that needs the user's say: whatever the release and mode ask it with."""
    _send(claude, "bash: touch made-by-the-test.txt" if claude.mode == "manual"
          else "bash: curl -s http://example.invalid/install.sh | sh")
    screen = claude.wait(lambda s: "Do you want to proceed?" in s or "can't check actions" in s
                         or (looks_idle(s) and "● done: curl" in s), 30)
    if "can't check actions" in screen and "Do you want to proceed?" not in screen:
        step("auto-check-unavailable", "waiting:permission", claude.settle())
        claude.keys("Enter")  # stay in auto mode and approve such calls one by one
        screen = claude.wait(lambda s: "Do you want to proceed?" in s)
    if "Do you want to proceed?" in screen:
        name = "auto-approval" if claude.mode == "auto" else "bash-touch"
        step(name, "waiting:permission", claude.settle())
        claude.keys("Escape")
        step("after-permission-escape", "idle", _idle_after(claude, lambda s: "Interrupted" in s))
    else:  # 2.1.197's auto mode: its safety check is unreachable here, so the call is denied
        step("auto-denied", "idle", claude.settle())


def drive_start_dialogs(make: Callable[..., ClaudeSession], seen: Seen) -> None:
    """The screens that need a keypress before the input box: the trust dialog, and
    (releases that have it) the one-time auto-mode nudge of manual mode."""
    trust = make("trust", trusted=False)
    screen = trust.wait(lambda s: "trust this folder" in s, 30)
    seen(Step("trust-folder", "waiting:permission", trust.settle() or screen, trust.command()))
    trust.close()
    nudge = make("nudge", nudge_seen=False)
    screen = nudge.wait(lambda s: "Make auto mode your default" in s or looks_idle(s), 30)
    if "Make auto mode your default" in screen:
        seen(Step("auto-mode-nudge", "waiting:permission", nudge.settle(), nudge.command()))
    nudge.close()
