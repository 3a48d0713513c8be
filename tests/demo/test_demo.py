"""`breakroom demo` end to end: the story happens, and nothing it started outlives it."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from breakroom.irc.ircd import port_in_use
from support.cli import BREAKROOM
from support.irc import HAVE_NGIRCD


@pytest.fixture
def scratch() -> Iterator[Path]:
    """The demo's TMPDIR, short: its data dir's control socket must fit AF_UNIX's 108 bytes,
    and so must the fallback in TMPDIR (tmp_path is longer under xdist: popen-gwN/)."""
    folder = Path(tempfile.mkdtemp(prefix="br-demo-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _run_demo(tmp_path: Path, scratch: Path, *args: str, path: str | None = None,
              pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TMPDIR": str(scratch)}
    if path is not None:
        env["PATH"] = path
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([BREAKROOM, "demo", "--duration", "90", *args], capture_output=True,
                          text=True, timeout=240, env=env, cwd=tmp_path)


def _assert_nothing_left(result: subprocess.CompletedProcess, scratch: Path, keep: set[str]) -> None:
    port = int(re.search(r"ircd: \w+ on 127\.0\.0\.1:(\d+)", result.stdout).group(1))
    socket_name = re.search(r"tmux -L (\S+) attach", result.stdout).group(1)
    assert not port_in_use("127.0.0.1", port), "the demo's ircd outlived it"
    alive = subprocess.run(["tmux", "-L", socket_name, "ls"], capture_output=True)
    assert alive.returncode != 0, "the demo's tmux server outlived it"
    # onnxruntime keeps a one-line session-id file (.ses) in the temp dir: not ours to remove
    assert {p.name for p in scratch.iterdir()} - {".ses"} <= keep, list(scratch.iterdir())
    assert not subprocess.run(["pgrep", "-f", f"sim-agent.*{scratch}"], capture_output=True).stdout


@pytest.mark.timeout(300)
def test_demo_tells_the_whole_story_and_cleans_up(tmp_path: Path, scratch: Path) -> None:
    result = _run_demo(tmp_path, scratch, "--keep-data")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "what happened:" in result.stdout and "✗" not in result.stdout
    assert re.search(r"irssi -c 127\.0\.0\.1 -p \d+ -w \S+", result.stdout)
    assert re.search(r"/join #breakroom \S+", result.stdout)
    kept = next(scratch.glob("breakroom-demo-*"))
    _assert_nothing_left(result, scratch, keep={kept.name})

    db = sqlite3.connect(kept / "data" / "breakroom.db")
    said = [row[0] for row in db.execute("SELECT nick || ': ' || text FROM events WHERE kind = 'PRIVMSG'")]
    assert any(re.match(r"knowledge: shop: \[q\w+\] \(confidence 0\.\d+\) .* — sources: ", s) for s in said)
    assert any(s.startswith("sweep: ops: stuck is stuck on a question") for s in said)
    assert any("queued behind a busy agent" in row[0] for row in db.execute("SELECT text FROM events"))
    typed = {(r[0], r[1]) for r in db.execute("SELECT session, sender FROM inbox WHERE state = 'delivered'")}
    assert {("blog", "shop"), ("shop", "blog"), ("stuck", "sweep"), ("shop", "dispatcher")} <= typed
    states = [r[0] for r in db.execute("SELECT to_state FROM issue_transitions WHERE who = 'shop'")]
    assert "done" in states
    assert db.execute("SELECT count(*) FROM issues WHERE skill = 'synthesize' AND role = 'writer'"
                      ).fetchone()[0]

    replay = subprocess.run([BREAKROOM, "--config", str(kept / "breakroom.yaml"), "replay", "--instant"],
                            capture_output=True, text=True, timeout=30)
    assert replay.returncode == 0 and "<shop> knowledge: [q" in replay.stdout


@pytest.mark.timeout(300)
def test_demo_falls_back_to_miniircd_and_to_bm25(tmp_path: Path, scratch: Path) -> None:
    """Without ngircd and without the embed extra (onnxruntime cannot be imported) the story
    still holds: its sweep beat is then an escalation, since bm25 alone is not sure enough."""
    bin_dir = str(Path(BREAKROOM).parent)
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "onnxruntime.py").write_text(
        "raise ImportError('blocked for this test', name='onnxruntime')\n")
    result = _run_demo(tmp_path, scratch, "--speed", "2", path=f"{bin_dir}:/usr/bin:/bin",
                                pythonpath=blocker)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ircd: miniircd on 127.0.0.1:" in result.stdout
    assert "bm25 only: onnxruntime is not installed" in result.stdout
    assert "✓ the sweep escalated a stuck agent's question to ops instead of guessing" in result.stdout
    assert "✓ an agent asked knowledge and got an answer with confidence and sources" in result.stdout
    _assert_nothing_left(result, scratch, keep=set())
    if HAVE_NGIRCD:
        assert "/usr/sbin" not in result.stdout  # really ran without ngircd on PATH
