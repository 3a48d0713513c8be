"""`breakroom up` as a user runs it: every service bot, joinable with `breakroom info`'s
line, answering, recording, its page served, and gone after Ctrl-C."""

from __future__ import annotations

import re
import shutil
import signal
import stat
import subprocess
import urllib.request
from pathlib import Path

import pytest

from breakroom.config import from_dict
from breakroom.irc.ircd import free_port, port_in_use
from breakroom.record.db import DB_NAME
from support.cli import BREAKROOM
from support.irc import IrcServer, RawClient


@pytest.mark.timeout(120)
def test_up_runs_the_whole_breakroom(tmp_path: Path, tmux_socket: str, cli, shipped_corpus: Path) -> None:
    port, web = free_port(), free_port()
    (tmp_path / "breakroom.yaml").write_text(
        f"ircd: {{port: {port}}}\ntmux: {{socket_name: {tmux_socket}}}\nweb: {{port: {web}}}\n")
    # the default corpus already ingested (once per test run): up checks it is current, and
    # the minute it takes to embed it is not spent again here (tests/knowledge ingest it)
    (tmp_path / ".breakroom").mkdir()
    shutil.copy(shipped_corpus, tmp_path / ".breakroom" / DB_NAME)
    up = subprocess.Popen([BREAKROOM, "up"], cwd=tmp_path, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        assert "breakroom is up — 4 bots" in up.stdout.readline()
        info = cli("info").stdout
        password = re.search(r"irssi -c 127\.0\.0\.1 -p \d+ -w (\S+)", info).group(1)
        key = re.search(r"/join #breakroom (\S+)", info).group(1)
        assert f"page:      http://127.0.0.1:{web}/" in info.splitlines()
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/", timeout=30) as response:  # the page, live
            assert response.status == 200 and b"The fleet at a glance" in response.read()
        cfg = from_dict({"ircd": {"port": port, "password": password}, "channel_key": key})
        human = RawClient(IrcServer(cfg, server=None), "human")
        human.send("NAMES #breakroom")
        names = human.wait_for(r" 353 human ")
        for bot in ("scribe", "knowledge", "sweep", "dispatcher"):
            assert re.search(rf"[ :@+]{bot}\b", names), names
        human.say("#breakroom", "knowledge: [q1a2b] how does the dispatcher choose who to nudge?")
        reply = human.wait_for(
            r":knowledge!\S+ PRIVMSG #breakroom :human: \[q1a2b\] \(confidence 0\.\d\d\)", 60)
        assert "sources:" in reply or "(full answer" in reply
        human.close()
        found = cli("search", "dispatcher", "nudge")
        assert found.returncode == 0 and "<human> knowledge: [q1a2b]" in found.stdout
    finally:
        up.send_signal(signal.SIGINT)
        out, err = up.communicate(timeout=30)
    assert up.returncode == 0, err
    assert "breakroom stopped." in out and "Traceback" not in err
    assert re.search(r"^\S+ INFO breakroom: up: 4 bots in #breakroom$", err, re.MULTILINE), err
    log_file = tmp_path / ".breakroom" / "breakroom.log"
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert "INFO breakroom: stopped" in log_file.read_text()
    assert not port_in_use("127.0.0.1", port) and not port_in_use("127.0.0.1", web)
