"""`autospec doctor`: is each backend and executor ready here, and the command that completes
each missing one. Exit 0 when every core piece works (optional ones may be missing), 1 when a
core piece is missing (see :mod:`autospec_cli.verifyrun.doctor`)."""

from __future__ import annotations

from pathlib import Path

import typer

from autospec_cli.cli.common import console, emit_json, want_json


def register(app: typer.Typer) -> None:
    """Add the ``doctor`` command to the root app."""
    app.command("doctor", rich_help_panel="Verification")(doctor)


def doctor(
    ctx: typer.Context,
    tools: Path | None = typer.Option(None, "--tools", help="TOML file with [tools.NAME] "
                                      "command templates to check (default: $AUTOSPEC_TOOLS or "
                                      "~/.config/autospec/tools.toml)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Check each backend's readiness; print the one command that completes each missing one.

    Exit codes: 0 every core piece works (optional ones such as Marabou or Dask may be
    missing), 1 a core piece (numpy, torch, onnx, onnxruntime, or a backend of the default
    portfolio: lirpa, attack, bab) is missing or broken.
    """
    from autospec_cli.verifyrun.doctor import diagnose  # loads numpy: not for `--help`

    doc = diagnose(tools)
    if want_json(ctx, json_out):
        emit_json(doc)
    else:
        from rich.table import Table

        table = Table(title=f"autospec {doc['version']} (Python {doc['python']}, "
                            f"{doc['environment']} environment)")
        for col in ("piece", "kind", "ready", "notes / fix"):
            table.add_column(col)
        for c in doc["checks"]:
            note = c["detail"] if c["ready"] else (c["detail"] + (f"\nfix: {c['fix']}"
                                                                  if c["fix"] else ""))
            table.add_row(c["name"], c["kind"], "yes" if c["ready"] else "no", note)
        console.print(table)
        missing = [c for c in doc["checks"] if not c["ready"] and c["fix"]]
        if missing:
            console.print("To complete them:", highlight=False)
            for c in missing:
                console.print(f"  {c['fix']}", highlight=False, markup=False, soft_wrap=True)
        console.print("core pieces ready" if doc["core_ready"] else
                      "a core piece is missing (exit 1)", highlight=False)
    raise SystemExit(doc["exit_code"])
