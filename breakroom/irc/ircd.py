"""The IRC server's lifecycle: pick it, render its config, start it, wait for it, stop it.

ngircd is the real server; miniircd (a PyPI dependency) is the embedded fallback when
ngircd is not installed; ``external`` connects to a server someone else runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

from breakroom.config import Config
from breakroom.errors import BreakroomError, ConfigError
from breakroom.irc.childguard import die_with_parent
from breakroom.paths import IRCD_TEMPLATE
from breakroom.private import private_dir

IRCD_DIR = "ircd"


def resolve_mode(cfg: Config) -> str:
    """The server kind to use: ``auto`` means ngircd when installed, else miniircd."""
    mode = cfg.ircd.mode
    if mode == "auto":
        return "ngircd" if shutil.which("ngircd") else "miniircd"
    if mode == "ngircd" and not shutil.which("ngircd"):
        raise BreakroomError(
            "ircd.mode is ngircd but ngircd is not installed "
            "(apt-get install ngircd, or set ircd.mode: auto to use the embedded miniircd)")
    return mode


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (for tests and the demo)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float,
                  proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BreakroomError(f"the ircd exited at start (code {proc.returncode}): "
                                 f"{_tail(proc)}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BreakroomError(f"the ircd did not accept connections on {host}:{port} within {timeout:.0f}s")


def _tail(proc: subprocess.Popen[bytes]) -> str:
    try:
        out = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    except (OSError, ValueError):
        out = ""
    lines = [line for line in out.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def server_blocks(cfg: Config) -> str:
    """ngircd ``[Server]`` blocks for ``ircd.links``: one shared password per link (each
    side's MyPassword is the other's PeerPassword); the dialling side names the port."""
    blocks = []
    for i, link in enumerate(cfg.ircd.links):
        if link.name.lower() == cfg.ircd.server_name.lower():
            raise ConfigError(f"ircd.links[{i}].name: {link.name} is this server's own "
                              "ircd.server_name")
        lines = ["", "[Server]", f"\tName = {link.name}", f"\tHost = {link.host}",
                 f"\tMyPassword = {link.password}", f"\tPeerPassword = {link.password}"]
        if link.dial:
            lines.append(f"\tPort = {link.port}")
        blocks.append("\n".join(lines) + "\n")
    return "".join(blocks)


def render_ngircd_conf(cfg: Config, folder: Path) -> Path:
    """Fill ``ircd.conf`` for this breakroom; the result lives in the data dir, mode 0600."""
    include_dir = folder / "conf.d"
    private_dir(include_dir)
    motd = folder / "motd"
    motd.write_text("Welcome to the breakroom. `breakroom info` tells you how to join.\n")
    text = Template(IRCD_TEMPLATE.read_text(encoding="utf-8")).substitute(
        host=cfg.ircd.host, port=cfg.ircd.port, password=cfg.ircd.password,
        pid_file=folder / "ngircd.pid", motd_file=motd, include_dir=include_dir,
        oper_name=cfg.ircd.oper_name, oper_password=cfg.ircd.oper_password,
        channel=cfg.channel, channel_key=cfg.channel_key,
        server_name=cfg.ircd.server_name, server_blocks=server_blocks(cfg))
    path = folder / "ngircd.conf"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def _miniircd_command(cfg: Config, folder: Path) -> list[str]:
    state = folder / "miniircd-state"
    private_dir(state)
    # miniircd keeps a channel's key only through its state dir: seed it so the channel
    # is keyed before anyone joins (the first joiner would otherwise own an open channel).
    channel_file = state / cfg.channel.replace("_", "__").replace("/", "_")
    if cfg.channel_key is None:  # fill_secrets gives every server the breakroom runs a key
        raise BreakroomError("the channel has no key: fill_secrets(cfg) before starting the ircd")
    channel_file.write_text(f"topic = {b'Breakroom'!r}\nkey = {cfg.channel_key.encode()!r}\n")
    cmd = [sys.executable, "-c", "import miniircd; miniircd.main()",
           "--listen", cfg.ircd.host, "--ports", str(cfg.ircd.port),
           f"--password={cfg.ircd.password}", "--state-dir", str(state)]
    if os.geteuid() == 0:
        cmd += ["--setuid", "root"]  # miniircd refuses to run as root otherwise
    return cmd


@dataclass
class Ircd:
    """A running (or external) IRC server."""

    mode: str
    host: str
    port: int
    proc: subprocess.Popen[bytes] | None = None
    pid_file: Path | None = None

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._remove_pid_file()
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)
        self._remove_pid_file()

    def _remove_pid_file(self) -> None:
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)


def _check_pid_file(pid_file: Path) -> None:
    """Refuse to start twice from one data dir; clear a pid file left by a dead server."""
    if not pid_file.exists():
        return
    try:
        pid = int(pid_file.read_text().strip() or 0)
    except ValueError:
        pid = 0
    alive = False
    if pid > 0:
        try:
            os.kill(pid, 0)
            alive = Path(f"/proc/{pid}/cmdline").read_bytes().find(b"ircd") >= 0
        except (ProcessLookupError, PermissionError, FileNotFoundError):
            alive = False
    if alive:
        raise BreakroomError(f"an ircd for this data dir is already running (pid {pid}, "
                             f"pid file {pid_file}); stop it or use another data_dir")
    pid_file.unlink(missing_ok=True)  # stale: its process is gone


def start_ircd(cfg: Config, *, timeout: float = 10.0) -> Ircd:
    """Start the configured server (or just check an external one) and wait until it accepts."""
    mode = resolve_mode(cfg)
    host, port = cfg.ircd.host, cfg.ircd.port
    if mode == "external":
        check_login(cfg)
        return Ircd(mode, host, port)
    folder = private_dir(cfg.data_path / IRCD_DIR)
    pid_file = folder / "ircd.pid"
    _check_pid_file(pid_file)
    if port_in_use(host, port):
        raise BreakroomError(f"ircd.port {port} is already in use on {host} "
                             "(another ircd? set ircd.port, or ircd.mode: external to use it)")
    if cfg.ircd.links and mode != "ngircd":
        raise BreakroomError("ircd.links needs ngircd (miniircd cannot link servers): "
                             "apt-get install ngircd, or set ircd.mode: ngircd")
    if mode == "ngircd":
        cmd = ["ngircd", "-n", "-f", str(render_ngircd_conf(cfg, folder))]
    else:
        cmd = _miniircd_command(cfg, folder)
    # through the guard, so the server goes when the breakroom goes, however it goes
    proc = subprocess.Popen([sys.executable, "-m", "breakroom.irc.childguard", *cmd],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=die_with_parent)
    pid_file.write_text(f"{proc.pid}\n")
    server = Ircd(mode, host, port, proc, pid_file)
    try:
        wait_for_port(host, port, timeout, proc)
    except BaseException:
        server.stop()
        raise
    if proc.stderr is not None:  # never read again: an unread pipe would block a chatty server
        proc.stderr.close()
        proc.stderr = None
    return server


def check_login(cfg: Config, timeout: float = 5.0) -> None:
    """Register once with PASS/NICK/USER so a refused password is a clear error up front."""
    host, port = cfg.ircd.host, cfg.ircd.port
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise BreakroomError(f"cannot reach the ircd at {host}:{port}: {exc.strerror or exc}") from None
    sock: socket.socket = raw
    if cfg.ircd.tls:
        context = ssl.create_default_context()
        if not cfg.ircd.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            sock = context.wrap_socket(raw, server_hostname=host)
        except (ssl.SSLError, OSError) as exc:
            raw.close()
            hint = (" (a self-signed certificate? set ircd.tls_verify: false)"
                    if isinstance(exc, ssl.SSLCertVerificationError) else "")
            raise BreakroomError(f"TLS with the ircd at {host}:{port} failed: "
                                 f"{getattr(exc, 'reason', None) or exc}{hint}") from None
    nick = f"brprobe{os.getpid() % 100000}"
    with sock:
        try:
            if _register(sock, cfg.ircd.password, nick, timeout, f"{host}:{port}"):
                return
        except TimeoutError:
            pass
        except OSError as exc:  # a reset while sending is as likely as one while reading
            raise BreakroomError(f"the ircd at {host}:{port} dropped the connection during "
                                 f"registration ({exc.strerror or exc}; a TLS port? "
                                 "check ircd.tls)") from None
    raise BreakroomError(f"the ircd at {host}:{port} did not complete registration")


def _register(sock: socket.socket, password: str | None, nick: str, timeout: float,
              where: str) -> bool:
    """PASS/NICK/USER until 001 (True) or the server closes (False); raises BreakroomError
    for a refused password.  Socket errors are the caller's to word."""
    if password:
        sock.sendall(f"PASS {password}\r\n".encode())
    sock.sendall(f"NICK {nick}\r\nUSER probe 0 * :breakroom probe\r\n".encode())
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        buf += chunk
        for line in buf.decode(errors="replace").splitlines():
            parts = line.split()
            if len(parts) > 1 and parts[1] == "001":
                sock.sendall(b"QUIT :probe\r\n")
                return True
            if (len(parts) > 1 and parts[1] == "464") or line.startswith("ERROR"):
                raise BreakroomError(f"the ircd at {where} refused the password "
                                     "(check ircd.password)")
    return False
