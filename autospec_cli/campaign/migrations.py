"""The campaign store's schema, as small numbered migrations recorded in the database.

Each migration is a function ``mNNN_name(db)`` registered in order with :func:`migration`.
:func:`migrate` applies the ones a database has not seen, each in its own transaction together
with its row in ``_migrations``, so a crash leaves a database either before or after a step.
A database that records a migration this version does not know was written by a newer
version and is refused. Never edit a released migration; add a new one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration (its name is recorded in the database)."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    """The jobs table: one row per job, updated once when the job finishes."""
    db.execute("""
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            params TEXT NOT NULL,
            inputs TEXT,
            timeout REAL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'done', 'failed', 'timeout')),
            result TEXT,
            error TEXT,
            created REAL NOT NULL,
            started REAL,
            finished REAL,
            duration REAL,
            attempts INTEGER NOT NULL DEFAULT 0,
            worker TEXT,
            host TEXT
        )""")
    db.execute("CREATE INDEX jobs_kind_status ON jobs (kind, status)")
    db.execute("CREATE INDEX jobs_status ON jobs (status)")


@migration
def m002_runs(db: sqlite3.Connection) -> None:
    """Runs (one row per coordinator run, for provenance and time used) and job-kind targets."""
    db.execute("""
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started REAL NOT NULL,
            finished REAL,
            executor TEXT NOT NULL,
            host TEXT,
            pid INTEGER,
            requested INTEGER NOT NULL DEFAULT 0,
            ran INTEGER NOT NULL DEFAULT 0,
            done INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            timeout INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("CREATE TABLE kinds (kind TEXT PRIMARY KEY, target TEXT NOT NULL)")


def applied(db: sqlite3.Connection) -> list[str]:
    """Names of the migrations recorded in ``db`` (empty for a new database)."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").fetchone()
    if not exists:
        return []
    return [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY applied, name")]


def unknown(db: sqlite3.Connection) -> list[str]:
    """Recorded migrations this version does not know (a newer version wrote the database)."""
    known = {name for name, _ in MIGRATIONS}
    return [name for name in applied(db) if name not in known]


def pending(db: sqlite3.Connection) -> list[str]:
    done = set(applied(db))
    return [name for name, _ in MIGRATIONS if name not in done]


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the pending migrations (``db`` in autocommit mode); return the names applied."""
    if not pending(db):
        return []
    done: list[str] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS _migrations "
                   "(name TEXT PRIMARY KEY, applied REAL NOT NULL)")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    for name, fn in MIGRATIONS:
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                db.execute("COMMIT")  # another process applied it meanwhile
                continue
            fn(db)
            db.execute("INSERT INTO _migrations (name, applied) VALUES (?, ?)",
                       (name, time.time()))
            db.execute(f"PRAGMA user_version = {len(applied(db))}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        done.append(name)
    return done
