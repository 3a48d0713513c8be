"""Untrusted text: nothing that can drive a terminal survives, secrets never travel."""

import pytest

from breakroom.sanitize import REDACTED, one_line, sanitize, scrub_secrets, strip_controls

HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "\x03",
    "before\x1b[201~after",
    "\x1b[200~pasted\x1b[201~",
    "\x1b]0;title\x07text",
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\",
    "\x1bPqdcs-string\x1b\\x",
    "\x9b31mC1 csi",
    "bell\x07 backspace\x08 nul\x00 del\x7f",
    "\x1bc reset",
    "unterminated \x1b[",
    "\u202egnp.exe",
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_text_keeps_no_control_or_escape(raw):
    out = sanitize(raw)
    assert not any(ord(c) < 0x20 and c != "\n" for c in out)
    assert not any(0x7F <= ord(c) <= 0x9F for c in out)
    assert "\u202e" not in out
    assert "[201~" not in out and "[200~" not in out


def test_visible_text_survives_escape_removal():
    assert sanitize("\x1b[31mred\x1b[0m alert") == "red alert"
    assert sanitize("\x1b]0;title\x07text") == "text"
    assert sanitize("before\x1b[201~after") == "beforeafter"


def test_mirc_colour_codes_go_with_their_digits():
    assert sanitize("\x0304,12warning\x03 plain \x02bold\x02") == "warning plain bold"


def test_shell_metacharacters_are_plain_text():
    # nothing is executed by typing; the text itself is harmless and must stay readable
    assert sanitize("$(rm -rf ~)") == "$(rm -rf ~)"


def test_invalid_utf8_is_dropped_not_guessed():
    assert sanitize(b"ok \xff\xfe caf\xc3\xa9 \xc3") == "ok  café"


def test_lone_surrogates_are_dropped():
    assert sanitize("a\udcffb") == "ab"


def test_emoji_and_newlines_kept_and_normalised():
    assert sanitize("🙂" * 300) == "🙂" * 300
    assert sanitize("a\r\nb\rc\td") == "a\nb\nc d"


def test_one_line_flattens():
    assert one_line("a\nb\r\n  c") == "a b c"


def test_keep_newlines_false():
    assert strip_controls("a\nb", keep_newlines=False) == "a b"


@pytest.mark.parametrize("secret", [
    "sk-ant-api03-AbCdEf0123456789_xyz-ABCDEF",
    "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "AKIAIOSFODNN7EXAMPLE",
    "xoxb-123456789012-abcdefABCDEF",
    "AIzaSyA1234567890abcdefghijklmnopqrstuv",
])
def test_tokens_are_scrubbed(secret):
    out = scrub_secrets(f"use {secret} now")
    assert secret not in out
    assert out == f"use {REDACTED} now"


def test_labelled_secrets_keep_their_label():
    assert scrub_secrets("Authorization: Bearer abcdef0123456789") == \
        f"Authorization: Bearer {REDACTED}"
    assert scrub_secrets("password=hunter22 next") == f"password={REDACTED} next"
    assert scrub_secrets('API_KEY: "s3cr3tvalue"') == f'API_KEY: "{REDACTED}"'


def test_private_key_block_is_scrubbed():
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----"
    assert sanitize("key:\n" + pem + "\ndone") == f"key:\n{REDACTED}\ndone"


def test_ordinary_prose_is_untouched():
    text = "The password policy says: use a manager. Tokens rotate weekly; see sk-docs."
    assert scrub_secrets(text) == text
