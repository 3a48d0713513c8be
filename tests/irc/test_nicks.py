"""Session names become IRC-legal, unique, stable nicks."""

import pytest

from breakroom.irc.nicks import MAX_NICK, SERVICE_NICKS, assign_nicks, base_nick, irc_lower, is_legal


@pytest.mark.parametrize("session,nick", [
    ("alice", "alice"),
    ("my.proj", "my_proj"),
    ("0", "s0"),
    ("-x", "s-x"),
    ("übung", "ubung"),
    ("a b:c", "a_b_c"),
    ("[dev]", "[dev]"),
])
def test_base_nick(session, nick):
    assert base_nick(session) == nick
    assert is_legal(nick)


def test_long_names_are_cut_to_31():
    nick = base_nick("x" * 80)
    assert len(nick) == MAX_NICK and is_legal(nick)


def test_unrepresentable_name_gets_a_hash_nick():
    nick = base_nick("🚀🚀")
    assert is_legal(nick) and nick.startswith("s") and nick == base_nick("🚀🚀")
    assert nick != base_nick("🚀")


def test_collision_exact_name_wins_and_other_gets_stable_suffix():
    nicks = assign_nicks(["my.proj", "my_proj"])
    assert nicks["my_proj"] == "my_proj"
    assert nicks["my.proj"].startswith("my_proj-") and len(nicks["my.proj"]) == len("my_proj-") + 4
    # deterministic regardless of order and across calls
    assert assign_nicks(["my_proj", "my.proj"]) == nicks


def test_collision_is_case_insensitive_rfc1459():
    nicks = assign_nicks(["Dev", "dev", "{x}", "[x]"])
    assert len({irc_lower(n) for n in nicks.values()}) == 4


def test_service_nicks_are_never_given():
    nicks = assign_nicks([*sorted(SERVICE_NICKS), "Scribe"])
    for nick in nicks.values():
        assert irc_lower(nick) not in SERVICE_NICKS
        assert is_legal(nick)


def test_long_collision_suffix_still_fits():
    a, b = "p" * 40 + ".a", "p" * 40 + ".b"
    nicks = assign_nicks([a, b])
    assert nicks[a] != nicks[b]
    assert all(len(n) <= MAX_NICK and is_legal(n) for n in nicks.values())


def test_running_bots_keep_their_nick():
    first = assign_nicks(["my.proj"])
    assert first == {"my.proj": "my_proj"}
    # a session literally named my_proj appears later: the running bot is not renamed
    later = assign_nicks(["my.proj", "my_proj"], current=first)
    assert later["my.proj"] == "my_proj"
    assert later["my_proj"].startswith("my_proj-")


def test_host_nicks_carry_the_host_within_31_chars() -> None:
    long = "a-very-long-session-name-for-the-build"
    nicks = assign_nicks(["worker", "my.proj", "my_proj", long, "scribe"], host="buildbox")
    assert nicks["worker"] == "worker-buildbox" and nicks["my_proj"] == "my_proj-buildbox"
    assert nicks["my.proj"].startswith("my_proj-") and nicks["my.proj"].endswith("-buildbox")
    assert nicks["scribe"] == "scribe-buildbox"  # no longer a service nick
    assert all(len(n) <= 31 for n in nicks.values()) and nicks[long].endswith("-buildbox")
    assert len(set(nicks.values())) == len(nicks)
