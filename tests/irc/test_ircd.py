"""The ircd's lifecycle through the real CLI: start, clear errors, clean stop."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import pytest

from breakroom.config import from_dict
from breakroom.errors import BreakroomError
from breakroom.irc.ircd import check_login, free_port, port_in_use, start_ircd
from breakroom.secrets import fill_secrets
from support.cli import BREAKROOM
from support.irc import HAVE_NGIRCD
from support.wait import wait_until


def _pids_of(pattern: str) -> set[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def _start_up(tmp_path: Path, mode: str, port: int) -> subprocess.Popen:
    (tmp_path / "breakroom.yaml").write_text(f"ircd: {{mode: {mode}, port: {port}}}\n")
    return subprocess.Popen([BREAKROOM, "up", "--only", "scribe"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


SERVERS = [pytest.param("ngircd", marks=pytest.mark.skipif(not HAVE_NGIRCD, reason="no ngircd")),
           "miniircd"]


@pytest.mark.parametrize("mode", SERVERS)
def test_up_starts_ircd_and_sigterm_leaves_no_orphan(tmp_path: Path, mode: str) -> None:
    port = free_port()
    proc = _start_up(tmp_path, mode, port)
    try:
        line = proc.stdout.readline()
        assert "breakroom is up" in line, line + proc.stderr.read()
        conf_dir = tmp_path / ".breakroom" / "ircd"
        ircd_pids = _pids_of(str(conf_dir) if mode == "ngircd" else f"miniircd.* {port} ")
        assert ircd_pids, "the ircd child should be running"
        assert port_in_use("127.0.0.1", port)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    wait_until(lambda: not any(Path(f"/proc/{p}").exists() for p in ircd_pids), 5,
               "the ircd gone with breakroom up (it survived)")
    assert not port_in_use("127.0.0.1", port)
    assert not (tmp_path / ".breakroom" / "ircd" / "ircd.pid").exists()


def test_port_in_use_is_one_line_and_nonzero(tmp_path: Path, cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "breakroom.yaml").write_text(f"ircd: {{port: {port}}}\n")
        result = cli("up")
    assert result.returncode != 0
    assert result.stderr.strip() == (f"breakroom: ircd.port {port} is already in use on 127.0.0.1 "
                                     "(another ircd? set ircd.port, or ircd.mode: external to use it)")


def test_ngircd_missing_is_a_clear_error(tmp_path: Path, cli) -> None:
    (tmp_path / "breakroom.yaml").write_text(f"ircd: {{mode: ngircd, port: {free_port()}}}\n")
    result = cli("up", env={"PATH": str(Path(BREAKROOM).parent)})
    assert result.returncode != 0
    assert "ircd.mode is ngircd but ngircd is not installed" in result.stderr
    assert result.stderr.count("\n") == 1


def test_wrong_password_is_refused_clearly(ircd) -> None:
    cfg = from_dict({"ircd": {"mode": "external", "port": ircd.port, "password": "not-it"}})
    with pytest.raises(BreakroomError, match="refused the password"):
        check_login(cfg)
    cfg.ircd.password = ircd.password
    check_login(cfg)


def test_external_mode_up_with_wrong_password(ircd, tmp_path: Path, cli) -> None:
    (tmp_path / "breakroom.yaml").write_text(
        f"ircd: {{mode: external, port: {ircd.port}, password: wrong}}\n")
    result = cli("up")
    assert result.returncode != 0
    assert "refused the password (check ircd.password)" in result.stderr


def test_stale_pid_file_is_cleared_and_live_one_refused(tmp_path: Path) -> None:
    cfg = fill_secrets(from_dict({"data_dir": str(tmp_path / "d"), "ircd": {"mode": "miniircd",
                                                                           "port": free_port()}}))
    pid_file = tmp_path / "d" / "ircd" / "ircd.pid"
    pid_file.parent.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    pid_file.write_text(f"{dead.pid}\n")
    server = start_ircd(cfg)
    try:
        assert pid_file.read_text().strip() == str(server.proc.pid)
        with pytest.raises(BreakroomError, match="already running"):
            start_ircd(cfg)
    finally:
        server.stop()
    assert not pid_file.exists()


@pytest.mark.parametrize("mode", SERVERS)
def test_ircd_dies_with_a_killed_breakroom(tmp_path: Path, mode: str) -> None:
    """Even SIGKILL (no cleanup runs) leaves no ircd holding the port."""
    port = free_port()
    proc = _start_up(tmp_path, mode, port)
    assert "breakroom is up" in proc.stdout.readline()
    proc.kill()
    proc.communicate(timeout=10)
    wait_until(lambda: not port_in_use("127.0.0.1", port), 10,
               "the port free again (the ircd outlived a killed breakroom)")


def test_a_password_that_looks_like_an_option(tmp_path: Path) -> None:
    cfg = fill_secrets(from_dict({"data_dir": str(tmp_path / "d"),
                                  "ircd": {"mode": "miniircd", "port": free_port(), "password": "-v"}}))
    server = start_ircd(cfg)
    try:
        check_login(cfg)
    finally:
        server.stop()
