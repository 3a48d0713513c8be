"""Property-based tests (hypothesis) for the addressing parser every bot command passes through."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from bots.base import addressed_text
from support.strategies import nicks


@given(nick=nicks, text=st.text(max_size=200), sep=st.sampled_from([":", ",", " :", ": "]),
       upper=st.booleans())
def test_a_line_starting_with_the_nick_is_addressed(nick: str, text: str, sep: str, upper: bool) -> None:
    bot = SimpleNamespace(nick=nick)
    said = (nick.upper() if upper else nick) + sep + text
    assert addressed_text(bot, "#breakroom", said) == text.strip()


@given(nick=nicks, other=nicks, text=st.text(max_size=200))
def test_a_line_for_another_nick_is_not(nick: str, other: str, text: str) -> None:
    bot = SimpleNamespace(nick=nick)
    if other.lower() == nick.lower():
        return
    assert addressed_text(bot, "#breakroom", f"{other}: {text}") is None
    assert addressed_text(bot, other, text) is None  # a private message to someone else


@given(nick=nicks, text=st.text(max_size=200))
def test_private_messages_are_addressed_and_ctcp_never(nick: str, text: str) -> None:
    bot = SimpleNamespace(nick=nick)
    assert addressed_text(bot, nick, text) == (None if text.startswith("\x01") else text.strip())
    assert addressed_text(bot, "#breakroom", f"\x01ACTION {nick}: {text}\x01") is None
