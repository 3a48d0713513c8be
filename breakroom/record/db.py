"""The one SQLite database in the data dir, opened the same way by every part.

Opening it also brings its schema up to date (``breakroom.record.schema``), so every
module can rely on every table being there.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from breakroom.private import private_file
from breakroom.record.schema import migrate


def _import_sqlite_utils() -> Any:
    """sqlite-utils, without the numpy it imports only to map numpy scalars to column types
    (we never hand it any): numpy is most of the cost of opening the database from a CLI
    command.  A process that has numpy already (the knowledge engine) keeps it as it is."""
    if "numpy" in sys.modules:
        import sqlite_utils as module
        return module
    sys.modules["numpy"] = None  # type: ignore[assignment]  # "import numpy" fails for a moment
    try:
        import sqlite_utils as module
    finally:
        del sys.modules["numpy"]
    return module


# This module is the adapter: the only one that imports sqlite-utils at run time (ruff's TC002
# keeps the others' imports of it to type checking).
if TYPE_CHECKING:
    import sqlite_utils
else:
    sqlite_utils = _import_sqlite_utils()

DB_NAME = "breakroom.db"
BUSY_TIMEOUT = 10.0  # seconds a writer waits for another (the CLI beside the daemon)

# A row as sqlite_utils hands it back: column name to SQLite value.
Row = dict[str, Any]


def db_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / DB_NAME


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating) the database in WAL mode with a busy timeout, migrated to the
    current schema.

    WAL lets the CLI read the record while the running breakroom writes it; the busy
    timeout makes concurrent writers (CLI and daemon) wait instead of failing.
    """
    path = private_file(Path(path))  # created 0600: SQLite gives -wal and -shm the same mode
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT, check_same_thread=False,
                           isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
    db = sqlite_utils.Database(conn)
    _enable_wal(db)
    conn.execute("PRAGMA synchronous = NORMAL")
    migrate(db)
    return db


def _enable_wal(db: sqlite_utils.Database, timeout: float = BUSY_TIMEOUT) -> None:
    """Switch a new database to WAL.  The switch takes SQLite's exclusive lock without
    waiting on the busy handler, so another process opening the same new database at that
    moment makes it fail with "database is locked": retry until the busy timeout."""
    deadline = time.monotonic() + timeout
    while db.journal_mode != "wal":
        try:
            db.enable_wal()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid an INSERT just made (sqlite3 types ``lastrowid`` as optional: no insert yet)."""
    if cursor.lastrowid is None:
        raise RuntimeError("inserted_id: the statement inserted no row")
    return cursor.lastrowid


@contextmanager
def atomic(db: sqlite_utils.Database, name: str = "breakroom") -> Iterator[None]:
    """All-or-nothing writes that nest: a savepoint.  The connection is in autocommit mode,
    where ``with conn:`` would commit statement by statement."""
    db.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        db.execute(f"ROLLBACK TO {name}")
        db.execute(f"RELEASE {name}")
        raise
    db.execute(f"RELEASE {name}")


def insert_rows(db: sqlite_utils.Database, table: str, columns: tuple[str, ...],
                rows: list[tuple[Any, ...]]) -> None:
    """Insert many rows in one transaction with one prepared statement: for the record's hot
    path, where sqlite-utils' ``insert_all`` spends more time building SQL than SQLite
    spends writing (its per-chunk column checks and multi-row VALUES)."""
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    with atomic(db, "insert_rows"):
        db.conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
