"""The Dask executor on a loopback LocalCluster gives the same stored results as local."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from campaign_helpers import wait_gone

from autospec_cli.campaign.engine import run_campaign
from autospec_cli.campaign.jobs import JobSpec
from autospec_cli.campaign.local import LocalExecutor
from autospec_cli.campaign.store import CampaignStore

pytest.importorskip("distributed")

from autospec_cli.campaign.dask_executor import DaskExecutor  # noqa: E402


@pytest.fixture(scope="module")
def dask_local() -> Iterator[DaskExecutor]:
    with DaskExecutor(None, jobs=2) as ex:
        yield ex


def _jobs() -> list[JobSpec]:
    return [*(JobSpec("probe.echo", {"value": i}) for i in range(40)),
            JobSpec("probe.echo", {"value": "text"}),
            JobSpec("probe.fail", {"message": "boom"}),
            JobSpec("probe.sleep", {"seconds": 0.01, "value": 1}, timeout=20)]  # isolated


def _stored(folder: Path) -> dict[str, tuple]:
    with CampaignStore(folder, create=False) as store:
        return {r.id: (r.kind, r.status, r.result, (r.error or "").split("\n")[0])
                for r in store.results()}


def test_same_campaign_same_results_on_local_and_dask(tmp_path: Path,
                                                      dask_local: DaskExecutor) -> None:
    local = run_campaign(tmp_path / "local", _jobs(), LocalExecutor(jobs=2))
    dask = run_campaign(tmp_path / "dask", _jobs(), dask_local)
    assert (local.done, local.failed) == (dask.done, dask.failed) == (42, 1)
    assert _stored(tmp_path / "local") == _stored(tmp_path / "dask")
    with CampaignStore(tmp_path / "dask") as store:
        workers = {r.worker for r in store.results()}
    assert all(w.startswith("dask:tcp://127.0.0.1:") for w in workers)
    again = run_campaign(tmp_path / "dask", _jobs(), dask_local)
    assert again.ran == 0 and again.skipped == 43


def test_dask_timeout_kills_the_job_process_group(tmp_path: Path,
                                                  dask_local: DaskExecutor) -> None:
    pid_file = tmp_path / "child.pid"
    jobs = [JobSpec("probe.sleep", {"seconds": 1000, "child_pid_file": str(pid_file)},
                    timeout=1.0),
            JobSpec("probe.exit", {"code": 5}, timeout=10)]
    summary = run_campaign(tmp_path / "c", jobs, dask_local)
    assert (summary.timeout, summary.failed) == (1, 1)
    with CampaignStore(tmp_path / "c") as store:
        hung, died = (store.get(j.id) for j in jobs)
    assert hung is not None and hung.status == "timeout" and "hard timeout" in hung.error
    assert died is not None and "exit code 5" in died.error
    assert wait_gone(int(pid_file.read_text()))
