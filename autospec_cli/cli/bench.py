"""`autospec bench`: GDVB benchmarks from a seed problem and a TOML config of factors.

``array`` prints the config's t-way covering array; ``generate`` and ``run`` (in
:mod:`autospec_cli.cli.bench_gdvb`) build and verify the benchmark it describes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from autospec_cli.cli import bench_gdvb
from autospec_cli.cli.common import (
    FoldingTable,
    console,
    emit_json,
    progress_bars,
    show_progress,
    want_json,
)
from autospec_cli.inert import inert

if TYPE_CHECKING:
    from autospec_cli.bench.covering import CoveringArray

bench_app = typer.Typer(
    help="GDVB benchmarks: covering arrays over network and property factors of a seed "
    "problem (`autospec bench array CONFIG`), then generation and runs.",
    no_args_is_help=True,
)

CONSTRAINT_HELP = (
    "Constraints (\\[array] constraints) are EXCLUSIONS written over the level VALUES of "
    "\\[factors] (e.g. `fc == 0 and conv == 0` forbids rows with no fc and no conv layer); "
    "no generated row satisfies any of them, and t-tuples that only occur in excluded rows "
    "are not required."
)


ARRAY_HELP = (
    "Print the t-way covering array of a GDVB config: one row per benchmark network/property, "
    "factor level values in the cells. " + CONSTRAINT_HELP + " The array is checked before "
    "printing: every allowed t-tuple covered, no row excluded."
)


@bench_app.command("array", help=ARRAY_HELP)
def array(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="GDVB TOML config (see configs/gdvb-digits.toml)."),
    strength: int | None = typer.Option(
        None, "--strength", "-t", help="Strength t (default: \\[array] strength of the config)."
    ),
    seed: int | None = typer.Option(
        None, "--seed", min=0, help="Array seed (default: \\[array] seed of the config)."
    ),
    time_budget: float = typer.Option(
        2.0, "--time-budget", help="Wall-clock cap in seconds on the construction (the greedy "
        "array is always finished); 0 means no cap (the array is then the same for a seed on "
        "every machine)."
    ),
    indices: bool = typer.Option(False, "--indices", help="Show level indices, not level values."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    from autospec_cli.bench.config import load_gdvb_config

    cfg = load_gdvb_config(config)
    as_json = want_json(ctx, json_out)
    with progress_bars(show_progress(ctx, as_json)) as progress:
        ca = cfg.covering_array(
            strength, seed, time_budget=time_budget if time_budget > 0 else None, progress=progress
        )
    if as_json:
        doc = _array_doc(ca)
        doc["config"] = str(config)
        emit_json(doc)
        return
    _print_table(ca, indices)


def _array_doc(ca: CoveringArray) -> dict[str, Any]:
    from autospec_cli.bench.covering import array_to_json

    doc = array_to_json(ca)
    st = ca.stats
    doc["coverage"] = 1.0 - st["uncovered"] / max(1, st["allowed_tuples"])
    return doc


def _print_table(ca: CoveringArray, indices: bool) -> None:
    table = FoldingTable(title=f"{ca.t}-way covering array, seed {ca.seed}", header_style="bold")
    table.add_column("#", justify="right", style="dim")
    for name, n in zip(ca.factors, ca.levels, strict=True):
        table.add_column(inert(f"{name} ({n})"), justify="right")
    cells = ca.records() if indices or ca.values is None else ca.value_records()
    for i, rec in enumerate(cells):
        table.add_row(str(i), *(f"{rec[f]:g}" for f in ca.factors))
    console.print(table)
    st = ca.stats
    covered = st["allowed_tuples"] - st["uncovered"]
    console.print(
        f"{st['rows']} rows (lower bound {st['lower_bound']}, greedy {st['greedy_rows']}) in "
        f"{st['time_s']:.2f} s; {covered}/{st['allowed_tuples']} allowed {ca.t}-tuples covered "
        f"({100.0 * covered / max(1, st['allowed_tuples']):.1f}%), "
        f"{st['total_tuples'] - st['allowed_tuples']} excluded by constraints, "
        f"{st['violating_rows']} rows violating a constraint" + _capped(st),
        highlight=False,
    )
    if ca.constraints:
        console.print("excluded: " + inert("; ".join(ca.constraints)), highlight=False)


def _capped(stats: dict[str, Any]) -> str:
    if not stats["time_capped"]:
        return ""
    return " (time cap reached: rerun with --time-budget 0 to reproduce exactly)"


def register(app: typer.Typer) -> None:
    """Add the `bench` group (array, plus generate/run from bench_gdvb) to the root app."""
    bench_gdvb.register(bench_app)
    app.add_typer(bench_app, name="bench", rich_help_panel="Benchmarks")
