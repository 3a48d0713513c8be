"""The check-in digest over a real record: addressed-first, noteworthy lines, marks."""


from breakroom.record import events as record
from breakroom.record.events import Event
from breakroom.work import digest


def say(db, nick, text, *, channel="#breakroom", target=None, kind="PRIVMSG", replay=False):
    record.append(db, [Event(nick=nick, kind=kind, text=text, channel=channel, target=target,
                             replay=replay).values()])


def texts(events):
    return [e["text"] for e in events]


def test_addressed_lines_first_then_noteworthy_and_nothing_else(db):
    say(db, "bob", "lunch anyone?")
    say(db, "bob", "fixed: stripe retries need idempotency keys")
    say(db, "carol", "shop: can you check the webhook?")
    say(db, "dave", "private note for you", channel=None, target="shop")
    say(db, "dave", "private for someone else", channel=None, target="blog")
    say(db, "shop", "I decided to ship")  # its own line
    say(db, "carol", "we decided: no more mocks in tests")
    say(db, "dispatcher", "[queue] carol moved #3 to done — fixed")  # service chatter
    say(db, "erin", "careful, the db migration broke staging", replay=True)  # replayed history
    record.append(db, [Event(nick="erin", kind="JOIN", channel="#breakroom").values()])
    result = digest.build(db, "shop")
    assert texts(result.addressed) == ["shop: can you check the webhook?", "private note for you"]
    assert texts(result.shared) == ["fixed: stripe retries need idempotency keys",
                                    "we decided: no more mocks in tests"]
    lines = result.lines()
    assert lines[1] == "For you:"
    assert lines.index("Shared (decisions, fixes, warnings):") > lines.index("For you:")
    assert any("<dave> (private) private note for you" in line for line in lines)


def test_addressing_is_by_prefix_only(db):
    say(db, "carol", "Shop, the deploy broke")
    say(db, "carol", "hey shop, ping")
    result = digest.build(db, "shop")
    assert texts(result.addressed) == ["Shop, the deploy broke"]
    assert texts(result.shared) == []


def test_the_mark_excludes_what_the_session_already_saw(db):
    say(db, "bob", "shop: first question")
    first = digest.for_session(db, "shop", "shop")
    assert texts(first.addressed) == ["shop: first question"]
    say(db, "bob", "shop: second question")
    say(db, "bob", "warning: do not run the migration twice")
    peek = digest.for_session(db, "shop", "shop", peek=True)
    assert texts(peek.addressed) == ["shop: second question"]
    second = digest.for_session(db, "shop", "shop")
    assert texts(second.addressed) == ["shop: second question"]
    assert texts(second.shared) == ["warning: do not run the migration twice"]
    assert "your last check-in" in second.since
    third = digest.for_session(db, "shop", "shop")
    assert third.lines() == [f"Nothing new since {third.since}."]
    assert set(digest.checkin_times(db)) == {"shop"}


def test_since_overrides_the_mark_and_a_human_gets_shared_lines_only(db):
    say(db, "bob", "shop: old question")
    digest.for_session(db, "shop", "shop")
    again = digest.for_session(db, "shop", "shop", since="1h")
    assert texts(again.addressed) == ["shop: old question"]
    say(db, "bob", "fix: bump the pool size")
    human = digest.for_session(db, None, None)
    assert texts(human.addressed) == [] and texts(human.shared) == ["fix: bump the pool size"]
    assert digest.last_mark(db, "shop")[0] == 1  # a human's read moves no session's mark


def test_long_digests_are_compact(db):
    for i in range(15):
        say(db, "bob", f"shop: question {i} " + "x" * 300)
    result = digest.build(db, "shop", max_addressed=10)
    assert len(result.addressed) == 10 and result.more_addressed == 5
    assert texts(result.addressed)[0].startswith("shop: question 5 ")
    lines = result.lines()
    assert lines[0].startswith("Since the beginning: 15 for you")
    assert all(len(line) < 220 for line in lines)
    assert "(+5 older" in lines[-1]


def test_repeated_lines_appear_once(db):
    for _ in range(3):
        say(db, "bob", "heads-up: CI is red on main")
    assert texts(digest.build(db, "shop").shared) == ["heads-up: CI is red on main"]
