"""capture.py against a real tmux server on a private socket, counting tmux processes."""

from __future__ import annotations

from pathlib import Path

import libtmux
import pytest

from breakroom.fleet import capture
from breakroom.fleet.tmux import Tmux
from support.wait import wait_value


def _start(socket: str, name: str, script: str) -> libtmux.Session:
    server = libtmux.Server(socket_name=socket)
    return server.new_session(session_name=name, window_command=f"sh -c '{script}; exec cat'",
                              x=90, y=20)


def _wait_for(socket: str, session: str, needle: str) -> capture.PaneCapture:
    got = wait_value(lambda: capture.capture_all(Tmux(socket), sessions=[session]).get(session),
                     lambda got: got is not None and needle in got.text, 5, f"{needle!r} in {session}")
    assert got is not None
    return got


def test_no_server_gives_nothing(tmux_socket):
    assert Tmux(tmux_socket).list_sessions() == []
    assert capture.capture_all(Tmux(tmux_socket)) == {}


def test_captures_every_session_text_and_geometry(tmux_socket):
    _start(tmux_socket, "alpha", "printf \"one\\ntwo\\n\"")
    _start(tmux_socket, "beta", "printf \"only beta\\n\"")
    _wait_for(tmux_socket, "alpha", "two")
    _wait_for(tmux_socket, "beta", "only beta")

    assert sorted(Tmux(tmux_socket).list_sessions()) == ["alpha", "beta"]
    caps = capture.capture_all(Tmux(tmux_socket))
    assert set(caps) == {"alpha", "beta"}
    alpha = caps["alpha"]
    assert alpha.text == "one\ntwo"  # trailing blank screen lines dropped
    assert (alpha.width, alpha.height) == (90, 20)
    assert alpha.current_command in ("cat", "sh")
    assert alpha.pane_id.startswith("%")
    assert (alpha.cursor_x, alpha.cursor_y) == (0, 2)
    assert "only beta" in caps["beta"].text and "one" not in caps["beta"].text


def test_lines_limits_the_tail_and_sessions_filters(tmux_socket):
    _start(tmux_socket, "long", "seq 1 50")
    _start(tmux_socket, "other", "echo other")
    _wait_for(tmux_socket, "long", "50")
    caps = capture.capture_all(Tmux(tmux_socket), lines=5, sessions=["long", "ghost"])
    assert set(caps) == {"long"}
    assert caps["long"].text.splitlines() == ["46", "47", "48", "49", "50"]


def test_active_pane_of_a_multi_window_session(tmux_socket):
    session = _start(tmux_socket, "multi", "echo first window")
    _wait_for(tmux_socket, "multi", "first window")
    session.new_window(window_name="second", window_shell="sh -c 'echo second window; exec cat'",
                       attach=True)
    got = _wait_for(tmux_socket, "multi", "second window")
    assert "first window" not in got.text


def test_a_vanished_pane_does_not_lose_the_others(tmux_socket):
    for name in ("a", "b", "c"):
        _start(tmux_socket, name, f"echo pane-{name}")
        _wait_for(tmux_socket, name, f"pane-{name}")
    server = libtmux.Server(socket_name=tmux_socket)
    ids = [s.active_pane.pane_id for s in server.sessions]
    # tmux stops a sequence at the first failing command; a gone pane sits in the middle
    texts = capture._capture_texts(Tmux(tmux_socket), [ids[0], "%9999", ids[1], ids[2]], 10)
    assert set(texts) == set(ids)
    assert all(f"pane-{n}" in texts[i] for n, i in zip("abc", ids, strict=True))


def test_a_fleet_of_30_is_walked_in_two_tmux_processes(tmux_socket, tmux_calls):
    server = libtmux.Server(socket_name=tmux_socket)
    for i in range(30):
        server.new_session(session_name=f"s{i:02d}", window_command="sh -c 'echo ready; exec cat'")
    wait_value(lambda: capture.capture_all(Tmux(tmux_socket)),
               lambda caps: len(caps) == 30 and all("ready" in c.text for c in caps.values()), 10,
               "every session printing 'ready'", poll=0.1)
    before = tmux_calls()
    caps = capture.capture_all(Tmux(tmux_socket))
    assert len(caps) == 30
    assert tmux_calls() - before == 2  # one list-panes + one invocation with all captures


def test_long_argv_is_chunked(tmux_socket, tmux_calls, monkeypatch):
    server = libtmux.Server(socket_name=tmux_socket)
    for i in range(12):
        server.new_session(session_name=f"c{i:02d}", window_command=f"sh -c 'echo chunk-{i}; exec cat'")
    for i in range(12):
        _wait_for(tmux_socket, f"c{i:02d}", f"chunk-{i}")
    monkeypatch.setattr(capture, "MAX_ARGV_BYTES", 400)  # ~4 capture pairs per invocation
    before = tmux_calls()
    caps = capture.capture_all(Tmux(tmux_socket))
    calls = tmux_calls() - before
    assert {name: f"chunk-{int(name[1:])}" in c.text for name, c in caps.items()} == \
        {f"c{i:02d}": True for i in range(12)}
    assert 1 + 3 <= calls <= 1 + 4


def test_kill_server_stops_it_and_removes_its_socket_file(tmux_socket):
    """tmux leaves the socket file of a killed server behind: the demo left one per run."""
    tmux = Tmux(tmux_socket)
    tmux.server.new_session(session_name="x", window_command="sleep 60")
    socket = tmux.display("#{socket_path}")
    assert socket and Path(socket).exists()
    tmux.kill_server()
    assert tmux.list_sessions() == [] and not Path(socket).exists()
    tmux.kill_server()  # no server: nothing to do, no error
    with pytest.raises(ValueError, match="default tmux server"):
        Tmux().kill_server()
