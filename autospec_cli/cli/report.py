"""`autospec report DIR`: tables (terminal, CSV, Markdown) and PNG figures from a campaign.

The kind of report follows the campaign's description (``campaign.json``, field ``kind``):

- ``gdvb``: a GDVB benchmark campaign (:func:`autospec_cli.report.gdvb.build_report`);
- ``study``: a training-factor study (:func:`autospec_cli.report.study.build_report`);
- anything else, or a folder of ``autospec verify`` results (one results folder, or a
  benchmark folder above several): the verification report
  (:func:`autospec_cli.report.verification.build_report`): SCR, PAR2 and VNN-COMP points per
  verifier, conflicts, per-category and per-factor-level tables, a cactus plot, time bars,
  an SCR box plot (with two groups or more), and radar and parallel-coordinate plots of
  factor levels when the benchmark has them.

Every builder is ``build_report(campaign_dir, out_dir, progress=None) -> dict``; a returned
``tables`` list (``{"name", "title", "columns", "rows"}``) is printed as rich tables. Builders
are plug-ins (group ``autospec_cli.reports``, :mod:`autospec_cli.report.builders`): a package
adds the report of its own campaign kind the way this one declares ``gdvb`` and ``study``.

For CI, a verification run (results folder, ``results.csv`` or ``campaign.sqlite``) also gives
``--format markdown`` (a job summary on stdout, :mod:`autospec_cli.report.summary`) and
``--junit FILE`` (:mod:`autospec_cli.report.junit`), and ``autospec report diff BASE NEW`` is
the regression gate (:mod:`autospec_cli.verifyrun.diff`).

``autospec report counterexamples BENCH`` shows the counterexamples of a verified spec
benchmark as AutoSpec's Figure 6 (:mod:`autospec_cli.report.counterexamples`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from autospec_cli.campaign.engine import read_description
from autospec_cli.cli.common import (
    console,
    default_command_group,
    emit_json,
    progress_bars,
    show_progress,
    want_json,
)
from autospec_cli.cli.verify import FAIL_ON_OPT, render_diff
from autospec_cli.errors import InputError, OutputExistsError
from autospec_cli.inert import inert
from autospec_cli.report.builders import builder_for
from autospec_cli.report.tables import ReportTable
from autospec_cli.verifyrun.policy import FailPolicy

report_app = typer.Typer(
    cls=default_command_group("build"),
    help="Reports of campaigns: `autospec report DIR` (tables and figures), "
    "`--format markdown` / `--junit FILE` for CI, `autospec report diff BASE NEW` (the "
    "regression gate).",
    no_args_is_help=True,
)

FORMATS = ("report", "markdown")


def register(app: typer.Typer) -> None:
    """Add the ``report`` group to the root app."""
    app.add_typer(report_app, name="report", rich_help_panel="Verification")


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder; choose another -o")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputExistsError(f"{out} already holds files; pass --force to overwrite the "
                                "report or choose another -o")


def _ci_outputs(ctx: typer.Context, folder: Path, fmt: str | None, junit: Path | None,
                fail_on: str | None, baseline: Path | None, json_out: bool) -> bool:
    """Write the JUnit file and/or print the Markdown summary of the run at ``folder``;
    True when that is all that was asked (no tables and figures)."""
    # Imported here: reading runs loads numpy, which `autospec --help` must not.
    from autospec_cli.report.junit import write_junit
    from autospec_cli.report.summary import summary_markdown
    from autospec_cli.verifyrun.diff import diff_runs
    from autospec_cli.verifyrun.runs import load_run

    policy = FailPolicy.parse(fail_on)
    run = load_run(folder)
    diff = diff_runs(load_run(baseline), run) if baseline is not None else None
    if junit is not None:
        write_junit(junit, run.entries, policy)
        if not (want_json(ctx, json_out) or fmt == "markdown"):
            console.print(f"JUnit report written to {junit} ({len(run.entries)} testcases)",
                          highlight=False)
    if fmt == "markdown":
        text = summary_markdown(run, policy, diff)
        if want_json(ctx, json_out):
            emit_json({"source": run.source, "markdown": text,
                       "junit": str(junit) if junit else None,
                       "baseline": diff.to_dict() if diff else None})
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        return True
    if fmt is None:
        if want_json(ctx, json_out):
            emit_json({"source": run.source, "junit": str(junit), "testcases": len(run.entries)})
        return True
    return False


@report_app.command("build")
def report(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="A campaign folder (campaign.sqlite + "
                                  "campaign.json), an `autospec verify` results folder, or a "
                                  "benchmark folder holding several results folders; with "
                                  "--format markdown or --junit also a results.csv or a "
                                  "campaign.sqlite."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Report folder "
                                       "(default: FOLDER/report)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing report folder."),
    fmt: str | None = typer.Option(None, "--format", help="report (the default without "
                                   "--junit): tables and figures in the report folder; "
                                   "markdown: a compact job summary of a verification run on "
                                   "stdout (counts, violations with counterexamples, slowest "
                                   "instances, the diff against --baseline)."),
    junit: Path | None = typer.Option(None, "--junit", help="Write a JUnit XML report of a "
                                      "verification run there (instead of the tables and "
                                      "figures unless --format report is given too)."),
    fail_on: str | None = FAIL_ON_OPT,
    baseline: Path | None = typer.Option(None, "--baseline", help="With --format markdown: "
                                         "an earlier run to diff against."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Build a report: tables (terminal, CSV, Markdown) and PNG figures of a campaign.

    For a verification run, `--format markdown` prints a CI job summary and `--junit FILE`
    writes JUnit XML (one testcase per instance); both follow `--fail-on`.
    """
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: choose report or markdown")
    if fmt == "markdown" or junit is not None:
        if _ci_outputs(ctx, folder, fmt, junit, fail_on, baseline, json_out):
            return
    elif baseline is not None:
        raise InputError("--baseline goes with --format markdown (or use `autospec report "
                         "diff BASE NEW`)")
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder; give a campaign or results folder")
    desc = read_description(folder) or {}
    kind = desc.get("kind")
    build = builder_for(str(kind) if kind else None)
    out = output or folder / "report"
    _check_out(out, force)
    with progress_bars(show_progress(ctx, json_out)) as progress:
        doc = build(folder, out, progress=progress)
    if want_json(ctx, json_out):
        emit_json(doc)
        return
    _render(doc, out)


def _render(doc: dict[str, Any], out: Path) -> None:
    for t in doc.get("tables") or []:
        try:
            console.print(ReportTable.from_dict(t).to_rich())
        except (KeyError, TypeError, ValueError):
            continue
    files = doc.get("files") or []
    console.print(f"report written to {inert(out)}" + (f" ({len(files)} files)" if files else ""),
                  highlight=False)


@report_app.command("diff")
def diff(
    ctx: typer.Context,
    base: Path = typer.Argument(..., help="The baseline run: a results folder, a results.csv "
                                "or a campaign.sqlite."),
    new: Path = typer.Argument(..., help="The new run (same forms)."),
    fail_on_regression: bool = typer.Option(False, "--fail-on-regression", help="Exit 1 when "
                                            "a property that held in BASE no longer holds in "
                                            "NEW (violated or undecided)."),
    fmt: str = typer.Option("text", "--format", help="text (terminal lines) or markdown."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Compare two verification runs: the regression gate.

    Instances are matched by model file name and property content (SHA-256 of the text), not
    by path. Lists held -> violated/undecided (regressions), violated -> held, decided ->
    undecided and the time ratios, and says when a model's content changed under the same
    name. Exit 0, or 1 with --fail-on-regression when anything that held no longer holds.
    """
    from autospec_cli.report.summary import diff_markdown
    from autospec_cli.verifyrun.diff import diff_runs
    from autospec_cli.verifyrun.runs import load_run

    if fmt not in ("text", "markdown"):
        raise InputError(f"--format {fmt!r}: choose text or markdown")
    d = diff_runs(load_run(base), load_run(new))
    code = 1 if fail_on_regression and d.regressions else 0
    if want_json(ctx, json_out):
        emit_json({**d.to_dict(), "exit_code": code})
    elif fmt == "markdown":
        sys.stdout.write(diff_markdown(d))
        sys.stdout.flush()
    else:
        render_diff(d)
    raise SystemExit(code)


@report_app.command("counterexamples")
def counterexamples(
    ctx: typer.Context,
    bench: Path = typer.Argument(..., help="A benchmark folder written by `autospec export` "
                                 "and verified by `autospec verify`."),
    results: Path | None = typer.Option(None, "--results", help="The results folder "
                                        "(default: the only BENCH/results-* folder)."),
    limit: int = typer.Option(3, "--limit", min=1, help="How many counterexamples to show "
                              "(the first sat results)."),
    n_features: int = typer.Option(6, "--features", min=1, help="Features shown per "
                                   "counterexample: those the spec's box constrains most."),
    plot: Path | None = typer.Option(None, "--plot", metavar="PNG", help="Also draw them "
                                     "(box bars, witness dots) into PNG."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the table as Markdown."),
    force: bool = typer.Option(False, "--force", help="Overwrite the PNG."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Show counterexamples as AutoSpec's Figure 6: per spec violated, the features its box
    constrains most, the box bounds, the witness value (and the repaired value when the
    witness breaks a discrete feature), the spec's label and the model's prediction.
    """
    from autospec_cli.io import check_writable
    from autospec_cli.report.counterexamples import (
        counterexample_report,
        counterexample_table,
        plot_counterexamples,
    )

    if plot is not None:
        check_writable(plot, force)
    doc = counterexample_report(bench, results, limit=limit, n_features=n_features)
    if plot is not None and doc["counterexamples"]:
        doc["plot"] = str(plot_counterexamples(doc, plot, force=True))
    if want_json(ctx, json_out):
        emit_json(doc)
        return
    table = counterexample_table(doc)
    if markdown:
        console.print(table.to_markdown(), markup=False, highlight=False, soft_wrap=True)
    else:
        console.print(table.to_rich())
    for row in doc["counterexamples"]:  # why a witness is no input that can occur
        for issue in row["discrete_issues"]:
            console.print(f"{inert(row['id'])}: {inert(issue)}", highlight=False)
    counts = ", ".join(f"{v} {k}" for k, v in doc["counts"].items() if v)
    console.print(f"{len(doc['counterexamples'])} of {doc['sat']} counterexample(s) shown "
                  f"({counts})" + (f"; figure {inert(doc['plot'])}" if "plot" in doc else ""),
                  highlight=False)
