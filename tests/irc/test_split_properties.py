"""Property-based tests (hypothesis) for the splitter every IRC line passes through."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from breakroom.irc.split import split_message
from support.strategies import nicks

# what a server relays to others: ":nick!~user@host PRIVMSG target :text\r\n", at its longest
LONGEST_PREFIX = ":" + "n" * 31 + "!~" + "u" * 18 + "@" + "h" * 63
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
