"""The page in a real browser: headless Chromium draws a generated day (the screenshot is a
picture, not a blank page) and its DOM names every session with the record's numbers; a
``<script>`` from the record never becomes one."""

from __future__ import annotations

import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from breakroom.report.page import build_page, write_page
from breakroom.report.window import Window
from support.chromium import MISSING, dump_dom, png_size_and_colours, screenshot
from support.fleet_day import SESSIONS, fleet_config, generate
from support.small_day import write_small_day

pytestmark = [pytest.mark.skipif(MISSING is not None, reason=MISSING or ""), pytest.mark.timeout(180)]


class Dom(HTMLParser):
    """The text of each element with an ``id``, and of each ``data-k`` cell per session row."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.cells: dict[tuple[str, str], str] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._open: list[tuple[str, str]] = []  # (kind, key) of the elements being read
        self._row: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "tr":
            self._row = a.get("data-session")
        if a.get("id"):
            self._open.append(("id", str(a["id"])))
            self.by_id[str(a["id"])] = ""
        elif self._row and a.get("data-k"):
            self._open.append(("cell", str(a["data-k"])))
            self.cells[(self._row, str(a["data-k"]))] = ""

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag in ("span", "td", "table", "section"):
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            kind, key = self._open[-1]
            if kind == "id":
                self.by_id[key] += data
            else:
                self.cells[(self._row or "", key)] += data


def test_a_generated_day_in_chromium(db, tmp_path: Path) -> None:
    sessions = SESSIONS[:6]
    config = fleet_config(tmp_path, sessions)
    end = time.time()
    day = generate(db, config, sessions=6, hours=8, end=end, seed=3)
    report, html = build_page(db, config, Window(day.start, day.end))
    page = write_page(tmp_path / "report.html", html)

    shot = screenshot(page.as_uri(), tmp_path / "report.png", width=1280, height=1600)
    width, height, colours = png_size_and_colours(shot)
    assert (width, height) == (1280, 1600)
    assert colours >= 50, f"the screenshot looks blank: {colours} colours"  # a blank page has 0-2

    dom = Dom(dump_dom(page.as_uri()))
    named = [a["data-session"] for t, a in dom.tags if t == "tr" and a.get("data-session")]
    assert named == sorted(sessions)
    one = db.execute
    assert dom.by_id["n-sessions"] == "6"
    events = one("SELECT count(*) FROM events WHERE kind = 'PRIVMSG'").fetchone()[0]
    straight = one("SELECT count(*) FROM inbox WHERE sender IN ('dispatcher', 'sweep')").fetchone()[0]
    assert events == day.events
    assert dom.by_id["n-messages"] == str(events + straight)
    answered, unanswered = one("SELECT sum(NOT idk), sum(idk) FROM knowledge_answers").fetchone()
    assert (dom.by_id["n-answered"], dom.by_id["n-unanswered"]) == (str(answered), str(unanswered))
    assert answered + unanswered == day.questions
    for status in ("answered", "escalated"):
        count = one("SELECT count(*) FROM sweep_questions WHERE status = ?", [status]).fetchone()[0]
        assert dom.by_id[f"n-sweep-{status}"] == str(count)
    assert dom.by_id["n-nudges"] == str(sum(day.nudges.values()))
    assert dom.by_id["n-moved"] == str(day.moves)
    for session in sessions:
        assert dom.cells[(session, "nudges")] == str(day.nudges[session])
        mine = next(s for s in report.sessions if s.name == session)
        assert dom.cells[(session, "sent")] == str(mine.sent)


def test_a_script_from_the_record_stays_text(db, tmp_path: Path) -> None:
    small = write_small_day(db, tmp_path)
    _, html = build_page(db, small.config, small.window)
    page = write_page(tmp_path / "hostile.html", html)
    dumped = dump_dom(page.as_uri())
    assert not [t for t, _ in Dom(dumped).tags if t in ("script", "b", "img")]
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dumped  # there, as text
    title = dumped.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.startswith("Breakroom — the fleet") and "pwned" not in title
