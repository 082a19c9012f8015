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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from autospec_cli.campaign.engine import read_description
from autospec_cli.cli.common import console, emit_json, progress_bars, show_progress, want_json
from autospec_cli.errors import InputError, OutputExistsError
from autospec_cli.inert import inert
from autospec_cli.report.builders import builder_for
from autospec_cli.report.tables import ReportTable


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the root app."""
    app.command("report", rich_help_panel="Verification")(report)


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder; choose another -o")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputExistsError(f"{out} already holds files; pass --force to overwrite the "
                                "report or choose another -o")


def report(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="A campaign folder (campaign.sqlite + "
                                  "campaign.json), an `autospec verify` results folder, or a "
                                  "benchmark folder holding several results folders."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Report folder "
                                       "(default: FOLDER/report)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing report folder."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Build a report: tables (terminal, CSV, Markdown) and PNG figures of a campaign."""
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
