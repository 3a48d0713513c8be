"""An external ircd over TLS: bots connect with ircd.tls, and certificate trouble is one clear line."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from breakroom.config import from_dict
from breakroom.errors import BreakroomError
from breakroom.irc.ircd import check_login, free_port, render_ngircd_conf, wait_for_port
from breakroom.record import events as record
from support.irc import HAVE_NGIRCD, IrcServer

pytestmark = [pytest.mark.skipif(not HAVE_NGIRCD, reason="TLS is tested against ngircd"),
              pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl for a certificate")]


@pytest.fixture
def tls_ngircd(tmp_path: Path):
    """ngircd from our own template, plus an [SSL] block with a self-signed certificate."""
    folder = tmp_path / "tls-ircd"
    folder.mkdir()
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    cfg = from_dict({"data_dir": str(folder), "ircd": {"mode": "external", "port": free_port(),
                                                       "password": "tls-pass", "tls": True,
                                                       "tls_verify": False,
                                                       "oper_password": "op"},
                     "channel_key": "tls-key"})
    conf = render_ngircd_conf(cfg, folder)
    plain_port = free_port()
    text = conf.read_text().replace(f"Ports = {cfg.ircd.port}", f"Ports = {plain_port}")
    conf.write_text(text + f"\n[SSL]\n\tCertFile = {cert}\n\tKeyFile = {key}\n\tPorts = {cfg.ircd.port}\n")
    proc = subprocess.Popen(["ngircd", "-n", "-f", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", cfg.ircd.port, 10, proc)
        yield cfg
    finally:
        proc.terminate()
        proc.wait(10)


def test_bots_connect_over_tls(tls_ngircd, running_app, tmp_path: Path) -> None:
    check_login(tls_ngircd)
    srv = IrcServer(tls_ngircd, server=None)
    thread = running_app(srv, ircd={"tls": True, "tls_verify": False})
    assert thread.app.bots["scribe"].in_channel
    thread.call(_say_and_flush(thread.app))
    assert record.query(thread.app.db, nick="scribe", limit=5, newest=True)


async def _say_and_flush(app) -> None:
    app.send(app.bots["scribe"], "scribe", "over TLS")  # a private line is recorded on send
    app.record.flush()


def test_certificate_trouble_is_one_clear_line(tls_ngircd) -> None:
    tls_ngircd.ircd.tls_verify = True
    with pytest.raises(BreakroomError, match=r"TLS with the ircd at 127\.0\.0\.1:\d+ failed: .*"
                                             r"set ircd.tls_verify: false"):
        check_login(tls_ngircd)
    tls_ngircd.ircd.tls_verify = False
    tls_ngircd.ircd.tls = False  # plain text to a TLS port: the server never completes registration
    with pytest.raises(BreakroomError):
        check_login(tls_ngircd, timeout=2)
