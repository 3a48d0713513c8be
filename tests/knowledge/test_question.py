"""What the sweep asks knowledge: the sentences that ask, cut from real agent screens, and a
lead-in that never lowers the confidence of a question the corpus answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from breakroom.config import KnowledgeConfig
from breakroom.fleet.panestate import detect, question_asks
from breakroom.knowledge.engine import KnowledgeEngine
from breakroom.knowledge.question import AskedQuestion, sentences, split_question

PANES = Path(__file__).resolve().parents[1] / "fixtures" / "panes"
# every screen of an agent waiting on a question, whatever agents and releases are captured
WAITING = sorted(PANES.glob("*/waiting-question/*.txt"))
BARE = "How often does the sweep walk the fleet?"
LEAD_INS = ["I looked into it. Before I go on: ", "I checked the notes. ",
            "I read reference/sweep.md and the operating guide, and the notes disagree on one "
            "thing. "]


def read_screen(path: Path) -> tuple[str, dict]:
    text = path.read_text(encoding="utf-8")
    if text.startswith("---\n"):
        front, _, text = text[4:].partition("\n---\n")
        return text, yaml.safe_load(front) or {}
    return text, {}


def asked_on_screen(text: str, agent: str, command: str | None = None) -> AskedQuestion:
    found = detect(text, agent, command)
    assert found.state == "waiting:question", found.reason
    assert found.question is not None
    return split_question(found.question, question_asks(agent))


@pytest.mark.parametrize("message, question, context", [
    ("I looked into it. Before I go on: How often does the sweep walk the fleet?",
     BARE, "I looked into it. Before I go on:"),
    ("I checked the notes. How often does the sweep walk the fleet?", BARE, "I checked the notes."),
    ("I read posts/pricing.md and the voice guide. Before I write the copy: the notes disagree "
     "on one thing. Should the workshop be priced per seat or per cohort?",
     "Should the workshop be priced per seat or per cohort?",
     "I read posts/pricing.md and the voice guide. Before I write the copy: the notes disagree "
     "on one thing."),
    ("Which branch? Main or the release branch?", "Which branch? Main or the release branch?", ""),
    ("The tests use e.g. Celery. Which broker should they use?",
     "Which broker should they use?", "The tests use e.g. Celery."),
    ("Should I deploy now", "Should I deploy now", ""),  # the profile said it asks: all of it
    ("I checked. One thing: how many seats are left?", "how many seats are left?",
     "I checked. One thing:"),
])
def test_the_sentences_that_ask_are_the_question(message, question, context):
    asked = split_question(message)
    assert (asked.question, asked.context) == (question, context)
    assert " ".join(asked.message.split()) == " ".join(message.split())


def test_sentences_do_not_break_inside_file_names_or_lower_case_lead_ins():
    assert sentences("It has docker-compose.yml (Postgres 16) and a sqlite file. Which one?") == [
        "It has docker-compose.yml (Postgres 16) and a sqlite file.", "Which one?"]
    assert sentences("Before I write: the notes disagree. Why?") == [
        "Before I write: the notes disagree.", "Why?"]


@pytest.mark.parametrize("path", WAITING, ids=lambda p: str(p.relative_to(PANES)))
def test_every_real_waiting_screen_yields_the_sentence_that_asks(path):
    """Over every captured screen of every agent: the question is the asking sentence(s) of
    the message the profile cut, and nothing of the message is lost."""
    agent = path.parent.parent.name
    text, front = read_screen(path)
    asked = asked_on_screen(text, agent, front.get("command"))
    asks = question_asks(agent)
    assert asked.question and all(asks.search(s) for s in sentences(asked.question))
    assert not any(asks.search(s) for s in sentences(asked.context))
    message = detect(text, agent, front.get("command")).question or ""
    assert " ".join(asked.message.split()) == " ".join(message.split())


@pytest.mark.parametrize("name, question", [
    ("claude-code/waiting-question/2.1.197-auto-question.txt",
     "Which database should I use, sqlite or postgres?"),
    ("claude-code/waiting-question/2.1.332-manual-question-after-tool-call.txt",
     "Which database should I use, sqlite or postgres?"),
    ("claude-code/waiting-question/pricing.txt",
     "Should the workshop be priced per seat or per cohort?"),
    ("codex/waiting-question/0.171.0-after-tool-call.txt",
     "Which database should I use, sqlite or postgres?"),
    ("gemini/waiting-question/0.61.0-plain.txt", "Which database should I use, sqlite or postgres?"),
    ("aider/waiting-question/0.86.2-plain.txt", "Which database should I use, sqlite or postgres?"),
])
def test_the_question_behind_each_agents_preamble(name, question):
    path = PANES / name
    text, front = read_screen(path)
    assert asked_on_screen(text, path.parent.parent.name, front.get("command")).question == question


@pytest.mark.parametrize("lead_in", LEAD_INS)
@pytest.mark.parametrize("path", WAITING, ids=lambda p: str(p.relative_to(PANES)))
def test_every_real_waiting_screen_asking_behind_a_lead_in_yields_the_bare_question(path, lead_in):
    """Each agent's real screen with its question put behind a lead-in, as the agent would
    write it (the message's last line gets the lead-in in front)."""
    agent = path.parent.parent.name
    text, front = read_screen(path)
    question = asked_on_screen(text, agent, front.get("command")).question
    last = question.split()[0]
    at = text.rindex(last)  # where the question's last line begins to ask
    led = text[:at] + lead_in + text[at:]
    assert asked_on_screen(led, agent, front.get("command")).question == question


def real_screen_asking(message: str) -> str:
    """The real Claude Code 2.1.197 screen (auto mode) with the agent's last message
    replaced by ``message``, wrapped as Claude Code wraps it."""
    text, _ = read_screen(PANES / "claude-code/waiting-question/2.1.197-auto-question.txt")
    head, _, tail = text.rpartition("● Which database should I use, sqlite or postgres?")
    words, lines, line = message.split(), [], "●"
    for word in words:
        if len(line) + 1 + len(word) > 118:
            lines.append(line)
            line = " "
        line += " " + word
    return head + "\n".join([*lines, line]) + tail


@pytest.fixture
def engine(shipped_db):
    return KnowledgeEngine(shipped_db, KnowledgeConfig(backend="offline"))


@pytest.mark.parametrize("lead_in", LEAD_INS)
def test_a_lead_in_never_lowers_the_confidence_of_a_question_the_corpus_answers(engine, lead_in):
    bare = engine.retrieve(BARE)
    asked = asked_on_screen(real_screen_asking(lead_in + BARE), "claude-code", "claude")
    assert asked.question == BARE
    found = engine.retrieve_asked(asked.question, asked.context)
    assert found.confidence >= bare.confidence
    assert found.result.hits[0].anchor == bare.result.hits[0].anchor
    whole = engine.retrieve(lead_in + BARE)  # what the sweep asked before
    assert found.confidence >= whole.confidence


def test_a_question_that_does_not_name_its_topic_is_asked_with_its_context(engine):
    question = "What is the limit?"  # one content word: the context says what about
    alone = engine.retrieve(question)
    found = engine.retrieve_asked(question, "I am setting up ngircd and its connections per IP.")
    assert found.confidence > alone.confidence
    assert found.result.hits[0].path == "reference/ircd.md"
    # a question that names its topic stands alone: its context neither lowers nor lifts it
    named = engine.retrieve_asked(BARE, "I am setting up ngircd and its connections per IP.")
    assert named.confidence == pytest.approx(engine.retrieve(BARE).confidence)


def test_the_engine_records_the_question_not_the_lead_in(engine):
    answer = engine.ask("[q1] " + BARE, "sweep", context="I checked the notes.")
    assert answer.question == BARE and answer.request_id == "q1"
    assert answer.confidence == pytest.approx(engine.retrieve(BARE).confidence)
