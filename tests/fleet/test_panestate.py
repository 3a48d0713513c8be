"""Pane-state detection against the fixture corpus and the traps the field fell into."""

from __future__ import annotations

import pytest

from breakroom.errors import BreakroomError
from breakroom.fleet import screens
from breakroom.fleet.panestate import (
    Detection,
    IdleStability,
    available_agents,
    build_profile,
    detect,
    guess_agent,
    load_profile,
    read_profile,
)
from breakroom.paths import SCREEN_CORPUS

RULE = "─" * 60
SCREENS = screens.corpus(SCREEN_CORPUS)  # read as breakroom screens table reads them


def test_corpus_is_large_and_covers_every_agent_and_state() -> None:
    assert len(SCREENS) >= 40
    assert {"claude-code", "codex", "aider", "gemini", "shell", "sim"} <= {s.agent for s in SCREENS}
    assert {"working", "idle", "waiting:permission", "waiting:question", "exited", "error:usage-limit",
            "error:auth", "error:crashed", "error:config-corrupted", "error:overloaded",
            "error:rate-limit"} <= {s.state for s in SCREENS}


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: str(s.path.relative_to(SCREEN_CORPUS)))
def test_screen_reads_as_its_true_state(screen: screens.Screen) -> None:
    found = screens.read(screen)
    assert found.state == screen.state, found.reason
    assert screens.reads_right(screen, found), (found.question, screen.question)
    if found.state != "waiting:question":
        assert found.question is None


@pytest.mark.parametrize("screen", [s for s in SCREENS if s.agent != "shell"],
                         ids=lambda s: str(s.path.relative_to(SCREEN_CORPUS)))
def test_guess_agent_from_screen(screen: screens.Screen) -> None:
    assert guess_agent(screen.text, None) == screen.agent


def test_every_profile_loads() -> None:
    assert {"claude-code", "codex", "aider", "gemini", "shell", "sim"} <= set(available_agents())
    for agent in available_agents():
        assert load_profile(agent).rules


# ---------------------------------------------------------------- traps


def claude_screen(above: str, footer: str = "  ? for shortcuts", box_text: str = "") -> str:
    """A Claude Code screen: transcript, the input box between rules, optional footer."""
    return f"{above.strip()}\n\n{RULE}\n❯ {box_text}\n{RULE}\n{footer}\n"


def test_esc_to_interrupt_in_prose_is_not_busy() -> None:
    prose = ("⏺ While it builds, vite prints (esc to interrupt) and my own spinner says\n"
             "  \"✻ Pondering… (12s · esc to interrupt)\"; press esc to interrupt either.")
    assert detect(claude_screen(prose), "claude-code").state == "idle"
    # the same words in the real spinner line right above the box do mean busy
    busy = prose + "\n\n✻ Pondering… (12s · ↓ 1.2k tokens · esc to interrupt)"
    assert detect(claude_screen(busy), "claude-code").state == "working"


def test_spinner_far_above_the_box_is_history() -> None:
    old = ("✻ Pondering… (12s · esc to interrupt)\n" + "\n".join(f"  line {i}" for i in range(6))
           + "\n\n✻ Brewed for 3m 12s")
    assert detect(claude_screen(old), "claude-code").state == "idle"


def test_input_box_drawn_while_busy_is_not_idle() -> None:
    screen = claude_screen("⏺ Reading files.\n\n✶ Musing… (3s · esc to interrupt)", box_text="next task")
    found = detect(screen, "claude-code")
    assert found.state == "working" and "busy marker" in found.reason


@pytest.mark.parametrize("footer", ["  ⏵⏵ bypass permissions on (shift+tab to cycle)",
                                    "  ⏵⏵ accept edits on (shift+tab to cycle)", "  ? for shortcuts"])
def test_permanent_footer_says_nothing(footer: str) -> None:
    busy = claude_screen("✻ Pondering… (12s · esc to interrupt)", footer)
    done = claude_screen("⏺ Done.\n\n✻ Brewed for 3m 12s", footer)
    assert detect(busy, "claude-code").state == "working"
    assert detect(done, "claude-code").state == "idle"


def test_prompt_box_alone_is_not_idle() -> None:
    """Claude Code draws the box while busy too: with no footer or marker that says
    idle, a screen no pattern can name is unknown, never idle (nothing gets typed)."""
    assert detect(claude_screen("⏺ Working on it.", footer=""), "claude-code").state == "unknown"
    assert detect(claude_screen("⏺ Working on it.", footer="  something new · ← for agents"),
                  "claude-code").state == "unknown"


def test_busy_footer_wins_over_an_idle_looking_transcript() -> None:
    retrying = claude_screen("❯ fail 529\n\n✻ API error · Retrying in 9s · attempt 5/10",
                             footer="  esc to interrupt · ← for agents")
    assert detect(retrying, "claude-code").state == "working"
    assert detect(claude_screen("❯ fail 529\n\n✻ API error · Retrying in 9s · attempt 5/10"),
                  "claude-code").state == "working"


def test_an_error_of_an_earlier_turn_is_history() -> None:
    stale = ("❯ hi\n  ⎿  Invalid API key · Fix external API key\n\n❯ again\n\n● echo: again\n\n"
             "✻ Churned for 0s")
    assert detect(claude_screen(stale), "claude-code").state == "idle"
    assert detect(claude_screen(stale.split("\n\n❯ again")[0]), "claude-code").state == "error:auth"
    credit = "❯ hi\n  ⎿  Credit balance too low · Add funds: https://example.invalid/billing"
    assert detect(claude_screen(credit), "claude-code").state == "error:usage-limit"


def test_draft_in_the_box_reads_idle() -> None:
    screen = claude_screen("● Done.", footer="", box_text="half a thought")
    assert detect(screen, "claude-code").state == "idle"


def test_numbered_dialog_is_permission_not_question() -> None:
    dialog = (f"⏺ Cleaning up.\n\n{RULE}\n Bash command\n\n   rm -rf build\n\n"
              " Do you want to proceed?\n ❯ 1. Yes\n   2. Yes, and don't ask again for rm commands\n"
              "   3. No, and tell Claude what to do differently (esc)\n\n Esc to cancel\n")
    found = detect(dialog, "claude-code")
    assert found == Detection("waiting:permission", found.reason, None)
    assert "permission dialog" in found.reason


def test_proceed_question_in_prose_is_a_question_not_a_dialog() -> None:
    asked = claude_screen("⏺ The migration drops two columns. Do you want to proceed?")
    found = detect(asked, "claude-code")
    assert found.state == "waiting:question"
    assert found.question == "The migration drops two columns. Do you want to proceed?"


def test_trust_screen_needs_a_keypress() -> None:
    trust = (f"{RULE}\n Do you trust the files in this folder?\n\n /home/dev/shop\n\n"
             " ❯ 1. Yes, proceed\n   2. No, exit\n\n Enter to confirm · Esc to exit\n")
    found = detect(trust, "claude-code", "claude")
    assert found.state == "waiting:permission" and "trust" in found.reason


def test_question_is_only_the_last_message() -> None:
    screen = claude_screen("⏺ Which port should I use?\n\n> 8080\n\n⏺ Using 8080. Tests pass.")
    assert detect(screen, "claude-code").state == "idle"


def test_agent_back_at_a_shell_has_exited() -> None:
    assert detect(claude_screen("⏺ Done."), "claude-code", "bash").state == "exited"
    assert detect(claude_screen("⏺ Done."), "claude-code", "claude").state == "idle"


def test_unknown_agent_and_empty_pane() -> None:
    assert detect("anything", "unknown").state == "unknown"
    assert detect("\n\n", "claude-code").reason == "empty pane"


def test_guess_agent_by_command_and_shell_fallback() -> None:
    assert guess_agent("", "claude") == "claude-code"
    assert guess_agent("", "codex") == "codex"
    assert guess_agent("dev@box:~$ ls\nREADME\ndev@box:~$ ", "bash") == "shell"
    assert guess_agent("dev@box:~$ ", None) == "shell"
    assert guess_agent("✻ Welcome to Claude Code!\n⏺ Bye", "bash") == "claude-code"
    assert guess_agent("✻ breakroom sim-agent · alice\n⏺ hi", "python3") == "sim"
    assert guess_agent("some program output", "top") == "unknown"


# ---------------------------------------------------------------- stability


def test_idle_counts_only_after_two_identical_captures() -> None:
    stability = IdleStability()
    first = claude_screen("⏺ Done.")
    streamed = claude_screen("⏺ Done. One more thing:")

    def see(session: str, text: str) -> str:
        return stability.observe(session, text, detect(text, "claude-code")).state

    assert see("alice", first) == "working"          # nothing to compare with yet
    assert see("alice", streamed) == "working"       # changed since the last capture
    assert see("alice", streamed + "  \n") == "idle"  # same screen (trailing blanks ignored)
    assert see("bob", streamed) == "working"         # sessions are tracked apart
    busy = claude_screen("✻ Pondering… (1s · esc to interrupt)")
    assert see("alice", busy) == "working"
    stability.forget("alice")
    assert see("alice", streamed) == "working"



# ---------------------------------------------------------------- profile files


@pytest.mark.parametrize("text, message", [
    ("rules:\n  - state: idle\n  - state: sleepy\n",
     "bad.yaml:3: rules[1].state: expected one of working, idle"),
    ("rules:\n  - state: idle\n    region: middle\n",
     'bad.yaml:3: rules[0].region: expected screen, input, footer, tail:N, above_input:N or turn:N, '
     'got "middle"'),
    ("input:\n  prompt: '^❯'\n  within: 3\n",
     "bad.yaml:3: input.within: unknown key (known keys here: completion, draft, echo, prompt,"),
    ("identify:\n  - 'ok'\n  - '(unclosed'\n", "bad.yaml:3: identify[1]: bad regex: missing )"),
    ("description: x\nquestion:\n  asks: 7\n", "bad.yaml:3: question.asks: expected a regex string, got 7"),
])
def test_bad_profiles_name_file_line_and_key(tmp_path, text, message):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(BreakroomError) as err:
        read_profile(tmp_path, "bad")
    assert str(err.value).startswith(f"{tmp_path}/{message}")


def test_a_profile_extends_another(tmp_path):
    (tmp_path / "base.yaml").write_text("commands: [base]\nidentify: ['Base UI']\n"
                                        "rules:\n  - {state: idle, input: true}\n")
    (tmp_path / "child.yaml").write_text("extends: base\ncommands: [child]\nidentify: ['Child v\\d']\n"
                                         "prepend_rules:\n  - {state: working, any: ['busy']}\n")
    (tmp_path / "loop.yaml").write_text("extends: loop\n")
    child = build_profile("child", read_profile(tmp_path, "child"))
    assert child.commands == frozenset({"child"})
    assert [p.pattern for p in child.identify] == ["Child v\\d", "Base UI"]
    assert [r.state for r in child.rules] == ["working", "idle"]
    (tmp_path / "a.yaml").write_text("extends: b\n")
    (tmp_path / "b.yaml").write_text("extends: a\n")
    with pytest.raises(BreakroomError, match="extends loops through 'a'"):
        read_profile(tmp_path, "a")
    with pytest.raises(BreakroomError, match="extends 'loop', but no profile of that name comes after it"):
        read_profile(tmp_path, "loop")
