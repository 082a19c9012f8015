"""`autospec campaign ...`: inspect, reset and resume campaigns (resumable runs of many jobs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from autospec_cli.campaign.engine import read_description, run_campaign
from autospec_cli.campaign.executors import make_executor
from autospec_cli.campaign.store import CampaignStore
from autospec_cli.cli.common import (
    JOBS_MAX_OPT,
    FoldingTable,
    console,
    effective_jobs,
    emit_json,
    progress_bars,
    show_progress,
    want_json,
)

campaign_app = typer.Typer(
    help="Inspect, reset and resume campaigns: folders of jobs with results in campaign.sqlite.",
    no_args_is_help=True,
)

DIR_ARG = typer.Argument(..., help="The campaign folder (holding campaign.sqlite).")
JSON_OPT = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")


def register(app: typer.Typer) -> None:
    """Add the ``campaign`` group to the root app."""
    app.add_typer(campaign_app, name="campaign", rich_help_panel="Verification")


def _seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


@campaign_app.command("status")
def status(
    ctx: typer.Context,
    folder: Path = DIR_ARG,
    check: bool = typer.Option(False, "--check", help="Also run a full SQLite integrity check."),
    json_out: bool = JSON_OPT,
) -> None:
    """Show job counts per status and kind, time used and runs of a campaign."""
    with CampaignStore(folder, create=False, writable=False) as store:
        if check:
            store.check(full=True)
        info = store.stats().to_dict()
    info["description"] = read_description(store.path.parent)
    if want_json(ctx, json_out):
        emit_json(info)
        return
    _render_status(info)


def _render_status(info: dict[str, Any]) -> None:
    from autospec_cli.inert import inert as escape

    by = info["by_status"]
    state = "complete" if info["complete"] else f"{by.get('pending', 0)} pending"
    console.print(f"[bold]{escape(info['path'])}[/]: {info['total']} jobs, {state}")
    desc = info.get("description") or {}
    if desc.get("name") or desc.get("description"):
        console.print(escape(str(desc.get("name") or desc.get("description"))))
    statuses = ["pending", "done", "failed", "timeout"]
    t = FoldingTable("kind", *statuses, "total")
    for kind, counts in sorted(info["by_kind"].items()):
        t.add_row(escape(kind), *(str(counts.get(s, 0)) for s in statuses),
                  str(sum(counts.values())))
    t.add_row("[bold]all[/]", *(str(by.get(s, 0)) for s in statuses), str(info["total"]))
    console.print(t)
    runs = info["runs"]
    interrupted = sum(1 for r in runs if r["finished"] is None)
    console.print(f"time in jobs {_seconds(info['job_time'])}, wall time of runs "
                  f"{_seconds(info['run_time'])}, {len(runs)} run(s)"
                  + (f" ({interrupted} interrupted)" if interrupted else ""))


@campaign_app.command("reset")
def reset(
    ctx: typer.Context,
    folder: Path = DIR_ARG,
    statuses: str = typer.Option("failed,timeout", "--status",
                                 help="Comma-separated statuses to mark pending again "
                                      "(failed, timeout, done)."),
    kind: str | None = typer.Option(None, "--kind", help="Only jobs of this kind."),
    json_out: bool = JSON_OPT,
) -> None:
    """Mark finished jobs pending again, so the next run executes them."""
    wanted = [s.strip() for s in statuses.split(",") if s.strip()]
    with CampaignStore(folder, create=False) as store:
        store.acquire_lock()  # not while a coordinator is running the campaign
        n = store.reset(wanted, kind=kind)
    if want_json(ctx, json_out):
        emit_json({"path": str(store.path), "reset": n, "statuses": wanted, "kind": kind})
        return
    console.print(f"{n} job(s) marked pending; run `autospec campaign run {folder}` to run them")


@campaign_app.command("run")
def run(
    ctx: typer.Context,
    folder: Path = DIR_ARG,
    executor: str = typer.Option("local", "--executor", "-e",
                                 help="local, inline, dask-local or dask."),
    jobs: int | None = typer.Option(None, "--jobs", "-j",
                                       help="Worker processes (default: CPU count; 0: inline)."),
    jobs_max: int | None = JOBS_MAX_OPT,
    timeout: float | None = typer.Option(None, "--timeout",
                                            help="Hard per-job timeout in seconds."),
    scheduler: str | None = typer.Option(None, "--scheduler",
                                            help="Dask scheduler address tcp://HOST:PORT."),
    retry_failed: bool = typer.Option(False, "--retry-failed",
                                      help="Also re-run failed and timed-out jobs."),
    json_out: bool = JSON_OPT,
) -> None:
    """Resume a campaign: run the jobs of its store that have not finished."""
    ex = make_executor(executor, jobs=effective_jobs(executor, jobs, jobs_max), timeout=timeout,
                       scheduler=scheduler)
    with CampaignStore(folder, create=False) as store, \
            progress_bars(show_progress(ctx, json_out)) as progress:
        summary = run_campaign(store, None, ex, progress=progress, retry_failed=retry_failed)
    if want_json(ctx, json_out):
        emit_json(summary.to_dict())
        return
    console.print(f"ran {summary.ran} job(s) in {_seconds(summary.wall_time)}: {summary.done} "
                  f"done, {summary.failed} failed, {summary.timeout} timeout; "
                  f"{summary.skipped} already finished")
