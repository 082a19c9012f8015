"""`autospec verify`: run a verifier backend over a VNN-COMP benchmark folder.

``autospec verify BENCH`` is the default command (``autospec verify run BENCH``); the group
also has ``instance`` (one ONNX + VNN-LIB pair) and ``backends`` (what is installed).

Exit codes of ``run`` and ``instance``: 0 every property holds (all ``unsat``); 1 a violation
was found (some ``sat``, counterexample validated); 2 bad usage or input; 3 some instances
undecided (``unknown``/``timeout``/``error``) and no ``sat``. ``--fail-on`` chooses which
verdicts count (:class:`~autospec_cli.verifyrun.policy.FailPolicy`); ``run --baseline`` also
exits 1 on a regression (:mod:`autospec_cli.verifyrun.diff`). ``run`` writes JUnit XML with
``--junit`` and appends a Markdown summary to ``$GITHUB_STEP_SUMMARY`` when it is set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from autospec_cli.campaign.executors import make_executor
from autospec_cli.cli.common import (
    JOBS_MAX_OPT,
    FoldingTable,
    console,
    default_command_group,
    effective_jobs,
    emit_json,
    progress_bars,
    show_progress,
    want_json,
)
from autospec_cli.errors import InputError
from autospec_cli.inert import inert
from autospec_cli.io import atomic_write_text, check_writable
from autospec_cli.params import check_seconds
from autospec_cli.verifyrun.policy import FailPolicy

if TYPE_CHECKING:
    from autospec_cli.verify.base import Instance, Result
    from autospec_cli.verify.registry import BackendSpec
    from autospec_cli.verifyrun.diff import RunDiff
    from autospec_cli.verifyrun.results import ResultsPaths

FAIL_ON_OPT = typer.Option(None, "--fail-on", help="Verdicts that fail the run, "
                           "comma-separated from sat,error,unknown,timeout (or none): a counted "
                           "sat exits 1, a counted undecided verdict exits 3, the rest exit 0. "
                           "Default: sat exits 1, any undecided verdict exits 3.")


verify_app = typer.Typer(
    cls=default_command_group("run"),
    help="Run verifiers over VNN-COMP benchmarks: `autospec verify BENCH --backend NAME`. "
    "Exit codes: 0 all properties hold, 1 a violation was found, 2 bad usage or input, "
    "3 some instances undecided and none violated.",
    no_args_is_help=True,
)

BACKEND_OPT = typer.Option("portfolio", "--backend", "-b", help="Backend name (see `autospec "
                           "verify backends`), or external:NAME for a tool from the tools file.")
OPT_OPT = typer.Option(None, "--opt", help="Backend option key=value (repeatable); checked "
                       "against the backend's declared parameters.")
TOOLS_OPT = typer.Option(None, "--tools", help="TOML file with [tools.NAME] command templates "
                         "(default: $AUTOSPEC_TOOLS or ~/.config/autospec/tools.toml).")
JSON_OPT = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")
FORCE_OPT = typer.Option(False, "--force", help="Overwrite existing results.")
ALLOW_OUTSIDE_OPT = typer.Option(False, "--allow-outside", help="Accept instances.csv rows "
                                 "whose files lie outside the benchmark folder (after links); "
                                 "refused by default.")


def register(app: typer.Typer) -> None:
    """Add the ``verify`` group to the root app."""
    app.add_typer(verify_app, name="verify", rich_help_panel="Verification")


def _resolve(backend: str, opts: list[str] | None, tools: Path | None) -> tuple[Any, BackendSpec]:
    """Build the verifier from CLI options; return it and its spec."""
    from autospec_cli.verify.registry import get_backend_class, parse_option_pairs, resolve_backend

    cls = get_backend_class(backend)
    parsed = parse_option_pairs(cls, opts or [])
    spec = resolve_backend(backend, parsed, tools_file=tools)
    return get_backend_class(spec.entry)(**spec.options), spec


def _exit(code: int) -> None:
    """End the command with ``code`` (SystemExit: typer.Exit's code is dropped by the root's
    ``standalone_mode=False`` call)."""
    raise SystemExit(code)


def _check_timeout(seconds: float) -> None:
    """A time limit is a finite, positive number of seconds (``nan`` and ``inf`` are not)."""
    check_seconds("--timeout", seconds)


def exit_code(results: list[Result], policy: FailPolicy | None = None) -> int:
    """0 all unsat, 1 any sat, 3 otherwise (see the module doc); ``policy``: ``--fail-on``."""
    return (policy or FailPolicy()).exit_code(r.verdict.value for r in results)


def _execute(ctx: typer.Context, verifier: Any, instances: list[Instance],
             json_out: bool) -> list[Result]:
    from autospec_cli.verify.runner import run_instances

    with progress_bars(show_progress(ctx, json_out)) as progress:
        return run_instances(verifier, instances, progress=progress)


def _render(label: str, instances: list[Instance], results: list[Result], out_dir: Path | None,
            root: Path | None, pairs: dict[str, Any] | None = None) -> None:
    from autospec_cli.verifyrun.results import summarize

    s = summarize(results)
    table = FoldingTable(title=f"{inert(label)}: {s['instances']} instance(s)")
    table.add_column("result")
    table.add_column("count", justify="right")
    table.add_column("time (s)", justify="right")
    for verdict, count in s["counts"].items():
        if count:
            t = sum(r.time for r in results if r.verdict.value == verdict)
            table.add_row(verdict, str(count), f"{t:.2f}")
    table.add_row("total", str(s["instances"]), f"{s['total_time']:.2f}")
    console.print(table)
    if "sat_discrete_ok" in s:
        console.print(f"discrete features: {s['sat_discrete_ok']} sat witness(es) are inputs "
                      f"that can occur, {s['sat_not_discrete']} are not "
                      f"({s['sat_repaired']} repaired into a confirmed counterexample)",
                      highlight=False, markup=False)
    shown = 0
    for inst, r in zip(instances, results, strict=True):
        if r.verdict.value in ("sat", "error") and shown < 10:
            name = f"{Path(inst.onnx).name} {Path(inst.vnnlib).name}"
            console.print(f"  {r.verdict.value:5s} {name}: {r.message}", highlight=False,
                          markup=False)
            if "discrete_ok" in r.extra:
                console.print("        " + _discrete_line(r.extra), highlight=False,
                              markup=False)
            pair = (pairs or {}).get(inst.key)
            if pair is not None:
                verdict = "confirmed" if pair.ok else "NOT confirmed"
                console.print(f"        pair on the original model ({verdict}: {pair.reason}): "
                              f"x = {pair.x.tolist()}, x' = {pair.x_prime.tolist()}",
                              highlight=False, markup=False)
            shown += 1
    if out_dir is not None:
        console.print(f"results written to {inert(out_dir)}", highlight=False)


def _report(ctx: typer.Context, json_out: bool, spec: BackendSpec, instances: list[Instance],
            results: list[Result], out_dir: Path | None, root: Path | None,
            paths: ResultsPaths | None, campaign: dict[str, Any] | None = None, *,
            code: int | None = None, diff: RunDiff | None = None,
            pairs: dict[str, Any] | None = None) -> None:
    from autospec_cli.verifyrun.results import summarize

    pairs = pairs or {}
    if want_json(ctx, json_out):
        doc: dict[str, Any] = {"backend": spec.label,
                               "results_dir": str(out_dir) if out_dir else None,
                               **summarize(results),
                               "exit_code": exit_code(results) if code is None else code}
        if campaign is not None:
            doc["campaign"] = campaign
        if diff is not None:
            doc["baseline"] = diff.to_dict()
        doc["results"] = [
            {"onnx": str(i.onnx), "vnnlib": str(i.vnnlib), "result": r.verdict.value,
             "time": r.time, "message": r.message,
             "counterexample": str(paths.counterexamples[i.key])
             if paths and i.key in paths.counterexamples else None,
             **({"pair": pairs[i.key].to_json()} if i.key in pairs else {}),
             **({k: r.extra[k] for k in ("discrete_ok", "discrete_issues", "repaired",
                                         "repair") if k in r.extra})}
            for i, r in zip(instances, results, strict=True)
        ]
        emit_json(doc)
    else:
        _render(spec.label, instances, results, out_dir, root, pairs)
        if campaign is not None and campaign.get("skipped"):
            console.print(f"resumed: {campaign['skipped']} job(s) already finished, "
                          f"{campaign['ran']} run now", highlight=False)
        if diff is not None:
            render_diff(diff)


def render_diff(diff: RunDiff) -> None:
    """The regression gate's findings, one line each (shared with ``report diff``)."""
    counts = {k: v for k, v in diff.counts().items() if v and k != "same"}
    console.print(f"against {diff.base}: {len(diff.matched)} matched by {diff.matched_by}, "
                  f"{len(diff.regressions)} regression(s)"
                  + (" (" + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")"
                     if counts else "")
                  + f", {len(diff.added)} added, {len(diff.removed)} removed",
                  highlight=False, markup=False)
    for c in diff.changed:
        mark = "REGRESSION" if c.regression else "changed"
        console.print(f"  {mark:10s} {c.model} {c.prop}: {c.change} "
                      f"({c.base_verdict} -> {c.new_verdict})", highlight=False, markup=False)
    for cc in diff.content_changes:
        console.print(f"  {cc.kind} {cc.name}: content changed under the same name",
                      highlight=False, markup=False)
    for c in diff.slowdowns(3):
        console.print(f"  slower     {c.model} {c.prop}: {c.base_time:.2f} s -> "
                      f"{c.new_time:.2f} s (x{c.time_ratio:.1f})", highlight=False,
                      markup=False)


@verify_app.command("run")
def run(
    ctx: typer.Context,
    bench: Path = typer.Argument(..., help="Benchmark folder with instances.csv (VNN-COMP "
                                 "layout), or an instances CSV file."),
    backend: str = BACKEND_OPT,
    opt: list[str] | None = OPT_OPT,
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds per instance; "
                                            "overrides instances.csv."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Jobs run in parallel (worker "
                             "processes; Dask: LocalCluster workers)."),
    jobs_max: int | None = JOBS_MAX_OPT,
    executor: str = typer.Option("local", "--executor", "-e", help="local (worker processes "
                                 "here), dask-local (a Dask LocalCluster on loopback), dask "
                                 "(a running scheduler, see --scheduler) or inline (in this "
                                 "process, no hard timeout; for debugging)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler "
                                            "address tcp://HOST:PORT (with --executor dask)."),
    batch: bool | None = typer.Option(None, "--batch/--no-batch", help="One job per model "
                                         "(all its properties in one backend call) or one per "
                                         "instance; default: per model only for backends that "
                                         "batch (override verify_many)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Results folder "
                                          "(default: BENCH/results-<backend>)."),
    category: str | None = typer.Option(None, "--category", help="Category written in "
                                           "results.csv (default: the manifest's, else the "
                                           "benchmark folder's name)."),
    tools: Path | None = TOOLS_OPT,
    retry_failed: bool = typer.Option(False, "--retry-failed", help="When resuming, also re-run "
                                      "jobs that crashed or hit the hard timeout."),
    force: bool = typer.Option(False, "--force", help="Discard stored results in the results "
                               "folder and run everything again."),
    allow_outside: bool = ALLOW_OUTSIDE_OPT,
    fail_on: str | None = FAIL_ON_OPT,
    junit: Path | None = typer.Option(None, "--junit", help="Also write a JUnit XML report "
                                      "there (one testsuite per benchmark and backend, one "
                                      "testcase per instance; rewritten on every run)."),
    baseline: Path | None = typer.Option(None, "--baseline", help="Compare with an earlier "
                                         "run (results folder, results.csv or campaign.sqlite; "
                                         "see `autospec report diff`): exit 1 when a property "
                                         "that held there no longer holds."),
    json_out: bool = JSON_OPT,
) -> None:
    """Verify every instance of a benchmark as a resumable campaign.

    Writes results.csv (VNN-COMP), counterexamples/, summary.json and the campaign store
    (campaign.sqlite, campaign.json) into the results folder. Re-running the same command
    resumes: finished instances are not run again. When $GITHUB_STEP_SUMMARY is set, a
    Markdown summary is appended to that file. Exit codes: 0 all hold, 1 a violation (or a
    regression against --baseline), 2 bad usage or input, 3 some instances undecided
    (--fail-on chooses which verdicts count).
    """
    from dataclasses import replace

    from autospec_cli.report.junit import write_junit
    from autospec_cli.report.summary import summary_markdown
    from autospec_cli.verifyrun.diff import diff_runs
    from autospec_cli.verifyrun.run import run_verification
    from autospec_cli.verifyrun.runs import Run, entries_of, load_run
    from autospec_cli.vnnlib.benchmark import read_benchmark, read_manifest

    if not (bench.is_dir() or (bench.is_file() and bench.suffix == ".csv")):
        raise InputError(f"{bench}: not a benchmark folder or instances CSV; for one model and "
                         "property use `autospec verify instance MODEL.onnx PROP.vnnlib`")
    if executor not in ("local", "dask-local", "dask", "inline"):
        raise InputError(f"--executor {executor!r}: choose local, dask-local, dask or inline")
    root = bench if bench.is_dir() else bench.parent
    policy = FailPolicy.parse(fail_on)
    _, spec = _resolve(backend, opt, tools)
    base_run = load_run(baseline) if baseline is not None else None
    out_dir = output or root / f"results-{spec.label}"
    instances = read_benchmark(bench, category=category, allow_outside=allow_outside)
    if not instances:
        raise InputError(f"{bench}: the instance list is empty")
    if timeout is not None:
        _check_timeout(timeout)
        instances = [replace(i, timeout=timeout) for i in instances]
    ex = make_executor(executor, jobs=effective_jobs(executor, jobs, jobs_max),
                       scheduler=scheduler)
    with progress_bars(show_progress(ctx, json_out)) as progress:
        done = run_verification(instances, out_dir, entry=spec.entry, options=spec.options,
                                label=spec.label, root=root, manifest=read_manifest(root),
                                executor=ex, batch=batch, category=category, timeout=timeout,
                                force=force, retry_failed=retry_failed, progress=progress)
    entries = entries_of(done.instances, done.results, verifier=spec.label,
                         benchmark=root.name, counterexamples=done.paths.counterexamples,
                         folder=out_dir)
    this_run = Run(str(out_dir), out_dir, entries)
    diff = diff_runs(base_run, this_run) if base_run is not None else None
    code = policy.gate_exit_code((e.verdict for e in entries),
                                 diff is not None and bool(diff.regressions))
    if junit is not None:
        write_junit(junit, entries, policy)
    _append_step_summary(summary_markdown(this_run, policy, diff))
    pairs = _replay_pairs(root, done.instances, done.results)
    if any(not p.ok for p in pairs.values()):
        code = 4  # the twin network disagrees with its original: a bug, never a violation
    _report(ctx, json_out, spec, instances, done.results, out_dir, root, done.paths,
            done.campaign.to_dict(), code=code, diff=diff, pairs=pairs)
    _exit(code)


def _replay_pairs(root: Path, instances: list[Instance], results: list[Result]
                  ) -> dict[str, Any]:
    """Every counterexample of a monotonicity property (a twin-network input) replayed as a
    pair of inputs on the original model (:mod:`autospec_cli.verify.monotonic`)."""
    from autospec_cli.verify.monotonic import replay_in_benchmark
    from autospec_cli.vnnlib.benchmark import read_manifest

    manifest = read_manifest(root)
    if not manifest or "monotonic" not in manifest:
        return {}
    pairs = {}
    for inst, r in zip(instances, results, strict=True):
        if r.verdict.value == "sat" and r.counterexample is not None:
            check = replay_in_benchmark(root, str(inst.vnnlib), r.counterexample.x)
            if check is not None:
                pairs[inst.key] = check
    return pairs


def _discrete_line(extra: dict[str, Any]) -> str:
    """One line on a witness's discreteness (:mod:`autospec_cli.verify.discrete`)."""
    if extra.get("discrete_ok"):
        return "discrete features: ok (integers integral, one-hot groups exact)"
    issues = "; ".join(extra.get("discrete_issues") or [])
    fix = ("a repaired (rounded) witness is a confirmed counterexample"
           if extra.get("repaired") is not None else f"no repair ({extra.get('repair', '')})")
    return f"discrete features: NOT respected ({issues}); {fix}"


def _append_step_summary(text: str) -> None:
    """Append to the file $GITHUB_STEP_SUMMARY names (GitHub Actions' job page), if set."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    path = Path(target)
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    atomic_write_text(path, old + ("\n" if old and not old.endswith("\n") else "") + text,
                      force=True)


def _check_instance(model: Path, prop: Path) -> None:
    """A malformed model or property is bad input (exit 2, one line), not an ``error``
    verdict: the model must load in onnxruntime and the property parse for its sizes. What a
    backend does with a well-formed instance is its verdict (``error`` included, exit 3). A 2.0
    query over an augmented network is checked in that form."""
    from autospec_cli.verify.base import Instance
    from autospec_cli.verify.loading import load_property, onnx_runner
    from autospec_cli.verify.runner import product_instance

    reduced = product_instance(Instance(model, prop))
    if reduced is not None:
        model, prop = reduced[0].onnx, reduced[0].vnnlib
    runner = onnx_runner(model)
    load_property(prop, n_inputs=runner.n_inputs, n_outputs=runner.n_outputs)


@verify_app.command("instance")
def instance(
    ctx: typer.Context,
    model: Path = typer.Argument(..., help="ONNX model."),
    prop: Path = typer.Argument(..., help="VNN-LIB property (counterexample region)."),
    backend: str = BACKEND_OPT,
    opt: list[str] | None = OPT_OPT,
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds for this instance."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Also write results "
                                          "there (results.csv, counterexamples/, summary.json)."),
    category: str = typer.Option("", "--category", help="Category written in results.csv."),
    tools: Path | None = TOOLS_OPT,
    force: bool = FORCE_OPT,
    fail_on: str | None = FAIL_ON_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Verify one model against one property; print the verdict (and counterexample)."""
    from autospec_cli.verify.base import Instance

    for p in (model, prop):
        if not p.is_file():
            raise InputError(f"{p}: file not found")
    policy = FailPolicy.parse(fail_on)
    verifier, spec = _resolve(backend, opt, tools)
    _check_instance(model, prop)
    if output is not None:
        check_writable(output / "results.csv", force)
    _check_timeout(timeout)
    inst = Instance(model, prop, timeout, category)
    results = _execute(ctx, verifier, [inst], json_out)
    r = results[0]
    if want_json(ctx, json_out) or output is not None:
        paths = None
        if output is not None:
            from autospec_cli.verifyrun.results import write_results

            paths = write_results(output, [inst], results, backend=spec.label,
                                  options=spec.options, force=force)
        _report(ctx, json_out, spec, [inst], results, output, None, paths,
                code=exit_code(results, policy))
    if not want_json(ctx, json_out):
        line = f"{r.verdict.value} ({r.time:.2f} s)" + (f": {r.message}" if r.message else "")
        console.print(line, highlight=False, markup=False)
        if r.counterexample is not None and r.verdict.value == "sat":
            console.print(r.counterexample.to_vnncomp(), highlight=False, markup=False)
    _exit(exit_code(results, policy))


@verify_app.command("backends")
def backends(
    ctx: typer.Context,
    tools: Path | None = TOOLS_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """List verifier backends with their availability and declared parameters."""
    from autospec_cli.verify.registry import describe_backends, load_tools

    rows = describe_backends()
    for name, conf in sorted(load_tools(tools).items()):
        rows.append({"name": f"external:{name}", "available": True, "reason": "", "complete": True,
                     "doc": "external tool: " + " ".join(map(str, conf.get("command", []))),
                     "parameters": {}})
    if want_json(ctx, json_out):
        emit_json({"backends": rows})
        return
    table = FoldingTable(title="verifier backends")
    for col in ("name", "available", "complete", "parameters (default)", "notes"):
        table.add_column(col)
    for r in rows:
        params = ", ".join(f"{k}={v['default']!r}" for k, v in r["parameters"].items())
        table.add_row(inert(r["name"]), "yes" if r["available"] else "no",
                      "yes" if r["complete"] else "no", inert(params),
                      inert(r["reason"] or r["doc"]))
    console.print(table)
