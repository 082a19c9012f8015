"""`autospec specs table [CONFIG]`: AutoSpec's Table 1, every generator on several datasets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from autospec_cli.cli.common import (
    FoldingTable,
    console,
    emit_json,
    progress_bars,
    show_progress,
    want_json,
)
from autospec_cli.io import check_writable

CONFIG_ARG = typer.Argument(
    None, metavar="[CONFIG]", show_default=False,
    help="Table config (TOML); default: the built-in one, the paper's Table 1 setting "
    "(print it with --print-config).")


def default_shared() -> str:
    """``$AUTOSPEC_SHARED_DATA``, else ``../shared/data`` (relative to the working folder)."""
    return os.environ.get("AUTOSPEC_SHARED_DATA") or str(Path("..") / "shared" / "data")


def register(app: typer.Typer) -> None:
    """Add ``table`` to the ``specs`` sub-app."""
    app.command("table")(table_cmd)


def table_cmd(
    ctx: typer.Context,
    config: Path | None = CONFIG_ARG,
    out: Path = typer.Option(Path("table-out"), "--out", "-o",
                             help="Folder for table.md, table.csv, table.json and f1.png."),
    shared: str | None = typer.Option(
        None, "--shared", metavar="DIR",
        help="Folder of the shared real data that {shared} in sources stands for (default: "
        "$AUTOSPEC_SHARED_DATA, else ../shared/data). Datasets missing there are skipped."),
    datasets: str | None = typer.Option(
        None, "--datasets", metavar="A,B", help="Only these datasets of the config."),
    print_config: bool = typer.Option(False, "--print-config",
                                      help="Print the built-in config and exit."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output files."),
    json_out: bool = typer.Option(False, "--json", help="The table as JSON on stdout."),
) -> None:
    """Score every generator on every dataset of a table config (AutoSpec Table 1).

    Each dataset is split 9:1, every generator mines the generation fold with the config's
    hyperparameters and is scored on the evaluation fold (precision, recall, F1; regression
    with the alpha filter). Writes the table as Markdown, CSV and JSON and a grouped bar chart
    of F1, with spec counts and generation time (wall and CPU seconds, imports excluded).
    """
    from autospec_cli.specs.table import BUILTIN_CONFIG, load_config, run_table, write_outputs

    if print_config:
        typer.echo(BUILTIN_CONFIG, nl=False)
        return
    cfg = load_config(config)
    for name in ("table.md", "table.csv", "table.json", "f1.png"):
        check_writable(out / name, force)
    only = [d.strip() for d in datasets.split(",") if d.strip()] if datasets else None
    as_json = want_json(ctx, json_out)
    with progress_bars(show_progress(ctx, as_json)) as progress:
        result = run_table(cfg, shared or default_shared(), only=only, progress=progress)
    files = write_outputs(result, out, force=force)
    if as_json:
        emit_json({**result.to_json(), "files": files})
        return
    _render(result.to_json(), files)


def _render(res: dict[str, Any], files: dict[str, str]) -> None:
    from autospec_cli.inert import inert as escape

    t = FoldingTable(title="AutoSpec Table 1: specification quality per generator")
    for col in ("dataset", "d", "algorithm", "specs", "kept", "precision", "recall", "F1",
                "gen s", "gen CPU s"):
        t.add_column(col, justify="left" if col in ("dataset", "algorithm") else "right")
    for r in res["rows"]:
        t.add_row(escape(r["dataset"]), str(r["n_features"]), escape(r["algorithm"]),
                  str(r["specs"]), str(r["kept"]), f"{r['precision']:.3f}", f"{r['recall']:.3f}",
                  f"{r['f1']:.3f}", f"{r['generate_seconds']:.2f}",
                  f"{r['generate_cpu_seconds']:.2f}")
    console.print(t)
    for s in res["skipped"]:
        console.print(f"skipped {escape(s['dataset'])}: {escape(s['reason'])}", highlight=False)
    ranks = ", ".join(f"{n} {r}" for n, r in res["tree_ranks"].items())
    if ranks:
        console.print(f"tree's place by F1: {ranks}", highlight=False)
    console.print(f"{res['seconds']:.1f} s ({res['cpu_seconds']:.1f} s CPU); wrote "
                  + ", ".join(escape(v) for v in files.values()), highlight=False)
