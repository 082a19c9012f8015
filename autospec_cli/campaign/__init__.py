"""Campaigns: resumable runs of many jobs, results in a SQLite store, local or Dask workers.

The generic engine: job ids, kinds, the store and its migrations, executors and the worker.
It knows nothing of what a job does; the packages that submit jobs (verification, GDVB
generation, training studies) own their kinds. Typical use::

    from autospec_cli.campaign import JobSpec, LocalExecutor, run_campaign, open_campaign

    jobs = [JobSpec("probe.echo", {"value": k}) for k in range(10)]
    summary = run_campaign("out/campaign", jobs, LocalExecutor(jobs=4, timeout=90))
    with open_campaign("out/campaign", create=False) as store:
        records = store.results(kind="probe.echo")

Job kinds map to top-level functions ``fn(params: dict) -> dict`` (see
:mod:`autospec_cli.campaign.jobs`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autospec_cli.exports import lazy_exports

# Names are imported on first use, so worker processes (``python -m
# autospec_cli.campaign.worker``) start without loading the store, engine or Dask.
_EXPORTS = {
    "CampaignSummary": "engine", "campaign_status": "engine", "open_campaign": "engine",
    "read_description": "engine", "run_campaign": "engine", "write_description": "engine",
    "Executor": "executors", "InlineExecutor": "executors", "make_executor": "executors",
    "JobSpec": "jobs", "file_inputs": "jobs", "job_kind": "jobs", "register_job_kind": "jobs",
    "LocalExecutor": "local", "DaskExecutor": "dask_executor",
    "Outcome": "runner", "Task": "runner",
    "CampaignStore": "store", "JobRecord": "store", "StoreStats": "store",
}

if TYPE_CHECKING:
    from autospec_cli.campaign.dask_executor import DaskExecutor
    from autospec_cli.campaign.engine import (
        CampaignSummary,
        campaign_status,
        open_campaign,
        read_description,
        run_campaign,
        write_description,
    )
    from autospec_cli.campaign.executors import Executor, InlineExecutor, make_executor
    from autospec_cli.campaign.jobs import JobSpec, file_inputs, job_kind, register_job_kind
    from autospec_cli.campaign.local import LocalExecutor
    from autospec_cli.campaign.runner import Outcome, Task
    from autospec_cli.campaign.store import CampaignStore, JobRecord, StoreStats


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "CampaignStore",
    "CampaignSummary",
    "DaskExecutor",
    "Executor",
    "InlineExecutor",
    "JobRecord",
    "JobSpec",
    "LocalExecutor",
    "Outcome",
    "StoreStats",
    "Task",
    "campaign_status",
    "file_inputs",
    "job_kind",
    "make_executor",
    "open_campaign",
    "read_description",
    "register_job_kind",
    "run_campaign",
    "write_description",
]
