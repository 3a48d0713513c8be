"""The database's schema as ordered migrations, applied once when the database opens.

``PRAGMA user_version`` is the number of migrations a database has had. Migration 1 is the
whole v0.1 schema, written with ``IF NOT EXISTS`` so that a v0.1 database (version 0, its
tables already there, perhaps only some of them) is recognised and completed, never rebuilt.

To change the schema, append one ``Migration`` to ``MIGRATIONS``; never edit one that has
shipped, since databases out there already have it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from breakroom.errors import BreakroomError

if TYPE_CHECKING:
    import sqlite_utils


@dataclass(frozen=True)
class Migration:
    """One step of the schema: what it is for, and its SQL statements in order."""

    why: str
    statements: tuple[str, ...]


_FTS_EVENTS = (
    """CREATE VIRTUAL TABLE IF NOT EXISTS "events_fts" USING FTS5 (
        "text", tokenize='porter', content="events")""",
    """CREATE TRIGGER IF NOT EXISTS "events_ai" AFTER INSERT ON "events" BEGIN
        INSERT INTO "events_fts" (rowid, "text") VALUES (new.rowid, new."text");
    END""",
    """CREATE TRIGGER IF NOT EXISTS "events_ad" AFTER DELETE ON "events" BEGIN
        INSERT INTO "events_fts" ("events_fts", rowid, "text") VALUES('delete', old.rowid, old."text");
    END""",
    """CREATE TRIGGER IF NOT EXISTS "events_au" AFTER UPDATE ON "events" BEGIN
        INSERT INTO "events_fts" ("events_fts", rowid, "text") VALUES('delete', old.rowid, old."text");
        INSERT INTO "events_fts" (rowid, "text") VALUES (new.rowid, new."text");
    END""",
)

_FTS_CORPUS = (
    """CREATE VIRTUAL TABLE IF NOT EXISTS "corpus_chunks_fts" USING FTS5 (
        "title", "heading", "text", tokenize='porter', content="corpus_chunks")""",
    """CREATE TRIGGER IF NOT EXISTS "corpus_chunks_ai" AFTER INSERT ON "corpus_chunks" BEGIN
        INSERT INTO "corpus_chunks_fts" (rowid, "title", "heading", "text")
            VALUES (new.rowid, new."title", new."heading", new."text");
    END""",
    """CREATE TRIGGER IF NOT EXISTS "corpus_chunks_ad" AFTER DELETE ON "corpus_chunks" BEGIN
        INSERT INTO "corpus_chunks_fts" ("corpus_chunks_fts", rowid, "title", "heading", "text")
            VALUES('delete', old.rowid, old."title", old."heading", old."text");
    END""",
    """CREATE TRIGGER IF NOT EXISTS "corpus_chunks_au" AFTER UPDATE ON "corpus_chunks" BEGIN
        INSERT INTO "corpus_chunks_fts" ("corpus_chunks_fts", rowid, "title", "heading", "text")
            VALUES('delete', old.rowid, old."title", old."heading", old."text");
        INSERT INTO "corpus_chunks_fts" (rowid, "title", "heading", "text")
            VALUES (new.rowid, new."title", new."heading", new."text");
    END""",
)

V0_1 = Migration("the v0.1 schema: record, work queue, dispatcher, digest, corpus, answers, inbox, sweep", (
    # record: every line said, with full-text search
    """CREATE TABLE IF NOT EXISTS "events" (
        "id" INTEGER PRIMARY KEY, "ts" TEXT NOT NULL, "channel" TEXT, "nick" TEXT NOT NULL,
        "kind" TEXT NOT NULL, "text" TEXT, "target" TEXT, "replay" INTEGER DEFAULT 0)""",
    'CREATE INDEX IF NOT EXISTS "idx_events_ts" ON "events" ("ts")',
    'CREATE INDEX IF NOT EXISTS "idx_events_nick_ts" ON "events" ("nick", "ts")',
    *_FTS_EVENTS,
    # work queue
    """CREATE TABLE IF NOT EXISTS issues (
        id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL DEFAULT '',
        project TEXT, role TEXT, skill TEXT, priority INTEGER NOT NULL DEFAULT 3,
        state TEXT NOT NULL, assignee TEXT, created_by TEXT NOT NULL,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS issues_state ON issues(state, priority)",
    """CREATE TABLE IF NOT EXISTS issue_comments (
        id INTEGER PRIMARY KEY, issue_id INTEGER NOT NULL REFERENCES issues(id),
        ts TEXT NOT NULL, who TEXT NOT NULL, text TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS issue_transitions (
        id INTEGER PRIMARY KEY, issue_id INTEGER NOT NULL REFERENCES issues(id),
        ts TEXT NOT NULL, who TEXT NOT NULL, from_state TEXT, to_state TEXT NOT NULL, note TEXT)""",
    "CREATE INDEX IF NOT EXISTS issue_transitions_issue ON issue_transitions(issue_id)",
    # digest check-ins
    """CREATE TABLE IF NOT EXISTS digest_checkins (
        session TEXT PRIMARY KEY, last_event_id INTEGER NOT NULL, checked_at REAL NOT NULL)""",
    # dispatcher
    """CREATE TABLE IF NOT EXISTS dispatch_audit (
        id INTEGER PRIMARY KEY, ts REAL NOT NULL, acted INTEGER NOT NULL, kind TEXT,
        session TEXT, project TEXT, issue_id INTEGER, skill TEXT, reason TEXT NOT NULL,
        text TEXT, delivery TEXT)""",
    "CREATE INDEX IF NOT EXISTS dispatch_audit_session ON dispatch_audit(session, ts)",
    "CREATE TABLE IF NOT EXISTS dispatch_dnd (session TEXT PRIMARY KEY, until REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS dispatch_flags (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS dispatch_seen (session TEXT PRIMARY KEY, first_seen REAL NOT NULL)",
    # knowledge corpus: documents, passages + FTS5, vector cache, ingest log
    """CREATE TABLE IF NOT EXISTS corpus_docs (
        id INTEGER PRIMARY KEY, root TEXT NOT NULL, path TEXT NOT NULL, title TEXT,
        date TEXT, tags TEXT, sha256 TEXT NOT NULL, bytes INTEGER, chunks INTEGER,
        ingested_at REAL, UNIQUE(root, path))""",
    """CREATE TABLE IF NOT EXISTS corpus_chunks (
        id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL REFERENCES corpus_docs(id),
        path TEXT NOT NULL, title TEXT, heading TEXT, anchor TEXT NOT NULL,
        ordinal INTEGER, text TEXT NOT NULL, hash TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS corpus_chunks_doc ON corpus_chunks(doc_id)",
    """CREATE TABLE IF NOT EXISTS corpus_vectors (
        hash TEXT NOT NULL, model TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY(hash, model))""",
    """CREATE TABLE IF NOT EXISTS corpus_ingests (
        id INTEGER PRIMARY KEY, started REAL, finished REAL, roots TEXT, added INTEGER,
        updated INTEGER, unchanged INTEGER, removed INTEGER, skipped INTEGER, chunks INTEGER,
        embedded INTEGER, dense TEXT)""",
    *_FTS_CORPUS,
    # knowledge answers
    """CREATE TABLE IF NOT EXISTS knowledge_answers (
        id INTEGER PRIMARY KEY, created REAL NOT NULL, asker TEXT, request_id TEXT,
        question TEXT NOT NULL, answer TEXT NOT NULL, idk INTEGER NOT NULL,
        confidence REAL NOT NULL, sources TEXT NOT NULL, backend TEXT NOT NULL, note TEXT,
        latency_ms REAL, retrieval_ms REAL)""",
    "CREATE INDEX IF NOT EXISTS knowledge_answers_created ON knowledge_answers(created)",
    # session inboxes
    """CREATE TABLE IF NOT EXISTS inbox (
        id INTEGER PRIMARY KEY, session TEXT NOT NULL, sender TEXT NOT NULL, text TEXT NOT NULL,
        created REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0, delivered_at REAL, reason TEXT,
        read INTEGER NOT NULL DEFAULT 0, hops INTEGER NOT NULL DEFAULT 0,
        notify INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS inbox_session_state ON inbox (session, state, id)",
    # sweep: captures, questions, approvals
    """CREATE TABLE IF NOT EXISTS sweep_captures (
        id INTEGER PRIMARY KEY, session TEXT NOT NULL,
        ts REAL NOT NULL, last_seen REAL NOT NULL, seen INTEGER NOT NULL DEFAULT 1,
        state TEXT NOT NULL, reason TEXT, source TEXT,
        hash TEXT NOT NULL, shape TEXT NOT NULL, text TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS sweep_captures_session ON sweep_captures(session, id)",
    "CREATE INDEX IF NOT EXISTS sweep_captures_last_seen ON sweep_captures(last_seen)",
    """CREATE TABLE IF NOT EXISTS sweep_questions (
        id INTEGER PRIMARY KEY, qid TEXT NOT NULL UNIQUE, session TEXT NOT NULL,
        question TEXT NOT NULL, qhash TEXT NOT NULL, asked_at REAL NOT NULL,
        status TEXT NOT NULL, confidence REAL, answer TEXT, resolved_at REAL,
        asked_again_at REAL, UNIQUE(session, qhash))""",
    """CREATE TABLE IF NOT EXISTS sweep_approvals (
        id INTEGER PRIMARY KEY, ts REAL NOT NULL, session TEXT NOT NULL, rule TEXT NOT NULL,
        tool TEXT, keys TEXT NOT NULL, prompt TEXT NOT NULL, outcome TEXT)""",
))

CRASH_RECOVERY = Migration("inbox.entered: when Enter was about to be pressed, so a restart can "
                           "tell a half-typed delivery from a submitted one", (
    "ALTER TABLE inbox ADD COLUMN entered REAL",
))

KNOWLEDGE_VERDICTS = Migration("knowledge_feedback: an operator's verdict on an answer (!right / "
                               "!wrong k42), for the live calibration table; and every corpus "
                               "file ingested again, so passages lose their markup", (
    """CREATE TABLE IF NOT EXISTS knowledge_feedback (
        id INTEGER PRIMARY KEY, answer_id INTEGER NOT NULL REFERENCES knowledge_answers(id),
        created REAL NOT NULL, judge TEXT NOT NULL, right INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS knowledge_feedback_answer ON knowledge_feedback(answer_id)",
    "UPDATE corpus_docs SET sha256 = ''",
))

KNOWLEDGE_COVERAGE = Migration("knowledge_answers.coverage: the chance that the corpus covers "
                               "the question, beside the confidence, so an \"I don't know\" "
                               "shows which floor it fell under", (
    "ALTER TABLE knowledge_answers ADD COLUMN coverage REAL",
))

RECORD_BATCH_INDEX = Migration("events_fts filled a batch at a time by the record's writer "
                               "(breakroom.record.events.append), not by a trigger per row: "
                               "four times the events per second", (
    'DROP TRIGGER IF EXISTS "events_ai"',
))
SWEEP_VERDICTS = Migration("sweep_questions.answer_id: the knowledge answer the sweep typed, and "
                           "reply: what the agent's next turn made of it, so an answer the agent "
                           "rejects is recorded as a verdict against it; "
                           "knowledge_answers.model_confidence: the confidence model's own figure "
                           "before the per-corpus correction that verdicts fit", (
    "ALTER TABLE sweep_questions ADD COLUMN answer_id INTEGER REFERENCES knowledge_answers(id)",
    "ALTER TABLE sweep_questions ADD COLUMN reply TEXT",
    "ALTER TABLE knowledge_answers ADD COLUMN model_confidence REAL",
))

REMOTE_CONTROL = Migration(
    "running the fleet from IRC: relayed permission prompts and their decisions (the sweep's "
    "policy approvals copied in; sweep_approvals is kept, no longer written), pauses (the "
    "dispatcher's old pause flag becomes a fleet-wide pause) and limit holds that survive a "
    "restart, spend read from the agents' transcripts, and read receipts in the inbox", (
        """CREATE TABLE IF NOT EXISTS permission_prompts (
            id INTEGER PRIMARY KEY, pid TEXT NOT NULL UNIQUE, session TEXT NOT NULL, agent TEXT,
            tool TEXT, what TEXT NOT NULL, source TEXT NOT NULL, opened REAL NOT NULL,
            decided REAL, decision TEXT, by TEXT, how TEXT)""",
        "CREATE INDEX IF NOT EXISTS permission_prompts_opened ON permission_prompts(opened)",
        """INSERT INTO permission_prompts (pid, session, agent, tool, what, source, opened, decided,
                                           decision, by, how)
            SELECT 'sweep' || id, session, NULL, tool, prompt, 'screen', ts, ts,
                   CASE WHEN outcome LIKE 'failed%' THEN 'failed' ELSE 'allow' END, 'sweep',
                   'policy rule "' || rule || '" pressed ' || keys
            FROM sweep_approvals""",
        """CREATE TABLE IF NOT EXISTS pauses (
            scope TEXT PRIMARY KEY, by TEXT NOT NULL, since REAL NOT NULL)""",
        """INSERT OR IGNORE INTO pauses (scope, by, since)
            SELECT '*', 'the dispatcher''s !pause (before the upgrade)', 0
            FROM dispatch_flags WHERE key = 'paused' AND value = '1'""",
        """CREATE TABLE IF NOT EXISTS limit_holds (
            session TEXT PRIMARY KEY, state TEXT NOT NULL, reason TEXT NOT NULL,
            since REAL NOT NULL, until REAL NOT NULL, attempt INTEGER NOT NULL,
            released REAL)""",
        """CREATE TABLE IF NOT EXISTS spend_transcripts (
            path TEXT PRIMARY KEY, session TEXT NOT NULL, device INTEGER, inode INTEGER,
            head TEXT, offset INTEGER NOT NULL DEFAULT 0, read_at REAL)""",
        """CREATE TABLE IF NOT EXISTS spend_messages (
            session TEXT NOT NULL, message TEXT NOT NULL, model TEXT NOT NULL, ts REAL NOT NULL,
            day TEXT NOT NULL, input INTEGER NOT NULL, output INTEGER NOT NULL,
            cache_write INTEGER NOT NULL, cache_write_1h INTEGER NOT NULL,
            cache_read INTEGER NOT NULL, PRIMARY KEY (session, message))""",
        "CREATE INDEX IF NOT EXISTS spend_messages_ts ON spend_messages(ts)",
        "CREATE INDEX IF NOT EXISTS spend_messages_day ON spend_messages(day, session)",
        """CREATE TABLE IF NOT EXISTS spend_alerts (
            day TEXT NOT NULL, scope TEXT NOT NULL, threshold INTEGER NOT NULL, at REAL NOT NULL,
            PRIMARY KEY (day, scope, threshold))""",
        "ALTER TABLE inbox ADD COLUMN read_at REAL",
        "ALTER TABLE inbox ADD COLUMN read_via TEXT",
        "ALTER TABLE inbox ADD COLUMN read_told INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE inbox ADD COLUMN from_session TEXT",
        "CREATE INDEX IF NOT EXISTS inbox_from_session ON inbox (from_session, id)",
        "CREATE INDEX IF NOT EXISTS inbox_reads_to_tell ON inbox (id) WHERE read_told = 0",
    ))

MIGRATIONS: tuple[Migration, ...] = (
    V0_1,
    CRASH_RECOVERY,
    KNOWLEDGE_VERDICTS,
    KNOWLEDGE_COVERAGE,
    RECORD_BATCH_INDEX,
    SWEEP_VERDICTS,
    REMOTE_CONTROL,
)


def version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring ``db`` to the latest version; returns it.

    Each migration runs in its own write transaction together with its version bump, so a
    failure leaves the database at the last good version; the version is read again under
    the write lock, so two processes opening a new database at once migrate it once.
    """
    latest = len(migrations)
    current = version(db)
    if current > latest:
        raise BreakroomError(f"{db_file(db)}: the database has schema version {current}, newer than "
                             f"this breakroom knows ({latest}); upgrade breakroom to open it")
    while current < latest:
        db.execute("BEGIN IMMEDIATE")
        try:
            current = version(db)
            if current < latest:
                for statement in migrations[current].statements:
                    db.execute(statement)
                current += 1
                db.execute(f"PRAGMA user_version = {current}")
        except BaseException as exc:
            db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise BreakroomError(f"{db_file(db)}: schema migration {current + 1} "
                                     f"({migrations[current].why}) failed: {exc}") from None
            raise
        db.execute("COMMIT")
    return current


def db_file(db: sqlite_utils.Database) -> str:
    """The file behind ``db``, for messages."""
    row = db.execute("PRAGMA database_list").fetchone()
    return str(row[2]) if row and row[2] else ":memory:"
