"""`autospec bench generate|run`: GDVB benchmark generation (distillation on the campaign
engine) and verification runs scored by SCR and PAR2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from autospec_cli.campaign.executors import make_executor
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
from autospec_cli.inert import inert

EXECUTOR_HELP = "Where jobs run: local (worker processes), inline, dask-local, dask (--scheduler)."


def _executor(name: str, jobs: int | None, scheduler: str | None,
              timeout: float | None = None, *, jobs_max: int | None = None) -> Any:
    return make_executor(name, jobs=effective_jobs(name, jobs, jobs_max), timeout=timeout,
                         scheduler=scheduler)


def generate(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="GDVB TOML config (see configs/gdvb-digits.toml)."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder (a campaign folder; "
                                "running the command again resumes an interrupted generation)."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="Parallel training "
                                       "workers (default: one per CPU)."),
    jobs_max: int | None = JOBS_MAX_OPT,
    executor: str = typer.Option("local", "--executor", help=EXECUTOR_HELP),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler "
                                            "address tcp://HOST:PORT (with --executor dask)."),
    force: bool = typer.Option(False, "--force", help="Replace a GDVB folder made from "
                               "another config."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Build a GDVB benchmark: covering array of the config's factors, one transformed network
    per row distilled from the seed once per training seed (parallel, resumable campaign
    jobs), one robustness property per row, all written as a VNN-COMP folder with a factor
    table (DIR/benchmark). Invalid rows are reported and excluded."""
    from autospec_cli.bench.config import load_gdvb_config
    from autospec_cli.bench.generate import generate as gen

    cfg = load_gdvb_config(config)
    as_json = want_json(ctx, json_out)
    ex = _executor(executor, jobs, scheduler, jobs_max=jobs_max)
    with progress_bars(show_progress(ctx, as_json)) as progress:
        desc = gen(cfg, output, executor=ex, force=force, progress=progress)
    if as_json:
        emit_json(desc)
        return
    _print_generated(desc, output)


def _print_generated(desc: dict[str, Any], output: Path) -> None:
    seed = desc["seed"]
    acc = seed.get("metrics", {}).get("test_accuracy")
    console.print(f"seed {inert(seed['network'])}: {seed['neurons']} neurons"
                  + (f", test accuracy {acc:.3f}" if acc is not None else ""))
    ts = desc["train_summary"]
    console.print(f"covering array: {desc['rows']} rows (t={desc['strength']}); "
                  f"{len(desc['networks'])} networks; training jobs: {ts['done']} done, "
                  f"{ts['failed']} failed, {ts['skipped']} reused")
    for ex in desc["excluded"]:
        seed_part = f" seed {ex['seed']}" if "seed" in ex else ""
        console.print(f"[yellow]excluded[/] row {ex['row']}{seed_part}: {inert(ex['reason'])}")
    console.print(f"{desc['instances']} instances in {inert(output / desc['benchmark'])} "
                  f"(status: {desc['status']})")


def run(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="Folder made by `autospec bench generate`."),
    verifiers: str | None = typer.Option(
        None, "--verifiers", help="Comma-separated backends, e.g. lirpa,bab,attack,"
        "external:NAME, or configurations of one such as lirpa\\[method=ibp],bab\\[split=input] "
        "(default: the config's \\[verify] verifiers)."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds per instance "
                                            "(default: the benchmark's)."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="Parallel verification "
                                       "workers (default: one per CPU)."),
    jobs_max: int | None = JOBS_MAX_OPT,
    executor: str = typer.Option("local", "--executor", help=EXECUTOR_HELP),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler "
                                            "address (with --executor dask)."),
    tools: Path | None = typer.Option(None, "--tools", help="TOML file of external tools "
                                         "(for external:NAME)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run failed and timed-out "
                                      "jobs again."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Verify every instance of a GDVB benchmark with every verifier (parallel, resumable
    campaign jobs) and print SCR and PAR2 per verifier; `autospec report DIR` draws the
    plots."""
    from autospec_cli.bench.run import read_gdvb
    from autospec_cli.bench.run import run as run_bench
    from autospec_cli.verify.portfolio import split_members

    desc, _ = read_gdvb(folder)
    names = (split_members(verifiers) if verifiers else list(desc.get("verifiers", [])))
    as_json = want_json(ctx, json_out)
    ex = _executor(executor, jobs, scheduler, jobs_max=jobs_max)
    with progress_bars(show_progress(ctx, as_json)) as progress:
        res = run_bench(folder, names, executor=ex, timeout=timeout,
                        tools_file=str(tools) if tools else None, retry_failed=retry_failed,
                        progress=progress)
    if as_json:
        emit_json(res)
        return
    _print_scores(res)


def _print_scores(res: dict[str, Any]) -> None:
    table = FoldingTable(title="GDVB results (SCR order)")
    for col in ("rank", "verifier", "solved", "wrong", "unsolved", "PAR2", "PAR2 mean"):
        table.add_column(col, justify="left" if col == "verifier" else "right")
    for v in res["scores"]["verifiers"]:
        table.add_row(str(v["rank"]), inert(v["verifier"]), str(v["solved"]), str(v["wrong"]),
                      str(v["unsolved"]), f"{v['par2_sum']:.1f}", f"{v['par2_mean']:.2f}")
    console.print(table)
    s = res["summary"]
    console.print(f"jobs: {s['ran']} ran, {s['skipped']} already done, {s['failed']} failed, "
                  f"{s['timeout']} killed; wall {s['wall_time']:.1f} s")


def register(bench_app: typer.Typer) -> None:
    """Add the GDVB commands to the `bench` group."""
    bench_app.command("generate")(generate)
    bench_app.command("run")(run)
