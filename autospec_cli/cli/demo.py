"""`autospec demo`: the main job on built-in data, end to end."""

from __future__ import annotations

from pathlib import Path

import typer

from autospec_cli.cli.common import (
    FoldingTable,
    console,
    emit_json,
    progress_bars,
    show_progress,
    want_json,
)


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the root app."""
    app.command("demo", rich_help_panel="AutoSpec")(demo)


def demo(
    ctx: typer.Context,
    out: Path = typer.Option(
        Path("demo-out"), "-o", "--out", help="Output folder for everything the demo writes."
    ),
    traces: Path | None = typer.Option(
        None,
        "--traces",
        help="Folder of Colosseum O-RAN traces (time,nof_ue,dl_brate,ul_brate); "
        "default: the built-in synthetic throughput series.",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed for splits, generators and training."),
    alpha: float = typer.Option(0.1, "--alpha", help="Output-range filter for regression specs."),
    no_verify: bool = typer.Option(
        False, "--no-verify", help="Skip training, export and verification."
    ),
    backend: str = typer.Option(
        "bab", "--backend", help="Verifier backend for the throughput properties."
    ),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds per verification instance."),
    force: bool = typer.Option(False, "--force", help="Replace an earlier demo output folder."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run AutoSpec end to end on built-in data: split 9:1, mine specs with every generator,
    score them, plot, train the throughput model, export VNN-LIB and verify."""
    from autospec_cli.demo import DemoConfig, run_demo

    as_json = want_json(ctx, json_out)
    cfg = DemoConfig(
        out_dir=out,
        traces=traces,
        seed=seed,
        alpha=alpha,
        verify=not no_verify,
        backend=backend,
        timeout=timeout,
        force=force,
    )
    with progress_bars(show_progress(ctx, as_json)) as progress:
        summary = run_demo(cfg, progress)
    if as_json:
        emit_json(summary)
        return
    _render(summary, out)


def _render(summary: dict, out: Path) -> None:
    table = FoldingTable(title="Specification quality on the evaluation fold (AutoSpec §3)")
    for col in ("dataset", "algorithm", "specs", "kept", "precision", "recall", "F1"):
        table.add_column(col, justify="right" if col not in ("dataset", "algorithm") else "left")
    for r in summary["specs"]:
        table.add_row(
            r["dataset"],
            r["algorithm"],
            str(r["specs"]),
            str(r["kept"]),
            f"{r['precision']:.3f}",
            f"{r['recall']:.3f}",
            f"{r['f1']:.3f}",
        )
    console.print(table)
    ver = summary.get("verification")
    if ver:
        console.print(ver.get("text", ""))
    console.print(
        f"Everything is under [bold]{out}[/] ({summary['seconds']} s): results.md, "
        "summary.json, plots/, specs/, data/"
        + (", models/, throughput-bench/, throughput-results/" if ver else "")
    )
