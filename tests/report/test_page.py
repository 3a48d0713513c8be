"""The page as HTML: self-contained, every value escaped and scrubbed, every session named;
and ``breakroom report`` as a user runs it."""

from __future__ import annotations

import re
import stat
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from breakroom.config import from_dict
from breakroom.report import gather
from breakroom.report.render import render
from support.app import write_config
from support.small_day import HOSTILE, SCRIPT_NICK, T0, write_small_day


class _Tags(HTMLParser):
    """Every start tag and attribute, and the text, of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture
def small_day(db, tmp_path):
    return write_small_day(db, tmp_path)


def parse(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    return tags


def test_hostile_text_is_text_and_secrets_are_gone(small_day) -> None:
    html = render(gather.build(small_day.db, small_day.config, small_day.window))
    page = parse(html)
    names = {tag for tag, _ in page.tags}
    assert "script" not in names and "b" not in names  # the nick's <b> is not markup either
    assert "img" not in names and "link" not in names  # nothing to fetch
    text = "".join(page.text)
    assert "<script>document.title='pwned'</script>" in text  # shown as text: the issue, the question
    assert SCRIPT_NICK in text
    assert "sk-ant-api03" not in html and "[redacted]" in text
    assert "&lt;script&gt;" in html


def test_the_page_stands_alone(small_day) -> None:
    html = render(gather.build(small_day.db, small_day.config, small_day.window))
    policy = next(a["content"] for _, a in parse(html).tags
                  if a.get("http-equiv") == "Content-Security-Policy")
    assert policy.startswith("default-src 'none'") and "script-src" not in policy
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", html)
    assert "@import" not in html and "url(" not in html
    assert 'http-equiv="refresh"' not in html  # a file does not reload itself
    live = render(gather.build(small_day.db, small_day.config, small_day.window), refresh=30)
    assert '<meta http-equiv="refresh" content="30">' in live


def test_every_session_is_named_with_its_numbers(small_day) -> None:
    report = gather.build(small_day.db, small_day.config, small_day.window)
    page = parse(render(report))
    rows = [a["data-session"] for t, a in page.tags if t == "tr" and "data-session" in a]
    assert rows == ["a", "b", "writer"]
    timeline = [a["data-session"] for t, a in page.tags if t == "div" and "data-session" in a]
    assert timeline == ["a", "b", "writer"]
    cells = {(a["data-from"], a["data-to"]) for t, a in page.tags if t == "td" and "data-from" in a}
    assert cells == set(report.messages.counts)


def test_report_command_writes_a_private_page(small_day, cli, tmp_path) -> None:
    small_day.db.conn.close()
    write_config(tmp_path / "breakroom.yaml", small_day.config)
    until = datetime.fromtimestamp(T0 + 4 * 3600, UTC).isoformat()
    since = datetime.fromtimestamp(T0, UTC).isoformat()
    done = cli("report", "--since", since, "--until", until)
    assert done.returncode == 0, done.stderr
    page = small_day.config.data_path / "report.html"
    assert done.stdout.startswith("the last 4h: 3 sessions, busiest writer") and str(page) in done.stdout
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert 'data-session="writer"' in page.read_text()
    out = cli("report", "--since", since, "--until", until, "--out", "-")
    assert out.stdout.startswith("<!doctype html>") and HOSTILE not in out.stdout


def test_report_command_errors_are_one_line(cli, tmp_path) -> None:
    write_config(tmp_path / "breakroom.yaml", from_dict({"data_dir": str(tmp_path / "data")}))
    for args, message in [
            (["--since", "yesterday"], "breakroom: --since: expected a time like 10m"),
            (["--since", "1h", "--until", "2h"], "breakroom: the report's window is empty"),
            (["--out", str(tmp_path / "no" / "such.html")], "breakroom: --out: no such directory")]:
        done = cli("report", *args)
        assert done.returncode != 0 and done.stderr.startswith(message), done.stderr
        assert len(done.stderr.splitlines()) == 1
