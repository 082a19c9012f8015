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
from autospec_cli.inert import inert


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
    seed: int = typer.Option(0, "--seed", min=0,
                             help="Random seed for splits, generators and training."),
    alpha: float = typer.Option(0.1, "--alpha", help="Output-range filter for regression specs."),
    no_verify: bool = typer.Option(
        False, "--no-verify", help="Skip training, export and verification."
    ),
    backend: str = typer.Option(
        "bab", "--backend", help="Verifier backend for the throughput properties."
    ),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds per verification instance."),
    target_bins: int = typer.Option(
        10, "--target-bins", metavar="N",
        help="Bins of the labelled throughput setting (AutoSpec §5.2: ten intervals of the "
        "maximum)."),
    force: bool = typer.Option(False, "--force", help="Replace an earlier demo output folder."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run AutoSpec end to end on built-in data: split 9:1, mine specs with every generator,
    score them, plot, train the throughput model, export VNN-LIB and verify."""
    from autospec_cli.data.bins import check_n_bins
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
        target_bins=check_n_bins(target_bins),
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
            inert(r["dataset"]),
            inert(r["algorithm"]),
            str(r["specs"]),
            str(r["kept"]),
            f"{r['precision']:.3f}",
            f"{r['recall']:.3f}",
            f"{r['f1']:.3f}",
        )
    console.print(table)
    gains = FoldingTable(title="Tree F1 gain on throughput, beside the paper's (labelled setting)")
    for col in ("setting", "tree F1", "vs next best", "vs human rules", "vs best human subset",
                "majority F1"):
        gains.add_column(col, justify="left" if col == "setting" else "right")
    for g in summary.get("tree_gains", []):
        maj = "–" if g.get("majority_f1") is None else f"{g['majority_f1']:.3f}"
        gains.add_row(g["dataset"], f"{g['tree']:.3f}", f"{_pct(g['vs_next'])} ({g['next']})",
                      _pct(g["vs_human"]), _pct(g["vs_best_human"]), maj)
    paper = summary.get("paper_gains", {})
    gains.add_row("paper (labelled)", "", _pct(paper.get("next best generator")),
                  _pct(paper.get("human rules")), "")
    console.print(gains)
    ver = summary.get("verification")
    if ver:
        console.print(ver.get("text", ""), markup=False, highlight=False)
    console.print(
        f"Everything is under [bold]{inert(out)}[/] ({summary['seconds']} s): results.md, "
        "summary.json, plots/, specs/, data/"
        + (", models/, throughput-bench/, throughput-results/" if ver else "")
    )


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:+.0%}"
