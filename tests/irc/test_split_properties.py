"""Property-based tests (hypothesis) for what every IRC line passes through: the splitter
and the addressing parser."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from bots.base import addressed_text
from breakroom.irc.split import split_message

# what a server relays to others: ":nick!~user@host PRIVMSG target :text\r\n", at its longest
LONGEST_PREFIX = ":" + "n" * 31 + "!~" + "u" * 18 + "@" + "h" * 63
NICK_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789[]\\`_^{|}-"
nicks = st.text(NICK_CHARS, min_size=1, max_size=31).filter(lambda n: not n[0].isdigit() and n[0] != "-")
targets = st.one_of(nicks, nicks.map(lambda n: "#" + n))
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=3000)


def _without_whitespace(text: str) -> str:
    return "".join(text.split())


@settings(max_examples=300, deadline=None)
@given(text=texts, target=targets, kind=st.sampled_from(["PRIVMSG", "NOTICE"]))
def test_split_lines_fit_keep_characters_whole_and_lose_nothing(text: str, target: str,
                                                                kind: str) -> None:
    pieces = split_message(text, target, command=kind)
    for piece in pieces:
        line = f"{LONGEST_PREFIX} {kind} {target} :{piece}\r\n".encode()
        assert len(line) <= 512
        assert piece and "\n" not in piece and "\r" not in piece
        assert piece in text  # a whole run of the text's own characters: none cut in two
    assert _without_whitespace("".join(pieces)) == _without_whitespace(text)


@given(text=texts)
def test_split_of_a_multibyte_text_never_breaks_a_character(text: str) -> None:
    emoji = "🙂" * 300 + text
    for piece in split_message(emoji, "#breakroom"):
        piece.encode("utf-8")  # a lone surrogate or broken sequence would raise
        assert len(piece.encode()) <= 512


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
