"""An agent's reply to the sweep's typed answer: cut from the screen after what was typed,
and read for a rejection."""

from __future__ import annotations

from pathlib import Path

import pytest

from breakroom.fleet.panestate import reply_after
from breakroom.knowledge.verdict import rejects
from breakroom.sweep.walk import ANSWER_HEAD, answer_text

PANES = Path(__file__).resolve().parents[1] / "fixtures" / "panes"
TYPED = answer_text(0.78, "The sweep walks the fleet every 60 seconds. — sources: "
                          "reference/sweep.md#Walks", 400)


@pytest.mark.parametrize("reply", [
    "That answer is outdated: the interval is configured per host now. I'll check the config.",
    "Thanks, but that's not what I asked — I need the permission policy.",
    "This doesn't answer the question about cohorts, so I'll wait for a human.",
    "I don't think that's right; the docs say 30 seconds.",
    "The sweep's answer contradicts the notes in reference/sweep.md.",
    "That’s incorrect, the pricing moved to cohorts.",
])
def test_replies_that_reject_the_answer(reply):
    assert rejects(reply)


@pytest.mark.parametrize("reply", [
    "Thanks — switched to cohort pricing. Writing the copy now.",
    "Got it, 60 seconds. Updating the test.",
    "The test was wrong, so I fixed the assertion.",  # about its own work, not the answer
    "Is that right for production too?",
])
def test_replies_that_do_not(reply):
    assert not rejects(reply)


def claude_screen(*turn: str) -> str:
    """The real Claude Code 2.1.197 screen (auto mode) with the sweep's answer typed into
    it and ``turn`` below (nothing: the agent is still on it)."""
    text = (PANES / "claude-code/waiting-question/2.1.197-auto-question.txt").read_text(
        encoding="utf-8")
    text = text[4:].partition("\n---\n")[2]
    lines = text.split("\n")
    box = max(i for i, line in enumerate(lines[:-1])  # the rule line above the input prompt
              if line.startswith("────") and lines[i + 1].startswith("❯"))
    typed = f"❯ [breakroom #4] sweep: {TYPED}"
    return "\n".join([*lines[:box], typed[:118], "  " + typed[118:], "", *turn, *lines[box:]])


def test_the_reply_is_the_agents_turn_below_the_typed_answer():
    screen = claude_screen("● That answer is outdated: the interval is per host now.",
                           "  I'll read the config instead.", "", "✻ Baked for 2s", "")
    reply = reply_after(screen, "claude-code", ANSWER_HEAD)
    assert reply == "That answer is outdated: the interval is per host now. I'll read the config instead."
    assert rejects(reply)


def test_no_reply_yet_when_the_agent_has_not_written():
    assert reply_after(claude_screen(), "claude-code", ANSWER_HEAD) is None
    assert reply_after(claude_screen("● Got it."), "claude-code", "[nothing typed]") is None
