"""Private files: the data dir is 0700 and everything in it 0600 (or 0700), as created by a
real running breakroom; found looser, it is tightened on start with one warning."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from breakroom.errors import BreakroomError
from breakroom.private import private_dir, tighten
from breakroom.record.db import db_path, open_db


def loose_paths(root: Path) -> list[str]:
    found = []
    for folder, _dirs, files in os.walk(root):
        for path in [Path(folder), *(Path(folder) / f for f in files)]:
            if path.lstat().st_mode & 0o077:
                found.append(f"{path} {stat.filemode(path.lstat().st_mode)}")
    return found


def test_a_running_breakroom_creates_everything_private(ngircd, running_app, tmp_path) -> None:
    old = os.umask(0o022)  # the usual umask: files would be 0644 unless created private
    try:
        app = running_app(ngircd, services=("scribe",))
        app.wait_until(lambda: app.app.bots["scribe"].in_channel, 15, "scribe joined")
        data = tmp_path / "data"
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        names = {p.name for p in data.rglob("*")}
        assert {"breakroom.db", "breakroom.db-wal", "control.sock", "oper-password"} <= names
        assert loose_paths(data) == []
    finally:
        os.umask(old)


def test_found_looser_is_tightened_with_a_warning(tmp_path, caplog) -> None:
    data = tmp_path / "data"
    db = open_db(db_path(data))
    db.conn.close()
    os.chmod(data, 0o755)
    os.chmod(db_path(data), 0o644)
    (data / "notes").write_text("copied in by hand")
    os.chmod(data / "notes", 0o666)
    os.symlink("/etc/passwd", data / "link")  # never followed, never changed
    before = stat.S_IMODE(os.stat("/etc/passwd").st_mode)
    with caplog.at_level(logging.WARNING, logger="breakroom"):
        changed = tighten(data)
    assert sorted(p.name for p in changed) == ["breakroom.db", "data", "notes"]
    assert len(caplog.records) == 1 and "readable by other users" in caplog.text
    assert loose_paths(data) == [f"{data / 'link'} {stat.filemode((data / 'link').lstat().st_mode)}"]
    assert stat.S_IMODE(os.stat("/etc/passwd").st_mode) == before
    caplog.clear()
    assert tighten(data) == [] and caplog.text == ""  # quiet once private


@pytest.mark.parametrize("existed", [False, True])
def test_private_dir(tmp_path, caplog, existed) -> None:
    path = tmp_path / "a" / "b"
    if existed:
        path.mkdir(parents=True, mode=0o755)
        os.chmod(path, 0o755)
    with caplog.at_level(logging.WARNING, logger="breakroom"):
        private_dir(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert ("readable by other users" in caplog.text) == existed


@pytest.mark.parametrize("mode", [0o1777, 0o777])
def test_a_shared_directory_is_refused_and_left_as_it_is(tmp_path, mode, cli) -> None:
    """A database or data dir put straight into /tmp must not make /tmp 0700 (every other user
    of the machine would lose it) nor take the other files in it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, mode)
    neighbour = shared / "someone-elses.txt"
    neighbour.write_text("x")
    os.chmod(neighbour, 0o644)
    for call in (lambda: open_db(shared / "x.db"), lambda: tighten(shared),
                 lambda: private_dir(shared)):
        with pytest.raises(BreakroomError, match=r"shared directory .*a directory of its own"):
            call()
    assert stat.S_IMODE(shared.stat().st_mode) == mode
    assert stat.S_IMODE(neighbour.stat().st_mode) == 0o644
    (tmp_path / "breakroom.yaml").write_text(f"data_dir: {shared}\n")
    result = cli("corpus", "stats")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "is a shared directory" in result.stderr and len(result.stderr.splitlines()) == 1
    assert stat.S_IMODE(shared.stat().st_mode) == mode
