"""The schema module: a v0.1 database migrates in place, a new one is built the same way."""

import re
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlite_utils

from breakroom.errors import BreakroomError
from breakroom.fleet import inbox
from breakroom.record import events
from breakroom.record.db import open_db
from breakroom.record.schema import MIGRATIONS, Migration, migrate, version
from breakroom.work import queue

V0_1_DB = Path(__file__).parent.parent / "fixtures" / "db" / "v0.1.db"


def _normal(sql: str | None) -> str:
    text = re.sub(r"\s+", " ", sql or "")
    text = re.sub(r"\s*([(),;])\s*", r"\1", text)
    return text.replace("IF NOT EXISTS ", "")


def _shape(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """Every table, index, trigger and virtual table with its SQL, layout-blind."""
    return {(kind, name): _normal(sql)
            for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master")}


# Data a later migration changes on purpose: migration 3 clears the files' hashes so the
# corpus is ingested again (its passages lose their markup).
CHANGED_ON_PURPOSE = {("corpus_docs", "sha256")}


def _columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%_fts%'")]
    return {t: [row[1] for row in conn.execute(f"PRAGMA table_info([{t}])")
                if (t, row[1]) not in CHANGED_ON_PURPOSE] for t in tables}


def _rows(conn: sqlite3.Connection, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """The rows of ``columns``' tables and columns (new columns from later migrations aside)."""
    return {t: conn.execute(f"SELECT {', '.join(f'[{c}]' for c in cols)} FROM [{t}] ORDER BY rowid")
            .fetchall() for t, cols in columns.items()}


def _raw(path: Path) -> sqlite_utils.Database:
    return sqlite_utils.Database(sqlite3.connect(str(path), isolation_level=None))


@pytest.fixture
def v0_1(tmp_path: Path) -> Path:
    path = tmp_path / "breakroom.db"
    shutil.copy(V0_1_DB, path)
    return path


def test_the_fixture_is_a_v0_1_database():
    conn = sqlite3.connect(f"file:{V0_1_DB}?mode=ro", uri=True)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert all(rows for rows in _rows(conn, _columns(conn)).values())  # every table has rows to lose
    conn.close()


def test_migration_1_is_exactly_the_v0_1_schema(tmp_path: Path):
    fresh = _raw(tmp_path / "fresh.db")
    migrate(fresh, MIGRATIONS[:1])
    v0_1 = sqlite3.connect(f"file:{V0_1_DB}?mode=ro", uri=True)
    assert _shape(fresh.conn) == _shape(v0_1)
    v0_1.close()


def test_a_v0_1_database_migrates_in_place_and_keeps_every_row(v0_1: Path):
    raw = sqlite3.connect(str(v0_1))
    columns = _columns(raw)
    before = _rows(raw, columns)
    raw.close()
    db = open_db(v0_1)
    assert version(db) == len(MIGRATIONS)
    assert _rows(db.conn, columns) == before
    # the search indexes still cover the old rows, and new rows join them
    assert [e["nick"] for e in events.search(db, "workshop")] == ["alice"]
    inbox.add(db, "writer", "bob", "after the upgrade")
    assert {m.text for m in inbox.for_session(db, "writer")} == {"please review the draft",
                                                                  "after the upgrade"}
    assert [i.title for i in queue.list_issues(db)] == ["Price the spring workshop", "Write the launch post"]
    db.conn.close()


def test_a_v0_1_database_missing_some_tables_gets_them(v0_1: Path):
    """v0.1 created tables lazily: a database may hold only the parts that ever ran."""
    raw = _raw(v0_1)
    for table in ("sweep_captures", "sweep_questions", "sweep_approvals", "dispatch_dnd"):
        raw.execute(f"DROP TABLE {table}")
    raw.conn.close()
    db = open_db(v0_1)
    assert {"sweep_captures", "sweep_questions", "sweep_approvals", "dispatch_dnd"} <= set(db.table_names())
    assert db.execute("SELECT count(*) FROM inbox").fetchone()[0] == 2
    db.conn.close()


def test_opening_twice_migrates_once(tmp_path: Path):
    path = tmp_path / "b.db"
    first = open_db(path)
    queue.add_issue(first, "kept", who="a")
    first.conn.close()
    again = open_db(path)
    assert version(again) == len(MIGRATIONS)
    assert [i.title for i in queue.list_issues(again)] == ["kept"]
    again.conn.close()


def test_processes_opening_a_new_database_at_once_all_get_the_schema(tmp_path: Path):
    path = tmp_path / "race.db"
    versions: list[int] = []
    failures: list[BaseException] = []

    def opener() -> None:
        try:
            db = open_db(path)
            versions.append(version(db))
            db.conn.close()
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert versions == [len(MIGRATIONS)] * 6


def test_a_new_migration_is_one_entry(tmp_path: Path):
    db = open_db(tmp_path / "b.db")
    later = (*MIGRATIONS, Migration("inbox: a priority", ("ALTER TABLE inbox ADD COLUMN priority INTEGER",)))
    assert migrate(db, later) == len(MIGRATIONS) + 1
    assert "priority" in db["inbox"].columns_dict
    assert migrate(db, later) == len(MIGRATIONS) + 1  # applied once
    db.conn.close()


def test_a_failing_migration_changes_nothing(tmp_path: Path):
    db = open_db(tmp_path / "b.db")
    broken = (*MIGRATIONS, Migration("half done", ("CREATE TABLE half (a)", "ALTER TABLE nowhere ADD b")))
    with pytest.raises(BreakroomError,
                       match=r"b\.db: schema migration \d+ \(half done\) failed: no such table"):
        migrate(db, broken)
    assert version(db) == len(MIGRATIONS)
    assert "half" not in db.table_names()
    db.conn.close()


def test_a_database_from_a_newer_breakroom_is_refused(tmp_path: Path):
    path = tmp_path / "b.db"
    open_db(path).conn.close()
    raw = _raw(path)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    raw.conn.close()
    with pytest.raises(BreakroomError, match="newer than this breakroom knows"):
        open_db(path)
