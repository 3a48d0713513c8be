"""Typing into a real pane on a private tmux server: once, whole, submitted, never over a draft.

The target is a tiny raw-mode prompt program (below) that logs every submitted line and every
byte it received, so the tests see exactly what reached the "agent".
"""

import json
import secrets
import sys

import libtmux
import pytest

from breakroom.fleet.pane import PaneGone, look, press_keys, resolve_pane, type_into_pane
from breakroom.fleet.tmux import Tmux
from breakroom.sanitize import sanitize
from support.wait import wait_until

PROMPT_PROGRAM = r'''
import json, os, sys, termios, tty
log, raw_log, ignore_enters = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = sys.stdin.fileno()
tty.setraw(fd)
out = sys.stdout
out.write("\x1b[?2004h" "❯ "); out.flush()   # ask for bracketed paste, draw the prompt
line, pending, in_paste = "", b"", False
while True:
    chunk = os.read(fd, 4096)
    if not chunk:
        break
    with open(raw_log, "ab") as fh:
        fh.write(chunk)
    pending += chunk
    while pending:
        if pending.startswith(b"\x1b[200~"):
            in_paste, pending = True, pending[6:]; continue
        if pending.startswith(b"\x1b[201~"):
            in_paste, pending = False, pending[6:]; continue
        if pending[:1] == b"\x1b" and len(pending) < 6:
            break                                   # wait for the rest of a marker
        try:
            ch = pending[:4].decode("utf-8")[0]
        except UnicodeDecodeError as exc:
            if exc.start == 0 and len(pending) < 4:
                break
            ch = pending[:exc.start].decode("utf-8")[0] if exc.start else "\ufffd"
        pending = pending[len(ch.encode("utf-8")) if ch != "\ufffd" else 1:]
        if ch == "\r" and in_paste:
            line += "\n"; out.write("↵")
        elif ch == "\r":
            if ignore_enters > 0:
                ignore_enters -= 1; continue
            with open(log, "a") as fh:
                fh.write(json.dumps(line) + "\n")
            out.write("\r\n⏺ got %d chars\r\n❯ " % len(line)); line = ""
        elif ch == "\x7f":
            line = line[:-1]; out.write("\b \b")
        else:
            line += ch; out.write(ch)
        out.flush()
'''


@pytest.fixture
def prompt_pane(tmp_path):
    """A private tmux server running the prompt program; yields a factory."""
    socket = "brk-test-" + secrets.token_hex(4)
    tmux = libtmux.Server(socket_name=socket)
    program = tmp_path / "prompt.py"
    program.write_text(PROMPT_PROGRAM)

    def start(name="agent", ignore_enters=0):
        log, raw = tmp_path / f"{name}.log", tmp_path / f"{name}.raw"
        log.touch(), raw.touch()
        tmux.new_session(session_name=name, x=120, y=30, window_command=(
            f"{sys.executable} {program} {log} {raw} {ignore_enters}"))
        wait_until(lambda: "❯" in look(Tmux(socket), resolve_pane(Tmux(socket), name)).text, 5,
                   "the prompt program starting")
        return socket, log, raw

    yield start
    Tmux(socket).kill_server()


def submitted(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_single_line_arrives_exactly_once(prompt_pane):
    socket, log, _ = prompt_pane()
    result = type_into_pane(Tmux(socket), "agent", "hello from alice; $(rm -rf ~)", enter_delay=0.1)
    assert result.status == "delivered" and result.enter_presses == 1
    assert submitted(log) == ["hello from alice; $(rm -rf ~)"]


def test_text_ending_in_semicolon_and_leading_dash_is_literal(prompt_pane):
    socket, log, _ = prompt_pane()
    assert type_into_pane(Tmux(socket), "agent", "-v --help C-c;", enter_delay=0.1).status == "delivered"
    assert submitted(log) == ["-v --help C-c;"]


def test_multi_line_goes_through_a_bracketed_paste(prompt_pane):
    socket, log, raw = prompt_pane()
    result = type_into_pane(Tmux(socket), "agent", "line one\nline two\nline three", enter_delay=0.1)
    assert result.status == "delivered"
    assert submitted(log) == ["line one\nline two\nline three"]
    assert raw.read_bytes().count(b"\x1b[200~") == 1


def test_lost_enter_is_retried_and_text_appears_once(prompt_pane):
    socket, log, raw = prompt_pane(ignore_enters=1)
    result = type_into_pane(Tmux(socket), "agent", "only once please", enter_delay=0.1)
    assert result.status == "delivered" and result.enter_presses == 2
    assert submitted(log) == ["only once please"]
    assert raw.read_bytes().count(b"only once please") == 1


def test_enter_never_accepted_fails_without_retyping(prompt_pane):
    socket, log, raw = prompt_pane(ignore_enters=10)
    result = type_into_pane(Tmux(socket), "agent", "stuck text", enter_delay=0.05, enter_retries=2)
    assert result.status == "failed" and result.enter_presses == 3
    assert "Enter not accepted" in result.reason
    assert submitted(log) == []
    assert raw.read_bytes().count(b"stuck text") == 1


def test_a_humans_draft_is_never_typed_over(prompt_pane):
    socket, log, raw = prompt_pane()
    pane = resolve_pane(Tmux(socket), "agent")
    libtmux.Server(socket_name=socket).cmd("send-keys", "-t", pane, "-l", "half a thou")
    wait_until(lambda: look(Tmux(socket), pane).draft() == "half a thou", 5, "the draft in the input line")
    result = type_into_pane(Tmux(socket), "agent", "incoming", enter_delay=0.05)
    assert result.status == "busy" and "typing" in result.reason
    assert b"incoming" not in raw.read_bytes()
    assert look(Tmux(socket), pane).draft() == "half a thou"
    assert submitted(log) == []


def test_copy_mode_counts_as_busy(prompt_pane):
    socket, _, raw = prompt_pane()
    libtmux.Server(socket_name=socket).cmd("copy-mode", "-t", resolve_pane(Tmux(socket), "agent"))
    assert type_into_pane(Tmux(socket), "agent", "incoming").status == "busy"
    assert b"incoming" not in raw.read_bytes()


HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "ctrl-c \x03 here",
    "end paste \x1b[201~ then keys",
    "$(rm -rf ~)",
    "A" * 10_240,
    b"bad \xff\xfe utf8 \xc3".decode("utf-8", errors="surrogateescape"),
    "🙂" * 300,
    "\x1b]0;pwned\x07title",
]


def test_hostile_input_never_reaches_the_pane_raw(prompt_pane):
    socket, log, raw = prompt_pane()
    for text in HOSTILE:  # cleaned once, where it enters the breakroom (delivery takes only Clean)
        clean = sanitize(text)
        assert type_into_pane(Tmux(socket), "agent", clean, enter_delay=0.05).status == "delivered", text[:20]
    got = submitted(log)
    assert len(got) == len(HOSTILE)
    data = raw.read_bytes()
    # the only escape sequences the program received are tmux's own paste markers
    stripped = data.replace(b"\x1b[200~", b"").replace(b"\x1b[201~", b"")
    assert b"\x1b" not in stripped and b"\x03" not in stripped and b"\x07" not in stripped
    assert data.count(b"\x1b[201~") == data.count(b"\x1b[200~")  # no paste ended early
    assert got[0] == "red" and got[2] == "end paste  then keys" and got[3] == "$(rm -rf ~)"
    assert got[4] == "A" * 10_240 and got[6] == "🙂" * 300
    assert got[5] == "bad  utf8" and got[7] == "title"
    data.decode("utf-8")  # everything that arrived is valid UTF-8


def test_gone_session_fails_cleanly(prompt_pane):
    socket, _, _ = prompt_pane()
    result = type_into_pane(Tmux(socket), "nosuch", "hi")
    assert result.status == "failed" and "gone" in result.reason
    with pytest.raises(PaneGone):
        press_keys(Tmux(socket), "nosuch", ["Enter"])


def test_press_keys_sends_named_keys_only(prompt_pane):
    socket, log, _ = prompt_pane()
    press_keys(Tmux(socket), "agent", ["1", "Enter"])
    wait_until(lambda: submitted(log), 5, "the pressed keys submitted")
    assert submitted(log) == ["1"]
    with pytest.raises(ValueError):
        press_keys(Tmux(socket), "agent", ["echo pwned"])
