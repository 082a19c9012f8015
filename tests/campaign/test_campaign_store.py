"""The SQLite store: migrations, WAL, records, locks and corrupt files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autospec_cli.campaign import migrations
from autospec_cli.campaign.jobs import JobSpec
from autospec_cli.campaign.runner import Outcome
from autospec_cli.campaign.store import CampaignStore
from autospec_cli.errors import ConfigError, StoreError


def _store_with_jobs(folder: Path, n: int = 5) -> list[JobSpec]:
    specs = [JobSpec("probe.echo", {"value": i}) for i in range(n)]
    with CampaignStore(folder) as store:
        assert store.add_jobs(specs) == n
    return specs


def test_new_store_is_wal_and_records_each_migration_once(tmp_path: Path) -> None:
    with CampaignStore(tmp_path / "c") as store:
        names = [name for name, _ in migrations.MIGRATIONS]
        assert names[:2] == ["m001_initial", "m002_runs"]
        assert store.applied_now == names
        assert store.migrations_applied() == names
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(names)
    with CampaignStore(tmp_path / "c") as store:
        assert store.applied_now == []
        rows = store.db.execute("SELECT name FROM _migrations").fetchall()
        assert sorted(r[0] for r in rows) == sorted(names)


def test_a_partial_schema_gets_only_the_missing_migrations(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "old.sqlite", isolation_level=None)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
    migrations.m001_initial(db)
    db.execute("INSERT INTO _migrations VALUES ('m001_initial', 0)")
    db.execute("INSERT INTO jobs (id, kind, params, created) VALUES ('x', 'k', '{}', 0)")
    db.close()
    with CampaignStore(tmp_path / "old.sqlite") as store:
        assert store.applied_now == ["m002_runs"]
        assert store.get("x") is not None  # data kept
        assert store.runs() == []


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    with CampaignStore(tmp_path / "c") as store:
        store.db.execute("INSERT INTO _migrations VALUES ('m999_from_the_future', 1)")
    with pytest.raises(StoreError, match="newer autospec.*m999_from_the_future"):
        CampaignStore(tmp_path / "c")


def test_add_record_results_and_reset(tmp_path: Path) -> None:
    specs = _store_with_jobs(tmp_path / "c")
    with CampaignStore(tmp_path / "c") as store:
        assert store.add_jobs(specs) == 0  # idempotent
        store.record(Outcome(specs[0].id, "done", '{"value":0}', None, 1.0, 2.0, 1.0, "w", "h"))
        store.record(Outcome(specs[1].id, "failed", None, "RuntimeError: x", 1.0, 2.0, 1.0))
        store.record(Outcome(specs[2].id, "timeout", None, "killed", 1.0, 9.0, 8.0))
        with pytest.raises(ConfigError):
            store.record(Outcome(specs[3].id, "pending"))
        rec = store.get(specs[0].id)
        assert rec is not None and rec.result == {"value": 0} and rec.attempts == 1
        assert rec.params == {"value": 0} and rec.worker == "w" and rec.spec == specs[0]
        assert [r.id for r in store.results()] == [s.id for s in specs]  # insertion order
        assert [r.status for r in store.results(status=["failed", "timeout"])] == [
            "failed", "timeout"]
        assert store.results(kind="other") == []
        assert store.counts() == {"probe.echo": {"done": 1, "failed": 1, "timeout": 1,
                                                 "pending": 2}}
        stats = store.stats()
        assert stats.total == 5 and stats.job_time == pytest.approx(10.0)
        assert not stats.complete
        assert store.reset(["failed", "timeout"]) == 2
        again = store.get(specs[1].id)
        assert again is not None and again.status == "pending" and again.error is None
        assert again.attempts == 1  # the history of attempts is kept
        with pytest.raises(ConfigError, match="cannot reset"):
            store.reset(["pending"])


def test_missing_store_is_an_error_when_not_creating(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no campaign store"):
        CampaignStore(tmp_path / "nothing", create=False)


def test_not_a_sqlite_file_is_a_one_line_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "campaign.sqlite").write_text("these are not the bytes you are looking for\n" * 50)
    with pytest.raises(StoreError, match="not a SQLite database") as e:
        CampaignStore(folder)
    assert "\n" not in str(e.value)


def test_damaged_pages_are_a_one_line_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    with CampaignStore(folder) as store:
        store.add_jobs(JobSpec("probe.echo", {"value": i, "pad": "x" * 200}) for i in range(400))
    db = folder / "campaign.sqlite"
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    for start in range(2 * page, len(data) - page, 3 * page):  # scribble over some pages
        data[start + 10:start + 600] = bytes((i * 37) % 251 for i in range(590))
    db.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="corrupt") as e:
        with CampaignStore(folder) as store:
            store.results()  # in case the damage only shows on reading
    assert "\n" not in str(e.value)


HOLD_LOCK = textwrap.dedent("""
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    if sys.argv[2] == "exclusive-mode":
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
    db.execute("BEGIN EXCLUSIVE")
    db.execute("INSERT INTO runs (started, executor) VALUES (0, 'x')")
    print("locked", flush=True)
    time.sleep(30)
""")


@pytest.mark.parametrize("how", ["begin-exclusive", "exclusive-mode"])
def test_a_locked_store_is_a_one_line_store_error(tmp_path: Path, how: str) -> None:
    _store_with_jobs(tmp_path / "c")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK,
                               str(tmp_path / "c" / "campaign.sqlite"), how],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match="locked by another process") as e:
            CampaignStore(tmp_path / "c", busy_timeout=0.2)
        assert "\n" not in str(e.value)
    finally:
        holder.kill()
        holder.wait()
    with CampaignStore(tmp_path / "c", busy_timeout=0.2) as store:  # usable once released
        assert len(store.results()) == 5


def test_only_one_coordinator_holds_the_campaign(tmp_path: Path) -> None:
    with CampaignStore(tmp_path / "c") as first, CampaignStore(tmp_path / "c") as second:
        first.acquire_lock()
        assert first.holds_lock
        with pytest.raises(StoreError, match="being run by another process \\(pid"):
            second.acquire_lock()
        first.release_lock()
        second.acquire_lock()
        assert second.holds_lock


def test_store_path_forms(tmp_path: Path) -> None:
    with CampaignStore(tmp_path / "x.sqlite") as store:
        assert store.path == tmp_path / "x.sqlite"
        assert store.lock_path == tmp_path / "x.sqlite.lock"
    with CampaignStore(tmp_path / "folder") as store:
        assert store.path == tmp_path / "folder" / "campaign.sqlite"
        assert store.lock_path == tmp_path / "folder" / "campaign.lock"
