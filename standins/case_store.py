"""SQLite storage behind the case-system stand-in: cases, documents, journal notes, and the
idempotency keys that make a retried creating POST return the first result instead of a copy.

One connection guarded by a lock: the stand-in runs in one process, SQLite serialises writes
anyway, and a file survives the crash tests (WAL, synchronous=FULL) so they can count rows.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from standins.sample_data import Sample

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    case_type TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    citizen_cpr TEXT,
    citizen_name TEXT,
    department TEXT,
    team TEXT,
    kle TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_by_citizen ON cases (citizen_cpr);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL REFERENCES cases (id),
    title TEXT NOT NULL,
    document_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_case ON documents (case_id);
CREATE TABLE IF NOT EXISTS journal_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL REFERENCES cases (id),
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_by_case ON journal_notes (case_id);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

CASE_COLUMNS = ("id", "title", "case_type", "status", "citizen_cpr", "citizen_name",
                "department", "team", "kle", "created_at", "updated_at")
DOCUMENT_COLUMNS = ("id", "case_id", "title", "document_type", "filename", "content_type",
                    "size", "sha256", "created_at")


class IdempotencyConflict(Exception):
    """The key was used before for a different request."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def fingerprint(method: str, path: str, payload: str) -> str:
    return hashlib.sha256(f"{method} {path}\n{payload}".encode()).hexdigest()


class CaseStore:
    """``db_path=None`` keeps everything in memory (quick tests); a path persists."""

    def __init__(self, db_path: str | None) -> None:
        self.db_path = db_path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(db_path or ":memory:", check_same_thread=False,
                                   isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA busy_timeout = 10000")
        if db_path:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
        with self._lock:
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking SQLite's lock up front."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    def idempotent(self, key: str | None, print_: str,
                   create: Callable[[sqlite3.Connection], tuple[int, dict[str, Any]]],
                   ) -> tuple[int, dict[str, Any], bool]:
        """Run ``create`` once per key, in the same transaction that records the key.

        Returns (status, body, replayed). A key seen before with the same request returns the
        stored answer and creates nothing; with a different request it is a conflict.
        """
        with self.write() as db:
            if key is not None:
                row = db.execute("SELECT fingerprint, status, body FROM idempotency_keys "
                                 "WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    if row["fingerprint"] != print_:
                        raise IdempotencyConflict(key)
                    return row["status"], json.loads(row["body"]), True
            status, body = create(db)
            if key is not None:
                db.execute("INSERT INTO idempotency_keys VALUES (?, ?, ?, ?, ?)",
                           (key, print_, status, json.dumps(body), now()))
            return status, body, False

    # -- cases -------------------------------------------------------------------------------

    def get_case(self, case_id: str) -> dict[str, Any] | None:
        with self.read() as db:
            row = db.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
        return dict(row) if row else None

    def find_cases(self, *, citizen_cpr: str | None = None, status: str | None = None,
                   case_type: str | None = None, department: str | None = None,
                   ) -> list[dict[str, Any]]:
        clauses, args = [], []
        for column, value in (("citizen_cpr", citizen_cpr), ("status", status),
                              ("case_type", case_type), ("department", department)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self.read() as db:
            rows = db.execute(f"SELECT * FROM cases {where} ORDER BY id", args).fetchall()
        return [dict(row) for row in rows]

    @staticmethod
    def insert_case(db: sqlite3.Connection, fields: dict[str, Any],
                    case_id: str | None = None) -> dict[str, Any]:
        stamp = now()
        if case_id is None:
            year = stamp[:4]
            prefix = f"SAG-{year}-"
            last = db.execute("SELECT max(id) FROM cases WHERE id LIKE ?",
                              (prefix + "%",)).fetchone()[0]
            case_id = f"{prefix}{int(last.rsplit('-', 1)[1]) + 1 if last else 1:04d}"
        row = {"id": case_id, "status": "open", "created_at": stamp, "updated_at": stamp,
               **{k: fields.get(k) for k in CASE_COLUMNS if k in fields and k != "id"}}
        columns = ", ".join(row)
        db.execute(f"INSERT INTO cases ({columns}) VALUES ({', '.join('?' * len(row))})",
                   tuple(row.values()))
        return dict(db.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone())

    def update_case(self, case_id: str, **fields: Any) -> dict[str, Any]:
        sets = ", ".join(f"{name} = ?" for name in fields)
        with self.write() as db:
            db.execute(f"UPDATE cases SET {sets}, updated_at = ? WHERE id = ?",
                       (*fields.values(), now(), case_id))
            return dict(db.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone())

    # -- documents and notes -----------------------------------------------------------------

    @staticmethod
    def insert_document(db: sqlite3.Connection, case_id: str, *, title: str,
                        document_type: str, filename: str, content_type: str,
                        content: bytes) -> dict[str, Any]:
        cursor = db.execute(
            "INSERT INTO documents (case_id, title, document_type, filename, content_type, size,"
            " sha256, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (case_id, title, document_type, filename, content_type, len(content),
             hashlib.sha256(content).hexdigest(), content, now()))
        return _document(db.execute("SELECT * FROM documents WHERE id = ?",
                                    (cursor.lastrowid,)).fetchone())

    def list_documents(self, case_id: str, document_type: str | None = None,
                       ) -> list[dict[str, Any]]:
        query = "SELECT * FROM documents WHERE case_id = ?"
        args: list[Any] = [case_id]
        if document_type is not None:
            query += " AND document_type = ?"
            args.append(document_type)
        with self.read() as db:
            return [_document(row) for row in db.execute(query + " ORDER BY id", args)]

    def get_document(self, case_id: str, document_id: int,
                     ) -> tuple[dict[str, Any], bytes] | None:
        with self.read() as db:
            row = db.execute("SELECT * FROM documents WHERE case_id = ? AND id = ?",
                             (case_id, document_id)).fetchone()
        return (_document(row), bytes(row["content"])) if row else None

    @staticmethod
    def insert_note(db: sqlite3.Connection, case_id: str, text: str,
                    author: str) -> dict[str, Any]:
        cursor = db.execute("INSERT INTO journal_notes (case_id, text, author, created_at) "
                            "VALUES (?, ?, ?, ?)", (case_id, text, author, now()))
        return dict(db.execute("SELECT * FROM journal_notes WHERE id = ?",
                               (cursor.lastrowid,)).fetchone())

    def list_notes(self, case_id: str) -> list[dict[str, Any]]:
        with self.read() as db:
            rows = db.execute("SELECT * FROM journal_notes WHERE case_id = ? ORDER BY id",
                              (case_id,)).fetchall()
        return [dict(row) for row in rows]

    # -- seeding and counting ----------------------------------------------------------------

    def seed(self, sample: Sample) -> None:
        """Load the sample cases unless the database already has cases (idempotent)."""
        with self.write() as db:
            if db.execute("SELECT count(*) FROM cases").fetchone()[0]:
                return
            for case in sample.cases:
                person = sample.person(case.citizen_cpr)
                fields = case.model_dump(exclude={"documents", "notes", "id"})
                fields["citizen_name"] = person.name if person else None
                self.insert_case(db, fields, case_id=case.id)
                for doc in case.documents:
                    self.insert_document(db, case.id, title=doc.title,
                                         document_type=doc.document_type, filename=doc.filename,
                                         content_type=doc.content_type,
                                         content=doc.text.encode())
                for note in case.notes:
                    self.insert_note(db, case.id, note.text, note.author)

    def stats(self) -> dict[str, int]:
        with self.read() as db:
            return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    for table in ("cases", "documents", "journal_notes", "idempotency_keys")}


def _document(row: sqlite3.Row) -> dict[str, Any]:
    return {name: row[name] for name in DOCUMENT_COLUMNS}
