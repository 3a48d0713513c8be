"""Spend from transcripts: parsing Claude Code's JSONL (a response written once per content
block counts once), reading incrementally and safely, prices, budgets and their alerts."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from breakroom.config import from_dict
from breakroom.work import spend

NOW = time.mktime((2026, 12, 4, 15, 0, 0, 0, 0, -1))  # 15:00 local time


def response(message: str, model: str = "claude-sonnet-4-5", *, at: float = NOW, inp: int = 1000,
             out: int = 200, write: int = 0, write_1h: int = 0, read: int = 0, **extra) -> dict:
    """One transcript line of a model response, as Claude Code writes it."""
    usage = {"input_tokens": inp, "output_tokens": out, "cache_creation_input_tokens": write + write_1h,
             "cache_read_input_tokens": read,
             "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": write_1h}}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(at))
    return {"type": "assistant", "timestamp": stamp, "requestId": "req_" + message,
            "message": {"id": message, "model": model, "role": "assistant", "usage": usage}, **extra}


def write(path: Path, *entries: dict | str, mode: str = "a") -> None:
    with path.open(mode) as f:
        for entry in entries:
            f.write((entry if isinstance(entry, str) else json.dumps(entry)) + "\n")


def ingest(db, path: Path, session: str = "cc") -> spend.Read | None:
    read = spend.read_transcript(str(path), session, spend.mark_of(db, str(path)))
    if read is not None:
        spend.record(db, str(path), read)
    return read


def test_a_response_counts_once_with_its_largest_figures(db, tmp_path):
    path = tmp_path / "t.jsonl"
    write(path, {"type": "user", "message": {"role": "user", "content": "hi"}},
          response("m1", out=1), response("m1", out=250),          # streamed: two blocks, one message
          response("m2", "<synthetic>", inp=999),                  # Claude Code's own note: no tokens
          "not json", '{"usage": 1}', response("m3", inp=10**12),  # garbage, and a count not believed
          response("m4", "claude-opus-4-5", inp=2000, out=300, write=4000, write_1h=1000, read=50000))
    ingest(db, path)
    [cc] = spend.session_spend(db, NOW - 60, NOW + 60)
    # m1: 1000 in, 250 out; m3: its input not believed, 200 out; m4: opus with the cache
    assert (cc.input_tokens, cc.output_tokens, cc.cache_write_tokens, cc.cache_read_tokens) == \
        (3000, 750, 5000, 50000)
    per_model = db.execute("SELECT model, sum(input), sum(output) FROM spend_messages "
                           "GROUP BY model").fetchall()
    assert sorted(per_model) == [("claude-opus-4-5", 2000, 300), ("claude-sonnet-4-5", 1000, 450)]
    sonnet = 1000 * 3 + 450 * 15
    opus = 2000 * 5 + 300 * 25 + 4000 * 6.25 + 1000 * 10 + 50000 * 0.5
    assert cc.cost_usd == pytest.approx((sonnet + opus) / 1e6)


def test_reading_is_incremental_and_survives_a_rewritten_file(db, tmp_path):
    path = tmp_path / "t.jsonl"
    write(path, response("a"))
    path.write_text(path.read_text() + json.dumps(response("b"))[:40])   # a line still being written
    assert [u.message for u in ingest(db, path).usages] == ["a"]
    with path.open("a") as f:
        f.write(json.dumps(response("b"))[40:] + "\n")
    assert [u.message for u in ingest(db, path).usages] == ["b"]
    assert ingest(db, path).usages == []                                  # nothing new
    path.unlink()
    write(path, response("c"), response("a"))                             # replaced: read again
    assert [u.message for u in ingest(db, path).usages] == ["c", "a"]
    assert [s.input_tokens for s in spend.session_spend(db, NOW - 60, NOW + 60)] == [3000]  # a, b, c once


def test_only_regular_jsonl_files_are_read_and_one_session_owns_a_transcript(db, tmp_path):
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    assert spend.read_transcript(str(fifo), "cc", None) is None           # a FIFO would block: never read
    assert spend.read_transcript("/dev/zero", "cc", None) is None
    assert [spend.valid_path(p) for p in ("/etc/passwd", "relative.jsonl", 7, "/x/t.jsonl")] == \
        [None, None, None, "/x/t.jsonl"]
    path = tmp_path / "t.jsonl"
    write(path, response("a"))
    ingest(db, path, "cc")
    assert spend.mark_of(db, str(path)).session == "cc"
    huge = tmp_path / "huge.jsonl"
    huge.write_text("x" * 100 + "\n" + json.dumps(response("z")) + "\n")
    first = spend.read_transcript(str(huge), "cc", None, budget=50)      # a line longer than a read
    assert first.usages == [] and first.mark.offset == 50


def test_prices_come_from_the_config_first_then_the_shipped_table():
    table = spend.PriceTable.for_config(from_dict({"spend": {"prices": [{"match": "sonnet", "input": 1,
                                                                          "output": 2}]}}))
    mine = table.price_of("claude-sonnet-4-5")
    assert (mine.input, mine.output, mine.cache_write, mine.cache_write_1h, mine.cache_read) == \
        (1, 2, 1.25, 2, 0.1)
    assert table.price_of("claude-opus-4-1-20250805").input == 15               # Opus 4.1
    assert table.price_of("claude-opus-4-20250514").output == 75                # Opus 4.0
    assert table.price_of("claude-opus-4-5-20251101").input == 5                # Opus 4.5 and later
    assert table.price_of("claude-opus-4-8").input == 5
    assert table.price_of("claude-haiku-4-5").output == 5
    assert table.price_of("some-local-model") is None


def test_a_model_without_a_price_counts_tokens_but_not_dollars(db, tmp_path):
    path = tmp_path / "t.jsonl"
    write(path, response("a", "llama-local"), response("b"))
    ingest(db, path)
    [s] = spend.session_spend(db, NOW - 60, NOW + 60)
    assert s.unpriced == ("llama-local",) and s.input_tokens == 2000
    assert spend.dollars(s) == f"${(1000 * 3 + 200 * 15) / 1e6:.2f}+"


def test_budgets_alert_once_a_day_at_80_and_100_percent(db, tmp_path):
    config = from_dict({"budget": 1.0, "sessions": {"cc": {"budget": 0.05}, "blog": {}}})
    path = tmp_path / "t.jsonl"
    write(path, response("a", inp=10_000, out=1000))                     # $0.045 of sonnet
    ingest(db, path)
    found = spend.budgets(db, config, NOW)
    assert [(b.scope, round(b.percent)) for b in found] == [("cc", 90), (spend.FLEET, 4)]
    assert [(b.scope, t) for b, t in spend.new_alerts(db, found, NOW)] == [("cc", 80)]
    assert spend.new_alerts(db, found, NOW) == []                        # once a day
    assert spend.over_budget(found, ["cc", "blog"]) == {}
    write(path, response("b", inp=10_000))
    ingest(db, path)
    found = spend.budgets(db, config, NOW)
    assert [(b.scope, t) for b, t in spend.new_alerts(db, found, NOW)] == [("cc", 100)]
    assert list(spend.over_budget(found, ["cc", "blog"])) == ["cc"]
    assert spend.over_budget(found, ["cc"])["cc"] == "cc has spent $0.08 of $0.05 (156%) of its daily budget"
    tomorrow = NOW + 86400
    assert [(b.scope, round(b.spent, 2)) for b in spend.budgets(db, config, tomorrow)] == \
        [("cc", 0.0), (spend.FLEET, 0.0)]


def test_cost_lines_for_the_channel(db, tmp_path):
    config = from_dict({"budget": 10.0, "sessions": {"cc": {"budget": 2.0}}})
    path = tmp_path / "t.jsonl"
    write(path, response("a", "claude-opus-4-5", inp=200_000, out=20_000, read=1_000_000),
          response("old", at=NOW - 3 * 86400))
    ingest(db, path)
    prices = spend.PriceTable.for_config(config)
    [fleet] = spend.cost_lines(db, config, prices, now=NOW)
    assert fleet == ("today: $2.00 estimated, 1.2M tokens — cc $2.00 (1.2M) · "
                     "fleet budget $2.00 of $10.00 (20%)")
    [one] = spend.cost_lines(db, config, prices, "cc", now=NOW)
    assert one == ("cc today: $2.00 estimated — 200k in, 20k out, 0 cache write, 1.0M cache read · "
                   "budget: $2.00 of $2.00 (100%) · last 7 days: $2.01")
    assert spend.cost_lines(db, config, prices, "blog", now=NOW)[0].startswith("blog today: nothing recorded")
