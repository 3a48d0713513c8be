"""Reading a human's draft from an input line: prompts, borders, placeholders, wide chars."""

import pytest

from breakroom.fleet.pane import PaneLook, typing_delay


def view(line: str, cursor_x: int) -> PaneLook:
    return PaneLook(lines=["some output", line, ""], cursor_x=cursor_x, cursor_y=1, in_mode=False)


@pytest.mark.parametrize("line,cursor_x,draft", [
    ("❯ ", 2, ""),
    ("❯ half typed", 12, "half typed"),
    ('│ > Try "refactor <filepath>"                  │', 4, ""),   # placeholder after the cursor
    ("│ > fix the build                              │", 17, "fix the build"),
    ("│ > Type your message or @path/to/file         │", 4, ""),   # gemini's placeholder
    ("› ", 2, ""),                                                  # codex
    ("> ", 2, ""),                                                  # aider
    ("aider> /add x.py", 16, "/add x.py"),
    ("user@host:~/src$ ", 17, ""),
    ("user@host:~/src$ ls -la", 23, "ls -la"),
    ("root@box:/# ", 12, ""),
    (">>> ", 4, ""),
    ("❯ 日本語", 8, "日本語"),                                       # wide characters: 2 cells each
    ("❯ 日本語", 4, "日"),
    ("", 0, ""),
])
def test_draft(line, cursor_x, draft):
    assert view(line, cursor_x).draft() == draft


def test_cursor_outside_the_screen_means_no_draft():
    assert PaneLook(lines=["❯ x"], cursor_x=3, cursor_y=5, in_mode=False).draft() == ""


def test_typing_delay_grows_with_length_and_is_capped():
    assert typing_delay("x", 0.3) == pytest.approx(0.3005)
    assert typing_delay("x" * 400, 0.3) == pytest.approx(0.5)
    assert typing_delay("x" * 100_000, 0.3) == pytest.approx(2.0)
