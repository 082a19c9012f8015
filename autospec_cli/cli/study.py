"""`autospec study`: training-factor studies (initialiser x regulariser x seed -> verifiability)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from autospec_cli.campaign.executors import make_executor
from autospec_cli.cli.common import (
    JOBS_MAX_OPT,
    console,
    effective_jobs,
    emit_json,
    progress_bars,
    show_progress,
    want_json,
)
from autospec_cli.inert import inert

study_app = typer.Typer(
    help="Training-factor studies: train a design of models, verify each one's L-inf "
         "robustness on the same images, tabulate robust / unknown / not robust and time.",
    no_args_is_help=True,
)

CONFIG_ARG = typer.Argument(..., help="Study config (TOML), e.g. configs/study-digits.toml.")
DATA_OPT = typer.Option(None, "--data", help="Replace data.source (MNIST-format folder, IDX "
                                             "file, NPZ or builtin:NAME); env "
                                             "AUTOSPEC_STUDY_DATA does the same.")
JSON_OPT = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")


def register(app: typer.Typer) -> None:
    """Add the ``study`` group to the root app."""
    app.add_typer(study_app, name="study", rich_help_panel="Benchmarks")


@study_app.command("run")
def run(
    ctx: typer.Context,
    config: Path = CONFIG_ARG,
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Study folder (a campaign; default out/<name>). "
                                         "Running again into it resumes."),
    data: str | None = DATA_OPT,
    executor: str | None = typer.Option(None, "--executor", "-e",
                                        help="local, inline, dask-local or dask "
                                             "(default: the config's run.executor)."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="Worker processes."),
    jobs_max: int | None = JOBS_MAX_OPT,
    scheduler: str | None = typer.Option(None, "--scheduler",
                                         help="Dask scheduler address tcp://HOST:PORT."),
    timeout: float | None = typer.Option(None, "--timeout", help="Hard per-job timeout (s)."),
    report: bool = typer.Option(False, "--report",
                                help="Also build the report into STUDY/report."),
    json_out: bool = JSON_OPT,
) -> None:
    """Train every model of the design, select the images all of them classify correctly,
    verify each model on them with the config's backend (any `autospec verify --backend`;
    every counterexample confirmed in onnxruntime)."""
    from dataclasses import replace

    from autospec_cli.study.config import load_config
    from autospec_cli.study.run import run_study

    cfg = load_config(config, data=data)
    r = cfg.run
    r = replace(r, executor=executor or r.executor, jobs=r.jobs if jobs is None else jobs,
                scheduler=scheduler or r.scheduler, timeout=timeout or r.timeout)
    ex = make_executor(r.executor, jobs=effective_jobs(r.executor, r.jobs, jobs_max),
                       timeout=r.timeout, scheduler=r.scheduler)
    folder = out or Path("out") / cfg.name
    with progress_bars(show_progress(ctx, json_out)) as progress:
        summary = run_study(cfg, folder, executor=ex, progress=progress)
        if report:
            from autospec_cli.report.study import build_report

            summary["report"] = build_report(Path(summary["folder"]),
                                             Path(summary["folder"]) / "report",
                                             progress=progress)
    if want_json(ctx, json_out):
        emit_json(summary)
        return
    _render_run(summary)


def _render_run(s: dict[str, Any]) -> None:
    t, v = s["train"], s["verify"]
    console.print(f"[bold]{inert(s['folder'])}[/]: {s['trained']}/{s['models']} models trained "
                  f"({t['ran']} now, {t['failed']} failed), {s['images']} images x "
                  f"{s['trained']} models = {s['instances']} instances "
                  f"({v['ran']} verification job(s) now, {v['failed']} failed) "
                  f"in {s['wall_time']:.1f} s")
    n = s["verdicts"]
    console.print(f"{inert(s['backend'])}: {n['robust']} robust, {n['unknown']} unknown, "
                  f"{n['not_robust']} not robust")
    if s["ignored"]:
        console.print(f"no longer used (set the backend's options instead): "
                      f"{inert(', '.join(s['ignored']))}")
    if s["short_classes"]:
        console.print(f"classes with fewer eligible images than asked: {inert(s['short_classes'])}")
    if "report" in s:
        console.print(f"report: {inert(s['report']['out_dir'])}")
    else:
        console.print(f"next: autospec report {inert(s['folder'])}")


@study_app.command("report")
def report_cmd(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="A study folder written by `autospec study run`."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Where tables and plots go (default FOLDER/report)."),
    json_out: bool = JSON_OPT,
) -> None:
    """Tables (CSV, Markdown) and plots of a study: per-model verdict counts and times,
    per-class robustness, time by factor, unstable ReLUs versus time."""
    from autospec_cli.report.study import build_report

    with progress_bars(show_progress(ctx, json_out)) as progress:
        info = build_report(folder, out or folder / "report", progress=progress)
    if want_json(ctx, json_out):
        emit_json(info)
        return
    console.print(info["table_markdown"], markup=False, highlight=False, soft_wrap=True)
    console.print(f"written to {inert(info['out_dir'])}: "
                  + inert(", ".join(sorted(info["files"]))))


@study_app.command("check")
def check(
    ctx: typer.Context,
    config: Path = CONFIG_ARG,
    data: str | None = DATA_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Validate a config and its data without training: split sizes, design, image shape."""
    from autospec_cli.study.config import load_config
    from autospec_cli.study.data import prepare_data
    from autospec_cli.study.run import design_runs

    cfg = load_config(config, data=data)
    d = cfg.data
    sd = prepare_data(d.source, train=d.train, val=d.val, test=d.test, split_seed=d.split_seed,
                      verify_from=d.verify_from, scale=d.scale, input_shape=d.input_shape)
    runs = design_runs(cfg)
    info = {"name": cfg.name, "source": d.source, "input_shape": list(sd.input_shape),
            "n_classes": sd.n_classes, "scale": sd.scale, "pool_source": sd.pool_source,
            "counts": sd.counts(), "models": len(runs), "eps": cfg.verify.eps,
            "images_per_class": cfg.verify.images_per_class,
            "instances_max": len(runs) * cfg.verify.images_per_class * sd.n_classes}
    if want_json(ctx, json_out):
        emit_json(info)
        return
    console.print(f"[bold]{inert(cfg.name)}[/]: {info['models']} models, images "
                  f"{tuple(sd.input_shape)} x {sd.n_classes} classes (scale {sd.scale:g}), "
                  f"splits {sd.counts()} (pool: {sd.pool_source}), eps {cfg.verify.eps:.5g}, "
                  f"up to {info['instances_max']} instances")
