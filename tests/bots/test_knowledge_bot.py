"""The knowledge bot over a real ircd, asked by raw IRC clients."""

from __future__ import annotations

import re
import threading

import pytest

from breakroom.knowledge import engine as knowledge
from breakroom.record.db import db_path, open_db
from support.knowledge_stub import Stub
from support.wait import wait_until

# A small corpus of its own keeps start-up (ingest + embedding) to a second or two.
DOCS = {
    "pricing.md": "# Pricing\n\n## Workshops\n\nWe price the workshop by cohort: every cohort of twelve "
                  "people pays a flat fee of 9000 euros, whatever the season.\n",
    "deploys.md": "# Deploys\n\n## Schedule\n\nProduction deploys happen on Tuesdays and Thursdays "
                  "before noon; never on a Friday.\n",
    "rollbacks.md": "# Rollbacks\n\n## When\n\nRoll back at once when the error rate doubles; "
                    "investigate afterwards.\n",
    "invoices.md": "# Invoices\n\n## Terms\n\nInvoices are payable within thirty days; reminders go "
                   "out after forty days.\n",
    "backups.md": "# Backups\n\n## Retention\n\nDatabase backups run nightly and are kept for "
                  "ninety days in a second region.\n",
    "onboarding.md": "# Onboarding\n\n## First week\n\nA new colleague pairs with a mentor for "
                     "the whole first week.\n",
    "hiring.md": "# Hiring\n\n## Interviews\n\nEvery candidate has two interviews and one paid "
                 "take-home exercise.\n",
    "security.md": "# Security\n\n## Keys\n\nAPI keys are rotated every quarter and never pasted "
                   "into chat.\n",
    "support.md": "# Support\n\n## Hours\n\nSupport answers between nine and five, Monday to "
                  "Friday, within four hours.\n",
    "releases.md": "# Releases\n\n## Notes\n\nEvery release ships with notes written for "
                   "customers, not for engineers.\n",
    "meetings.md": "# Meetings\n\n## Standup\n\nThe daily standup is fifteen minutes at "
                   "half past nine.\n",
    "atelier.md": "# Atelier\n\n## Tarifs des cohortes\n\n"
                  "Le tarif de l'atelier dépend de la cohorte : la cohorte d'été paie mille deux cents "
                  "euros par personne, repas et supports compris, pour six semaines de séances. "
                  "Le tarif de l'atelier pour la cohorte d'hiver est plus élevé, mille quatre cents "
                  "euros, parce que la cohorte d'hiver reçoit un entretien individuel à mi-parcours. "
                  "Le tarif de l'atelier pour la cohorte de printemps est réduit de moitié pour les "
                  "associations, à condition que la cohorte compte au moins huit participants.\n",
}


@pytest.fixture
def small_corpus(tmp_path):
    root = tmp_path / "kb"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def knowledge_app(ircd, running_app, small_corpus):
    return running_app(ircd, services=("knowledge",),
                       knowledge={"backend": "offline", "rate_limit_per_minute": 4,
                                  "corpus": [str(small_corpus)]})


def reply_re(channel: str, asker: str) -> str:
    return rf"^:knowledge!\S+ PRIVMSG {re.escape(channel)} :{asker}: "


def test_questions_over_irc(ircd, irc_client, knowledge_app):
    alice = irc_client(ircd, "alice")
    chan = ircd.channel

    # an answerable question with a request id: confidence and sources, id echoed
    alice.say(chan, "knowledge: [q1a2] how do we price the workshop?")
    line = alice.wait_for(reply_re(chan, "alice") + r"\[q1a2\] \(confidence [01]\.\d\d\) ", timeout=60)
    assert "9000 euros" in line and "— sources: pricing.md#Workshops" in line
    confidence = float(re.search(r"\(confidence (\d\.\d\d)\)", line).group(1))
    assert confidence >= 0.35

    # an unanswerable question: I don't know, with the nearest sources
    alice.say(chan, "knowledge, what is the recipe for sourdough bread?")
    line = alice.wait_for(reply_re(chan, "alice") + r"\(confidence 0\.\d\d\) I don't know\.")
    assert "— nearest sources: " in line

    # a private message is answered privately
    alice.say("knowledge", "on which days do production deploys happen?")
    line = alice.wait_for(r"^:knowledge!\S+ PRIVMSG alice :alice: \(confidence")
    assert "Tuesdays" in line and "deploys.md#Schedule" in line

    # a long answer is split into at most 3 lines that fit IRC and whole UTF-8 characters
    alice.say(chan, "knowledge: [q9b8] comment le tarif de l'atelier dépend-il de la cohorte ?")
    first = alice.wait_for(reply_re(chan, "alice") + r"\[q9b8\] ")
    rest = []
    if "sources: " not in first:
        rest.append(alice.wait_for(rf"^:knowledge!\S+ PRIVMSG {re.escape(chan)} :", timeout=5))
        if "sources: " not in rest[-1]:
            rest.append(alice.wait_for(rf"^:knowledge!\S+ PRIVMSG {re.escape(chan)} :", timeout=5))
    lines = [first, *rest]
    assert len(lines) >= 2, "the long answer should need more than one line"
    assert "sources: atelier.md#Tarifs des cohortes" in "".join(lines)
    for raw in lines:
        assert len(raw.encode("utf-8")) + 2 <= 512
        assert "\ufffd" not in raw  # never split inside a character


def test_concurrent_askers_each_get_their_own_answer(ircd, irc_client, knowledge_app):
    alice = irc_client(ircd, "alice")
    bob = irc_client(ircd, "bob")
    chan = ircd.channel
    threads = [
        threading.Thread(target=alice.say, args=(chan, "knowledge: [qa11] how long are backups kept?")),
        threading.Thread(target=bob.say,
                         args=(chan, "!ask [qb22] how many interviews does a candidate have?")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a = alice.wait_for(reply_re(chan, "alice") + r"\[qa11\] \(confidence", timeout=60)
    b = bob.wait_for(reply_re(chan, "bob") + r"\[qb22\] \(confidence", timeout=60)
    assert "ninety days" in a and "backups.md#" in a
    assert "two interviews" in b and "hiring.md#" in b

    db = open_db(db_path(knowledge_app.config.data_path))
    stats = knowledge.stats(db)
    assert stats.questions == 2 and stats.askers == 2


def test_rate_limit_per_asker(ircd, irc_client, knowledge_app):
    carol = irc_client(ircd, "carol")
    dave = irc_client(ircd, "dave")
    chan = ircd.channel
    for i in range(5):
        carol.say(chan, f"knowledge: [qc{i:02d}] when is the daily standup?")
    carol.wait_for(r"NOTICE carol :carol: at most 4 questions a minute", timeout=60)
    for i in range(4):  # answered concurrently: in any order
        carol.wait_for(reply_re(chan, "carol") + rf"\[qc0{i}\] ", timeout=60, since_start=True)
    # another asker is not affected by carol's limit
    dave.say(chan, "knowledge: [qd01] when is the daily standup?")
    dave.wait_for(reply_re(chan, "dave") + r"\[qd01\] ")
    assert not carol.seen(r"\[qc04\] \(confidence")


def test_a_slow_claude_answer_does_not_block_other_askers(ircd, irc_client, running_app,
                                                         small_corpus, monkeypatch):
    stub = Stub()
    stub.delays = {"workshop": 3.0}
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.url)
    try:
        running_app(ircd, services=("knowledge",),
                    knowledge={"backend": "auto", "timeout": 10, "model": "claude-sonnet-4-6",
                               "corpus": [str(small_corpus)]})
        alice = irc_client(ircd, "alice")
        bob = irc_client(ircd, "bob")
        chan = ircd.channel
        alice.say(chan, "knowledge: [qs01] how do we price the workshop?")
        wait_until(lambda: stub.requests, 30, "the slow question reaching Claude")
        bob.say(chan, "knowledge: [qf02] on which days do production deploys happen?")
        bob.wait_for(reply_re(chan, "bob") + r"\[qf02\] \(confidence", timeout=30)
        assert not bob.seen(r"\[qs01\] \(confidence")  # the slow one is still being written
        slow = alice.wait_for(reply_re(chan, "alice") + r"\[qs01\] \(confidence", timeout=30)
        assert stub.answer_text in slow and "pricing.md#" in slow
        assert len(stub.requests) == 2
    finally:
        stub.close()


def test_ask_command_in_a_private_message_is_answered_once(ircd, irc_client, knowledge_app):
    alice = irc_client(ircd, "alice")
    alice.say("knowledge", "!ask [qp01] when is the daily standup?")
    line = alice.wait_for(r"^:knowledge!\S+ PRIVMSG alice :alice: \[qp01\] \(confidence", timeout=60)
    assert "half past nine" in line
    alice.say("knowledge", "!ask [qp02] how long are backups kept?")  # a later marker
    alice.wait_for(r"^:knowledge!\S+ PRIVMSG alice :alice: \[qp02\] ", timeout=30)
    assert len(alice.seen(r"\[qp01\] \(confidence")) == 1


def test_operators_judge_answers_and_others_cannot(ircd, irc_client, knowledge_app):
    alice = irc_client(ircd, "alice")
    op = irc_client(ircd, "opal")
    chan = ircd.channel
    alice.say(chan, "knowledge: [qj01] how long are backups kept?")
    alice.wait_for(reply_re(chan, "alice") + r"\[qj01\] \(confidence", timeout=60)
    db = open_db(db_path(knowledge_app.config.data_path))
    ref = f"k{db.execute('SELECT max(id) FROM knowledge_answers').fetchone()[0]}"

    alice.say(chan, f"!wrong {ref}")  # not an operator: refused, nothing recorded
    alice.wait_for(r"NOTICE alice :alice: !wrong needs an IRC operator", timeout=30)
    op.send(f"OPER {ircd.config.ircd.oper_name} {ircd.config.ircd.oper_password}")
    op.wait_for(r" 381 opal ")
    op.say(chan, "!right k999999")
    op.wait_for(r"NOTICE opal :opal: no answer k999999 to judge", timeout=30)
    op.say(chan, f"!right {ref}")
    op.wait_for(rf"PRIVMSG {re.escape(chan)} :opal: noted, {ref} \(confidence \d\.\d\d\) was right",
                timeout=30)
    stats = knowledge.stats(db)
    assert stats.judged == 1 and stats.calibration[0][3] == 1.0
