"""The SQLite inbox: states, ordering, read flags — on a real database file."""

import re

from breakroom.fleet import inbox
from breakroom.record.db import open_db


def make_db(tmp_path):
    return open_db(tmp_path / "b.db")


def test_lifecycle_queued_delivered_failed(tmp_path):
    db = make_db(tmp_path)
    a = inbox.add(db, "s1", "alice", "hello", hops=2)
    b = inbox.add(db, "s1", "bob", "second")
    c = inbox.add(db, "s2", "bob", "elsewhere")
    assert [m.id for m in inbox.queued(db, "s1")] == [a, b]
    assert set(inbox.sessions_with_queued(db)) == {"s1", "s2"}
    inbox.begin_attempt(db, a)
    inbox.mark_delivered(db, a)
    inbox.mark_failed(db, b, "session gone")
    assert inbox.queued(db, "s1") == []
    got = inbox.get(db, a)
    assert (got.state, got.attempts, got.hops, got.sender) == ("delivered", 1, 2, "alice")
    assert got.delivered_at >= got.created
    assert inbox.get(db, b).reason == "session gone"
    assert inbox.get(db, c).state == "queued"
    assert inbox.get(db, 999) is None


def test_unread_first_and_mark_read(tmp_path):
    db = make_db(tmp_path)
    ids = [inbox.add(db, "s", "x", f"m{i}") for i in range(3)]
    inbox.mark_read(db, [ids[2]], "breakroom read")
    order = [m.id for m in inbox.for_session(db, "s")]
    assert order == [ids[1], ids[0], ids[2]]
    inbox.mark_read(db, ids, "breakroom inbox")
    assert all(m.read for m in inbox.for_session(db, "s"))
    assert [m.read_via for m in inbox.for_session(db, "s")] == ["breakroom read"] + ["breakroom inbox"] * 2


def test_a_read_is_told_once_to_a_sender_who_asked(tmp_path):
    db = make_db(tmp_path)
    quiet = inbox.add(db, "s", "a-session", "no notices for me", from_session="a")
    loud = inbox.add(db, "s", "alice", "tell me", notify=True)
    inbox.mark_read(db, [quiet, loud], "a turn")
    assert [m.id for m in inbox.reads_to_tell(db)] == [loud]
    inbox.told(db, loud)
    inbox.mark_read(db, [loud], "breakroom read")   # read again: nothing new to tell
    assert inbox.reads_to_tell(db) == [] and inbox.get(db, loud).read_via == "a turn"
    assert [m.id for m in inbox.sent_by(db, "a")] == [quiet]
    inbox.mark_delivered(db, loud, via="PostToolUse hook")
    assert re.fullmatch(r"delivered \d\d:\d\d:\d\d \(PostToolUse hook\) · read \d\d:\d\d:\d\d \(a turn\)",
                        inbox.get(db, loud).receipt())
    assert inbox.get(db, inbox.add(db, "s", "x", "waiting")).receipt() == "queued"


def test_messages_survive_reopening(tmp_path):
    db = make_db(tmp_path)
    mid = inbox.add(db, "s", "x", "persist me")
    db.conn.close()
    assert inbox.get(open_db(tmp_path / "b.db"), mid).text == "persist me"


def test_rename_moves_only_waiting_messages(tmp_path):
    db = make_db(tmp_path)
    waiting = inbox.add(db, "old", "x", "w", notify=True)
    done = inbox.add(db, "old", "x", "d")
    inbox.mark_delivered(db, done)
    inbox.rename_session(db, "old", "new")
    assert [m.id for m in inbox.queued(db, "new")] == [waiting]
    assert inbox.get(db, waiting).notify and not inbox.get(db, done).notify
    assert inbox.get(db, done).session == "old"


def test_interrupted_typing_is_found_with_how_far_it_got(tmp_path):
    db = make_db(tmp_path)
    typed = inbox.add(db, "s", "x", "half way")
    entered = inbox.add(db, "s", "x", "Enter pressed")
    waiting = inbox.add(db, "s", "x", "not started")
    held = inbox.add(db, "s", "x", "someone was typing")
    for message_id in (typed, entered, held):
        inbox.begin_attempt(db, message_id)
    inbox.mark_entered(db, entered)
    inbox.cancel_attempt(db, held)
    found = inbox.interrupted(db)
    assert [(m.id, m.entered is not None) for m in found] == [(typed, False), (entered, True)]
    inbox.requeue(db, entered)
    assert inbox.get(db, entered).attempts == 0 and inbox.get(db, entered).entered is None
    assert [m.id for m in inbox.interrupted(db)] == [typed]
    assert [m.id for m in inbox.queued(db, "s")] == [typed, entered, waiting, held]
