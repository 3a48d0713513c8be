"""Property-based tests (hypothesis): the sanitizer leaves nothing that drives a terminal and
is idempotent; the scrubber lets no secret of any kind through any of its entry points; the
config loader answers every input with a Config or one ConfigError, never a traceback."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from breakroom import config
from breakroom import sanitize as sanitize_module
from breakroom.errors import ConfigError
from breakroom.sanitize import (
    one_line,
    remember_secret,
    sanitize,
    scrub_secrets,
    strip_controls,
)

# Characters that matter to a terminal or a reader, mixed into arbitrary text.
DANGEROUS = ("\x1b", "\x9b", "\x9d", "\x90", "\x07", "\x03", "\x04", "\x00", "\x08", "\r", "\n",
             "\t", "\x7f", "\x85", "\u202e", "\u2066", "\u200b", "\ufeff", "\u2028", "[", "]",
             "2", "0", "1", "~", "\\", ";", "P", "m")
hostile_text = st.lists(st.one_of(st.sampled_from(DANGEROUS), st.text(max_size=4)),
                        max_size=40).map("".join)

FORBIDDEN = set(map(chr, [*range(0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)])) | set(
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064"
    "\u2066\u2067\u2068\u2069\u2028\u2029\ufeff\ufff9\ufffa\ufffb")
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_inert(out: str) -> None:
    assert not FORBIDDEN & set(out), [hex(ord(c)) for c in FORBIDDEN & set(out)]
    assert "[200~" not in out and "[201~" not in out


@SETTINGS
@given(hostile_text)
def test_sanitized_text_is_inert_and_a_fixed_point(raw: str) -> None:
    for out in (strip_controls(raw), sanitize(raw), one_line(raw)):
        assert_inert(out)
    assert strip_controls(strip_controls(raw)) == strip_controls(raw)
    assert sanitize(sanitize(raw)) == sanitize(raw)
    assert one_line(one_line(raw)) == one_line(raw)
    assert "\n" not in one_line(raw)


@SETTINGS
@given(st.binary(max_size=64))
def test_any_bytes_decode_to_inert_text(raw: bytes) -> None:
    assert_inert(sanitize(raw))


# ---------------------------------------------------------------- secrets

ALNUM = string.ascii_letters + string.digits
body = st.text(ALNUM, min_size=24, max_size=40)
b64url = st.text(ALNUM + "_-", min_size=12, max_size=40)


def _labelled(name: str) -> st.SearchStrategy[tuple[str, str]]:
    """``NAME=value`` in shell, YAML, JSON and quoted forms; the value is the secret."""
    forms = ["{n}={v}", "export {n}={v}", "{n}: {v}", '"{n}": "{v}"', "{n}='{v}'", '{n}="{v}"',
             "{n} = {v}", "note: {n}={v}", "x=1,{n}={v}"]
    return st.tuples(st.sampled_from(forms), body).map(lambda fv: (fv[0].format(n=name, v=fv[1]), fv[1]))


env_names = st.sampled_from([
    "AWS_SECRET_ACCESS_KEY", "DATABASE_PASSWORD", "GITHUB_TOKEN", "API_KEY", "api_key", "password",
    "MY_APP_SECRET", "client_secret", "SLACK_BOT_TOKEN", "PGPASSWORD", "passwd", "DB_PWD",
    "STRIPE_SECRET_KEY", "private_key", "ACCESS_TOKEN", "apikey", "x-api-key", "Secret"])
secrets_of_every_kind: st.SearchStrategy[tuple[str, str]] = st.one_of(
    env_names.flatmap(_labelled),
    body.map(lambda b: (f"sk-ant-api03-{b}", b)),
    body.map(lambda b: (f"sk-proj-{b}", b)),
    body.map(lambda b: (f"ghp_{b}", b)),
    body.map(lambda b: (f"github_pat_{b}", b)),
    body.map(lambda b: (f"glpat-{b}", b)),
    st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(lambda b: (f"AKIA{b}", b)),
    body.map(lambda b: (f"xoxb-{b}", b)),
    st.text(ALNUM + "_-", min_size=35, max_size=35).map(lambda b: (f"AIza{b}", b)),
    body.map(lambda b: (f"sk_live_{b}", b)),
    st.text(ALNUM, min_size=36, max_size=36).map(lambda b: (f"npm_{b}", b)),
    st.text(ALNUM, min_size=34, max_size=34).map(lambda b: (f"hf_{b}", b)),
    body.map(lambda b: (f"Bearer {b}", b)),
    st.tuples(b64url, b64url, b64url).map(lambda t: (f"eyJ{t[0]}.eyJ{t[1]}.{t[2]}", t[1])),
    body.map(lambda b: (f"https://deploy:{b}@git.example.com/repo.git", b)),
    body.map(lambda b: (f"postgres://app:{b}@db:5432/prod", b)),
    body.map(lambda b: (("-----BEGIN RSA PRIVATE KEY-----\n"
                        f"MIIE{b}\n{b[::-1]}\n-----END RSA PRIVATE KEY-----"), b)),
    body.map(lambda b: (f"-----BEGIN OPENSSH PRIVATE KEY-----\n{b}", b)),
)
# surrounding text shares no character with a secret's value, so only a leak can show it
surroundings = st.text(" .,!?()<>\n\t\x1bäöü😀", max_size=20)
joints = st.sampled_from([" ", "\n", "(", ": ", "\t", "\x1b[1m", "\u202e", "\x1b "])


@SETTINGS
@given(surroundings, joints, secrets_of_every_kind, joints, surroundings)
def test_no_secret_survives_any_scrub_path(before: str, left: str, secret: tuple[str, str],
                                           right: str, after: str) -> None:
    text, value = secret
    raw = before + left + text + right + after
    for path in (sanitize, one_line):
        out = path(raw)
        assert value not in out, (path, raw, out)
        assert value[:16] not in out


@SETTINGS
@given(st.text(ALNUM, min_size=8, max_size=30), surroundings)
def test_the_breakrooms_own_secrets_never_pass(own: str, around: str) -> None:
    remember_secret(own)
    try:
        for path in (sanitize, one_line, scrub_secrets):
            assert own not in path(around + own + around)
            assert own not in path(f"the server password is {own}, really")
    finally:  # the set is process-wide: a leftover "00000000" would redact later tests' text
        sanitize_module._own_secrets.discard(own)


# ---------------------------------------------------------------- config

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=12))
keys = st.one_of(st.sampled_from(["ircd", "port", "mode", "channel", "tmux", "include",
                                  "sessions", "deliver", "agent", "delivery", "max_chars",
                                  "knowledge", "backend", "data_dir", "ops", "a", "sweep"]),
                 st.text(max_size=8))
yamlish = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)), max_leaves=20)


@SETTINGS
@given(yamlish)
def test_config_from_any_data_is_a_config_or_one_clear_error(raw: object) -> None:
    try:
        cfg = config.from_dict(raw)  # type: ignore[arg-type]
    except ConfigError as exc:
        assert str(exc)
    else:
        assert isinstance(cfg, config.Config)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=200), yamlish.map(lambda d: yaml.safe_dump(d).encode())))
def test_config_file_with_any_bytes_is_a_config_or_one_clear_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "breakroom.yaml"
    path.write_bytes(raw)
    try:
        config.load(str(path))
    except ConfigError as exc:
        assert str(exc)


def test_the_reassembled_paste_marker_of_issue_11() -> None:
    assert strip_controls("[2[201~01~") == ""
    assert "[201~" not in strip_controls("x[2\x1b[201~01~y")


@pytest.mark.parametrize("token", ["sk-ant-api03-abcdefghijklmnop", "ghp_abcdefghijklmnopqrstuvwx",
                                   "AKIAABCDEFGHIJKLMNOP", "xoxb-1234567890-abcdef"])
def test_a_token_after_an_underscore_is_found(token: str) -> None:
    assert token[-8:] not in sanitize(f"MY_{token} and x_{token}")
