"""The scribe's record, and reading it back through the real CLI: log, search, replay."""

from __future__ import annotations

import json
import time

from breakroom.record import events as record
from breakroom.record.db import open_db


def _converse(srv, running_app, irc_client):
    thread = running_app(srv)
    alice = irc_client(srv, "alice")
    bob = irc_client(srv, "bob")
    alice.say(srv.channel, 'how do we price the "workshop"? by cohort -v')
    alice.send(f"PRIVMSG {srv.channel} :\x01ACTION waves\x01")
    bob.say(srv.channel, "alice: per cohort, see posts/pricing.md")
    bob.send(f"TOPIC {srv.channel} :pricing week")
    bob.send("NICK bobby")
    bob.nick = "bobby"
    thread.wait_until(
        lambda: [e["kind"] for e in record.query(thread.app.db, nick="bob")][-2:] == ["TOPIC", "NICK"],
        10, "the conversation is recorded")
    return thread, alice, bob


def test_scribe_records_every_kind_of_event(any_ircd, running_app, irc_client) -> None:
    thread, alice, bob = _converse(any_ircd, running_app, irc_client)
    bob.send(f"PART {any_ircd.channel} :lunch")
    alice.close()
    thread.wait_until(
        lambda: record.query(thread.app.db, nick="alice", newest=True, limit=1)[0]["kind"] == "QUIT",
        10, "alice's QUIT recorded")
    kinds = [(e["nick"], e["kind"]) for e in record.query(thread.app.db)]
    for expected in [("alice", "JOIN"), ("alice", "PRIVMSG"), ("alice", "ACTION"), ("bob", "PRIVMSG"),
                     ("bob", "TOPIC"), ("bob", "NICK"), ("bobby", "PART"), ("alice", "QUIT")]:
        assert expected in kinds, expected
    texts = {e["kind"]: e["text"] for e in record.query(thread.app.db)
             if e["nick"] in ("alice", "bob", "bobby")}
    assert texts["ACTION"] == "waves" and texts["NICK"] == "bobby" and texts["PART"] == "lunch"
    assert texts["QUIT"].strip('"') == "done"  # the client's reason (ngircd quotes it)
    for event in record.query(thread.app.db):
        assert event["ts"].endswith("Z")  # UTC


def test_search_log_and_replay_through_the_cli(ircd, running_app, irc_client, cli) -> None:
    thread, _, _ = _converse(ircd, running_app, irc_client)
    thread.app.record.flush()

    found = cli("search", 'price "workshop"?')
    assert found.returncode == 0, found.stderr
    assert '<alice> how do we price the "workshop"? by cohort -v' in found.stdout
    for hostile in ['"', "?", "NEAR(", "*", "-", ":", "a" * 5000]:
        result = cli("search", hostile)
        assert "Traceback" not in result.stderr and "fts5" not in result.stderr.lower()
    missing = cli("search", "zebra")
    assert missing.returncode == 1 and missing.stderr.strip() == "Error: no events match 'zebra'"

    log = cli("log", "--nick", "bob", "--limit", "10")
    assert log.returncode == 0 and "<bob> alice: per cohort" in log.stdout and "<alice>" not in log.stdout
    bad = cli("log", "--since", "yesterday")
    assert bad.returncode != 0 and bad.stderr.startswith("breakroom: --since: expected a time")

    replay = cli("replay", "--instant")
    lines = replay.stdout.splitlines()
    assert replay.returncode == 0
    i_ask = next(i for i, line in enumerate(lines) if '<alice> how do we price' in line)
    i_wave = next(i for i, line in enumerate(lines) if line.endswith("* alice waves"))
    i_answer = next(i for i, line in enumerate(lines) if "<bob> alice: per cohort" in line)
    assert i_ask < i_wave < i_answer
    assert any(line.endswith("-!- alice has joined #breakroom") for line in lines)
    assert lines[i_ask].startswith("[20") and lines[i_ask][20:22] == "] "

    jsonl = cli("replay", "--instant", "--format", "jsonl", "--nick", "alice")
    events = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert {e["nick"] for e in events} == {"alice"} and events[0]["kind"] == "JOIN"


def test_replay_paces_by_original_gaps(tmp_path) -> None:
    events = [{"ts": "2026-11-23T10:00:00.000Z"}, {"ts": "2026-11-23T10:00:02.000Z"},
              {"ts": "2026-11-23T11:00:00.000Z"}]
    assert [d for d, _ in record.paced(events, speed=2)] == [0.0, 1.0, 5.0]
    assert [d for d, _ in record.paced(events, instant=True)] == [0.0, 0.0, 0.0]


def test_replay_to_a_live_channel(ircd, running_app, irc_client, cli) -> None:
    thread, _, _ = _converse(ircd, running_app, irc_client)
    watcher = irc_client(ircd, "watcher")
    thread.app.record.flush()
    result = cli("replay", "--instant", "--nick", "alice", "--to", ircd.channel)
    assert result.returncode == 0, result.stderr
    line = watcher.wait_for(r":replay!\S+ PRIVMSG #breakroom :\[replay\] \[20.*<alice> how do we price")
    assert "workshop" in line
    thread.wait_until(lambda: any(e["replay"] for e in record.query(thread.app.db, nick="replay")), 5,
                      "replayed lines are marked in the record")
    assert not [e for e in record.query(thread.app.db, nick="replay")
                if e["kind"] == "PRIVMSG" and not e["replay"]]


def test_writer_batches_and_flushes_everything_on_close(tmp_path) -> None:
    import asyncio
    db = open_db(tmp_path / "r.db")

    async def burst() -> float:
        writer = record.RecordWriter(db, flush_every=10)
        writer.start()
        start = time.perf_counter()
        for i in range(5000):
            writer.add(record.Event(nick="n", kind="PRIVMSG", text=f"line {i}", channel="#c"))
        await writer.close()
        return time.perf_counter() - start
    asyncio.run(burst())
    assert db["events"].count == 5000
    assert record.search(db, "line 4999")[0]["text"] == "line 4999"


def test_every_kind_reads_like_an_irc_log() -> None:
    def line(kind, text="", channel="#b", target=None, replay=0):
        return record.format_text({"ts": "2026-11-23T10:01:02.000Z", "nick": "alice", "kind": kind,
                                   "text": text, "channel": channel, "target": target, "replay": replay})
    assert line("PRIVMSG", "hi") == "[2026-11-23 10:01:02] <alice> hi"
    assert line("PRIVMSG", "psst", channel=None, target="bob") == "[2026-11-23 10:01:02] <alice → bob> psst"
    assert line("NOTICE", "done") == "[2026-11-23 10:01:02] -alice- done"
    assert line("ACTION", "waves") == "[2026-11-23 10:01:02] * alice waves"
    assert line("JOIN").endswith("-!- alice has joined #b")
    assert line("PART", "lunch").endswith("-!- alice has left #b (lunch)")
    assert line("QUIT").endswith("-!- alice has quit")
    assert line("NICK", "alicia").endswith("-!- alice is now known as alicia")
    assert line("TOPIC", "pricing").endswith("-!- alice changed the topic of #b to: pricing")
    assert line("KICK", "spam", target="bob").endswith("-!- bob was kicked from #b by alice (spam)")
    assert line("MODE", "+o bob").endswith("-!- mode/#b [+o bob] by alice")
    assert line("PRIVMSG", "old", replay=1) == "[2026-11-23 10:01:02] [replay] <alice> old"
