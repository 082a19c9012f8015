"""The campaign results store: one SQLite file (``campaign.sqlite``), written by one coordinator.

The database runs in WAL mode with ``synchronous=NORMAL``: every finished job is one committed
transaction, and a committed transaction survives the coordinator being killed at any moment
(SIGKILL included); an interrupted write is rolled back by SQLite when the file is next
opened, so no half-written row is ever seen. (A power cut may lose the last few commits; the
jobs then simply run again.) Only the coordinating process writes; readers such as
``autospec campaign status`` may open it while a campaign runs.

Opening checks the file: not a SQLite database, a failed ``PRAGMA quick_check``, a lock held
past the busy timeout, or a schema from a newer version all raise :class:`StoreError` with a
one-line message. The schema evolves by the numbered migrations in
:mod:`autospec_cli.campaign.migrations`, applied on open.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autospec_cli.campaign import migrations
from autospec_cli.campaign.jobs import JobSpec
from autospec_cli.campaign.runner import Outcome
from autospec_cli.errors import ConfigError, StoreError

STORE_FILE = "campaign.sqlite"
LOCK_FILE = "campaign.lock"
STATUSES = ("pending", "done", "failed", "timeout")
FINISHED = ("done", "failed", "timeout")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_COLUMNS = ("id, kind, params, inputs, timeout, status, result, error, created, started, "
            "finished, duration, attempts, worker, host")


def store_path(path: str | os.PathLike[str]) -> Path:
    """The database file for a campaign folder (or ``path`` itself if it names a file)."""
    p = Path(path)
    return p if p.suffix in (".sqlite", ".db") else p / STORE_FILE


@dataclass(frozen=True)
class JobRecord:
    """One row of the ``jobs`` table, with ``params`` and ``result`` decoded from JSON."""

    id: str
    kind: str
    params: dict[str, Any]
    inputs: dict[str, str] | None
    timeout: float | None
    status: str
    result: dict[str, Any] | None
    error: str | None
    created: float
    started: float | None
    finished: float | None
    duration: float | None
    attempts: int
    worker: str | None
    host: str | None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> JobRecord:
        (id_, kind, params, inputs, timeout, status, result, error, created, started, finished,
         duration, attempts, worker, host) = row
        return cls(id_, kind, json.loads(params), json.loads(inputs) if inputs else None,
                   timeout, status, json.loads(result) if result else None, error, created,
                   started, finished, duration, attempts, worker, host)

    @property
    def spec(self) -> JobSpec:
        """The job as a :class:`JobSpec` (same id)."""
        return JobSpec(self.kind, self.params, self.inputs, self.timeout)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class StoreStats:
    """Counts per status and per kind, job time and runs: what ``campaign status`` shows."""

    path: str
    total: int
    by_status: dict[str, int]
    by_kind: dict[str, dict[str, int]]
    job_time: float
    first_started: float | None
    last_finished: float | None
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.by_status.get("pending", 0) == 0

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["complete"] = self.complete
        d["run_time"] = sum((r["finished"] or r["started"]) - r["started"] for r in self.runs)
        return d


class CampaignStore:
    """A campaign's SQLite store. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True,
                 busy_timeout: float = 5.0, writable: bool = True) -> None:
        self.path = store_path(path)
        self.busy_timeout = busy_timeout
        self._lock_fd: int | None = None
        if not self.path.exists() and not create:
            raise StoreError(f"no campaign store at {self.path}; check the folder name or run "
                             "a campaign there first")
        self._check_header()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
        try:
            self._open(writable)
        except BaseException:
            self.db.close()
            raise

    # -- opening -------------------------------------------------------------------------------

    def _check_header(self) -> None:
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb") as fh:
            if fh.read(16) != _SQLITE_MAGIC:
                raise StoreError(f"{self.path} is not a SQLite database (corrupt or another "
                                 "kind of file); move it aside and run the campaign again")

    def _open(self, writable: bool) -> None:
        with self._translate():
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            problems = [r[0] for r in self.db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise self._corrupt("; ".join(problems[:3]))
            newer = migrations.unknown(self.db)
            if newer:
                raise StoreError(f"{self.path} was written by a newer autospec (unknown schema "
                                 f"migration {newer[0]}); upgrade autospec to use it")
            self.applied_now = migrations.migrate(self.db)
            if writable:  # fail now, not after the first job, if someone holds the write lock
                self.db.execute("BEGIN IMMEDIATE")
                self.db.execute("ROLLBACK")

    def _corrupt(self, detail: str) -> StoreError:
        detail = " ".join(detail.split())[:200]
        return StoreError(f"{self.path} is corrupt ({detail}); restore a backup or move it "
                          "aside and run the campaign again")

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            msg = " ".join(str(e).split())
            if "locked" in msg or "busy" in msg:
                raise StoreError(f"{self.path} is locked by another process (waited "
                                 f"{self.busy_timeout:g} s); wait for it to finish or stop it"
                                 ) from None
            if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
                raise self._corrupt(msg) from None
            raise StoreError(f"{self.path}: {msg}") from None

    def close(self) -> None:
        """Close the database (and release the coordinator lock if held)."""
        self.release_lock()
        self.db.close()

    def __enter__(self) -> CampaignStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the coordinator lock ------------------------------------------------------------------

    @property
    def lock_path(self) -> Path:
        if self.path.name == STORE_FILE:
            return self.path.parent / LOCK_FILE
        return self.path.with_name(self.path.name + ".lock")

    def acquire_lock(self) -> None:
        """Become the campaign's only coordinator (an OS file lock, freed if the process dies)."""
        import fcntl

        if self._lock_fd is not None:
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise StoreError(f"campaign {self.path.parent} is being run by another process "
                             f"({holder}); wait for it to finish or stop it") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self._lock_fd = fd

    @property
    def holds_lock(self) -> bool:
        """Whether this store object is the campaign's coordinator (see :meth:`acquire_lock`)."""
        return self._lock_fd is not None

    def release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- writing (coordinator only) ------------------------------------------------------------

    def add_jobs(self, specs: Iterable[JobSpec]) -> int:
        """Insert the jobs not yet in the store (one transaction); return how many were new."""
        now = time.time()
        rows = [(s.id, s.kind, s.params_json,
                 json.dumps(s.inputs, sort_keys=True) if s.inputs else None, s.timeout, now)
                for s in specs]
        with self._translate():
            before = self.db.total_changes
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany("INSERT OR IGNORE INTO jobs (id, kind, params, inputs, "
                                    "timeout, created) VALUES (?, ?, ?, ?, ?, ?)", rows)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            return self.db.total_changes - before

    def record(self, outcome: Outcome) -> None:
        """Store how one job ended: one transaction, so it is either fully there or not."""
        if outcome.status not in FINISHED:
            raise ConfigError(f"cannot record status {outcome.status!r}")
        with self._translate():
            self.db.execute(
                "UPDATE jobs SET status = ?, result = ?, error = ?, started = ?, finished = ?, "
                "duration = ?, attempts = attempts + 1, worker = ?, host = ? WHERE id = ?",
                (outcome.status, outcome.result_json, outcome.error, outcome.started,
                 outcome.finished, outcome.duration, outcome.worker, outcome.host,
                 outcome.job_id))

    def reset(self, statuses: Iterable[str], kind: str | None = None) -> int:
        """Mark jobs with one of ``statuses`` (of ``kind``) pending again; return how many."""
        wanted = sorted(set(statuses))
        bad = [s for s in wanted if s not in FINISHED]
        if bad or not wanted:
            raise ConfigError(f"cannot reset status {', '.join(bad) or '(none)'}; choose from "
                              f"{', '.join(FINISHED)}")
        sql = (f"UPDATE jobs SET status = 'pending', result = NULL, error = NULL "
               f"WHERE status IN ({', '.join('?' * len(wanted))})")
        args: list[Any] = list(wanted)
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        with self._translate():
            return self.db.execute(sql, args).rowcount

    def clear(self) -> int:
        """Delete every job and run record (start the campaign over); return the jobs deleted.

        Call with the coordinator lock held (:meth:`acquire_lock`).
        """
        with self._translate():
            self.db.execute("BEGIN IMMEDIATE")
            try:
                n = self.db.execute("DELETE FROM jobs").rowcount
                self.db.execute("DELETE FROM runs")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return n

    def start_run(self, executor: str, requested: int) -> int:
        with self._translate():
            cur = self.db.execute("INSERT INTO runs (started, executor, host, pid, requested) "
                                  "VALUES (?, ?, ?, ?, ?)", (time.time(), executor,
                                                             socket.gethostname(), os.getpid(),
                                                             requested))
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, ran: int, done: int, failed: int, timeout: int) -> None:
        with self._translate():
            self.db.execute("UPDATE runs SET finished = ?, ran = ?, done = ?, failed = ?, "
                            "timeout = ? WHERE id = ?",
                            (time.time(), ran, done, failed, timeout, run_id))

    def save_kinds(self, targets: dict[str, str]) -> None:
        """Remember each kind's ``module:function`` so a later resume can find it."""
        with self._translate():
            self.db.executemany("INSERT OR REPLACE INTO kinds (kind, target) VALUES (?, ?)",
                                sorted(targets.items()))

    # -- reading -------------------------------------------------------------------------------

    def statuses(self) -> dict[str, str]:
        """``{job id: status}`` for every job in the store."""
        with self._translate():
            return dict(self.db.execute("SELECT id, status FROM jobs"))

    def kinds(self) -> dict[str, str]:
        """Kind -> ``module:function`` recorded by earlier runs."""
        with self._translate():
            return dict(self.db.execute("SELECT kind, target FROM kinds"))

    def get(self, job_id: str) -> JobRecord | None:
        with self._translate():
            row = self.db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?",
                                  (job_id,)).fetchone()
        return JobRecord.from_row(row) if row else None

    def iter_results(self, kind: str | None = None, *,
                     status: str | Iterable[str] | None = None) -> Iterator[JobRecord]:
        """Job records in insertion order, optionally only of ``kind`` / with ``status``."""
        where, args = [], []
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            args.extend(wanted)
        sql = f"SELECT {_COLUMNS} FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._translate():
            rows = self.db.execute(sql + " ORDER BY rowid", args).fetchall()
        return (JobRecord.from_row(r) for r in rows)

    def results(self, kind: str | None = None, *,
                status: str | Iterable[str] | None = None) -> list[JobRecord]:
        """All job records (of ``kind``, with ``status``) in insertion order, for reports."""
        return list(self.iter_results(kind, status=status))

    def pending(self, kind: str | None = None) -> list[JobRecord]:
        return self.results(kind, status="pending")

    def counts(self) -> dict[str, dict[str, int]]:
        """``{kind: {status: n}}``."""
        out: dict[str, dict[str, int]] = {}
        with self._translate():
            for kind, status, n in self.db.execute(
                    "SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status"):
                out.setdefault(kind, {})[status] = n
        return out

    def runs(self) -> list[dict[str, Any]]:
        with self._translate():
            cur = self.db.execute("SELECT * FROM runs ORDER BY id")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def migrations_applied(self) -> list[str]:
        with self._translate():
            return migrations.applied(self.db)

    def stats(self) -> StoreStats:
        """Counts per status and kind, time spent in jobs, and the runs so far."""
        by_kind = self.counts()
        by_status = {s: 0 for s in STATUSES}
        for per in by_kind.values():
            for s, n in per.items():
                by_status[s] = by_status.get(s, 0) + n
        with self._translate():
            job_time, first, last = self.db.execute(
                "SELECT COALESCE(SUM(duration), 0), MIN(started), MAX(finished) FROM jobs "
                "WHERE status != 'pending'").fetchone()
        return StoreStats(str(self.path), sum(by_status.values()), by_status, by_kind,
                          float(job_time), first, last, self.runs())

    def check(self, full: bool = True) -> None:
        """Run ``PRAGMA integrity_check`` (or ``quick_check``); raise StoreError on problems."""
        pragma = "integrity_check" if full else "quick_check"
        with self._translate():
            problems = [r[0] for r in self.db.execute(f"PRAGMA {pragma}")]
        if problems != ["ok"]:
            raise self._corrupt("; ".join(problems[:3]))
