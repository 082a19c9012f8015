"""`autospec campaign status / reset / run`."""

from __future__ import annotations

import json
from pathlib import Path

from autospec_cli.campaign.engine import run_campaign, write_description
from autospec_cli.campaign.executors import InlineExecutor
from autospec_cli.campaign.jobs import JobSpec


def _campaign(folder: Path) -> None:
    jobs = [JobSpec("probe.echo", {"value": i}) for i in range(4)]
    jobs += [JobSpec("probe.fail", {"message": "x"})]
    run_campaign(folder, jobs, InlineExecutor())
    write_description(folder, {"name": "demo campaign"})


def test_status_json_and_table(cli_runner, tmp_path: Path) -> None:
    _campaign(tmp_path / "c")
    code, out, err = cli_runner("campaign", "status", str(tmp_path / "c"), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["total"] == 5 and info["complete"]
    assert info["by_status"] == {"pending": 0, "done": 4, "failed": 1, "timeout": 0}
    assert info["by_kind"] == {"probe.echo": {"done": 4}, "probe.fail": {"failed": 1}}
    assert info["description"] == {"name": "demo campaign"} and len(info["runs"]) == 1
    code, out, _ = cli_runner("campaign", "status", str(tmp_path / "c"), "--check")
    assert code == 0 and "probe.echo" in out and "demo campaign" in out and "complete" in out


def test_reset_then_run_reruns_the_failed_job(cli_runner, tmp_path: Path) -> None:
    _campaign(tmp_path / "c")
    code, out, _ = cli_runner("--json", "campaign", "reset", str(tmp_path / "c"))
    assert code == 0 and json.loads(out)["reset"] == 1
    code, out, err = cli_runner("--quiet", "campaign", "run", str(tmp_path / "c"), "-j", "1",
                                "--timeout", "30", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["ran"], summary["failed"], summary["executor"]) == (1, 1, "local:1")
    code, out, _ = cli_runner("campaign", "run", str(tmp_path / "c"), "-e", "inline")
    assert code == 0 and "ran 0 job(s)" in out


def test_errors_are_one_line_with_exit_code_2(cli_runner, tmp_path: Path) -> None:
    code, _, err = cli_runner("campaign", "status", str(tmp_path / "missing"))
    assert code == 2 and "no campaign store" in err and "Traceback" not in err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "campaign.sqlite").write_text("not sqlite at all" * 10)
    code, _, err = cli_runner("campaign", "status", str(bad))
    assert code == 2 and "not a SQLite database" in err
    assert len(err.strip().splitlines()) == 1
    _campaign(tmp_path / "c")
    code, _, err = cli_runner("campaign", "reset", str(tmp_path / "c"), "--status", "pending")
    assert code == 2 and "cannot reset" in err


def test_a_campaign_run_by_another_coordinator_is_exit_2(cli_runner, tmp_path: Path) -> None:
    from autospec_cli.campaign.store import CampaignStore

    _campaign(tmp_path / "c")
    with CampaignStore(tmp_path / "c") as other:
        other.acquire_lock()
        code, _, err = cli_runner("campaign", "run", str(tmp_path / "c"), "-e", "inline")
        assert code == 2 and "being run by another process" in err
        assert len(err.strip().splitlines()) == 1
        code, _, err = cli_runner("campaign", "reset", str(tmp_path / "c"))
        assert code == 2 and "being run by another process" in err
    code, _, _ = cli_runner("campaign", "run", str(tmp_path / "c"), "-e", "inline")
    assert code == 0  # the lock went with its holder
