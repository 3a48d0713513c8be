"""The live page of a running breakroom: fetched over HTTP, read-only, loopback only, fresh
as the record grows, reloaded by a real browser on its own; its address in ``breakroom info``
and in the morning line ``!report`` brings."""

from __future__ import annotations

import http.client
import logging
import os
import re
import signal
import socket
import subprocess
import tempfile
from urllib.parse import urlsplit

import pytest

from breakroom.record.events import Event
from support.chromium import CHROMIUM, FLAGS, MISSING
from support.wait import wait_until


def fetch(url: str, method: str = "GET", host: str | None = None) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of one request, with its own ``Host`` header if given."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request(method, parts.path or "/", headers={"Host": host} if host else {})
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def messages_on(page: str) -> int:
    found = re.search(r'id="n-messages">(\d+)<', page)
    assert found, page[:500]
    return int(found.group(1))


@pytest.mark.timeout(90)
def test_the_live_page(ircd, running_app, irc_client, cli) -> None:
    app = running_app(ircd, services=("scribe",), web={"port": 0, "refresh": 1})
    url = app.app.page.url
    assert url and re.fullmatch(r"http://127\.0\.0\.1:\d+/", url)
    assert f"page:      {url}" in cli("info").stdout.splitlines()

    status, headers, page = fetch(url)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert headers["cache-control"] == "no-store" and headers["x-frame-options"] == "DENY"
    assert '<meta http-equiv="refresh" content="1">' in page
    before = messages_on(page)

    human = irc_client(ircd)
    for i in range(3):
        human.say(ircd.channel, f"everyone: line {i}")
    app.app.record.add(Event(nick="bob", kind="PRIVMSG", text="human: direct", channel=ircd.channel))
    wait_until(lambda: messages_on(fetch(url)[2]) >= before + 4, 15, "the new lines on the page")

    assert fetch(url, "POST")[0] == 405 and fetch(url, "POST")[1]["allow"] == "GET, HEAD"
    assert fetch(url, "DELETE")[0] == 405
    assert fetch(url + "secrets")[0] == 404
    assert fetch(url, host="rebind.example.com:80")[0] == 403  # a DNS-rebinding page gets nothing
    assert fetch(url, host="localhost")[0] == 200
    status, headers, body = fetch(url, "HEAD", host="127.0.0.1")
    assert status == 200 and body == "" and int(headers["content-length"]) > 1000

    human.say(ircd.channel, "!report")
    line = human.wait_for(r":scribe!\S+ PRIVMSG #\S+ :the last 24h: ", 30)
    assert re.search(r"the last 24h: 0 sessions · no stuck spells · .* — " + re.escape(url) + "$", line)


@pytest.mark.skipif(CHROMIUM is None, reason=MISSING or "")
@pytest.mark.timeout(90)
def test_a_browser_reloads_the_live_page_by_itself(ircd, running_app) -> None:
    """Chromium left open on the page (a DevTools port keeps headless Chromium running) asks
    for it again every second, on the page's own refresh."""
    app = running_app(ircd, services=("scribe",), web={"port": 0, "refresh": 1})
    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
                                    "--remote-debugging-port=0", app.app.page.url],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        try:
            wait_until(lambda: app.app.page.served >= 3, 30, "the browser's third load of the page")
        finally:
            os.killpg(browser.pid, signal.SIGTERM)
            browser.wait(15)


@pytest.mark.timeout(60)
def test_a_taken_port_moves_the_page(ircd, running_app, caplog) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="breakroom"):
            app = running_app(ircd, services=("scribe",), web={"port": port})
        url = app.app.page.url
        assert url and not url.endswith(f":{port}/")
        assert fetch(url)[0] == 200
        assert f"web.port {port} is taken" in caplog.text


@pytest.mark.timeout(60)
def test_no_page_when_web_port_is_null(ircd, running_app, irc_client, cli, tmp_path) -> None:
    app = running_app(ircd, services=("scribe",), web={"port": None})
    assert app.app.page.url is None
    assert "page:      (served while `breakroom up` runs; see web.port)" in cli("info").stdout
    human = irc_client(ircd)
    human.say(ircd.channel, "!report")
    page = tmp_path / "data" / "report.html"
    assert human.wait_for(r":scribe!\S+ PRIVMSG #\S+ :the last 24h: ", 30).endswith(f" — {page}")
    assert page.is_file() and 'http-equiv="refresh"' not in page.read_text()
