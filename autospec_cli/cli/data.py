"""`autospec data ...`: inspect a dataset and split it into generation / evaluation parts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from autospec_cli.cli import dataopts as do
from autospec_cli.cli.common import FoldingTable, console, emit_json, globals_of, want_json

if TYPE_CHECKING:
    from autospec_cli.data.dataset import Dataset

data_app = typer.Typer(help="Load, inspect and split datasets.", no_args_is_help=True)

SEED_OPT = typer.Option(None, "--seed", min=0,
                        help="Seed of the split (default: the global --seed).")
JSON_OPT = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")


def register(app: typer.Typer) -> None:
    """Add the ``data`` group to the root app."""
    app.add_typer(data_app, name="data", rich_help_panel="AutoSpec")


def describe(ds: Dataset) -> dict[str, Any]:
    """A JSON-ready summary: size, task, class counts or target statistics, hashes."""
    import numpy as np

    info: dict[str, Any] = {
        "name": ds.name,
        "source": ds.meta.get("source"),
        "format": ds.meta.get("format"),
        "rows": ds.n,
        "n_features": ds.d,
        "features": list(ds.features),
        "task": ds.task,
    }
    if ds.task == "classification" and ds.classes is not None:
        counts = np.bincount(ds.y, minlength=len(ds.classes))
        info["classes"] = [
            {"name": c, "count": int(k)} for c, k in zip(ds.classes, counts, strict=True)
        ]
    else:
        y = ds.y.astype(float)
        info["target"] = {
            "min": float(y.min()),
            "max": float(y.max()),
            "mean": float(y.mean()),
            "std": float(y.std()),
            "median": float(np.median(y)),
        }
    if ds.groups is not None:
        info["groups"] = int(len(np.unique(ds.groups)))
    info["sha256"] = ds.sha256()
    info["source_sha256"] = ds.meta.get("source_sha256")
    info["meta"] = {
        k: v for k, v in ds.meta.items() if k not in ("source", "format", "source_sha256")
    }
    return info


def _render_info(info: dict[str, Any]) -> None:
    from autospec_cli.inert import inert as escape

    t = FoldingTable(show_header=False, box=None)
    feats = info["features"]
    preview = ", ".join(feats[:6]) + (f", ... ({len(feats)})" if len(feats) > 6 else "")
    for key, value in [
        ("source", info["source"]),
        ("format", info["format"]),
        ("task", info["task"]),
        ("rows", info["rows"]),
        ("features", preview),
    ]:
        t.add_row(f"[bold]{key}[/]", escape(str(value)))
    if "groups" in info:
        t.add_row("[bold]groups[/]", str(info["groups"]))
    for c in info.get("classes", []):
        t.add_row("[bold]class[/]", escape(f"{c['name']}: {c['count']}"))
    if "target" in info:
        s = info["target"]
        t.add_row(
            "[bold]target[/]",
            f"min {s['min']:.6g}  max {s['max']:.6g}  mean {s['mean']:.6g}  "
            f"std {s['std']:.6g}  median {s['median']:.6g}",
        )
    meta = info["meta"]
    if meta.get("rows_dropped"):
        t.add_row(
            "[bold]NaN/inf[/]",
            escape(f"{meta['rows_dropped']} rows dropped ({meta['nonfinite_cells']})"),
        )
    elif meta.get("cells_replaced"):
        t.add_row(
            "[bold]NaN/inf[/]",
            escape(f"{meta['cells_replaced']} cells replaced ({meta['nonfinite_cells']})"),
        )
    t.add_row("[bold]sha256[/]", info["sha256"])
    console.print(t)


@data_app.command("info")
def info_cmd(
    ctx: typer.Context,
    data: str = do.DATA_ARG,
    task: str | None = do.TASK_OPT,
    features: str | None = do.FEATURES_OPT,
    label: str | None = do.LABEL_OPT,
    window: int = do.WINDOW_OPT,
    nan_policy: str = do.NAN_POLICY_OPT,
    keep_idle: bool = do.KEEP_IDLE_OPT,
    target_bins: int | None = do.TARGET_BINS_OPT,
    binary_labels: bool = do.BINARY_LABELS_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Show a dataset's size, features, task, class counts or target statistics and hash.

    Builtin datasets are generated with the global autospec --seed.
    """
    ds = do.load_from_cli(
        data,
        task,
        features,
        label,
        window,
        nan_policy,
        keep_idle=keep_idle,
        seed=globals_of(ctx).seed,
        target_bins=target_bins,
        binary_labels=binary_labels,
    )
    info = describe(ds)
    if want_json(ctx, json_out):
        emit_json(info)
    else:
        _render_info(info)


@data_app.command("split")
def split_cmd(
    ctx: typer.Context,
    data: str = do.DATA_ARG,
    out: Path = typer.Option(
        ..., "--out", "-o", help="Output folder for generation.npz, evaluation.npz, split.json."
    ),
    ratio: float = typer.Option(
        0.9, "--ratio", help="Share of rows in the generation part (0 < r < 1)."
    ),
    seed: int | None = SEED_OPT,
    force: bool = typer.Option(False, "--force", help="Overwrite existing split files."),
    by_group: bool = typer.Option(
        False, "--by-group",
        help="Keep each group (trace file of throughput windows, CSV file of a flow folder) "
        "in one part, so windows of one trace never land in both; not stratified."),
    task: str | None = do.TASK_OPT,
    features: str | None = do.FEATURES_OPT,
    label: str | None = do.LABEL_OPT,
    window: int = do.WINDOW_OPT,
    nan_policy: str = do.NAN_POLICY_OPT,
    keep_idle: bool = do.KEEP_IDLE_OPT,
    target_bins: int | None = do.TARGET_BINS_OPT,
    binary_labels: bool = do.BINARY_LABELS_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Split a dataset into generation / evaluation parts (stratified for classification).

    Builtin datasets are generated with the global autospec --seed; --seed here
    seeds the split only. --target-bins cuts a regression target into labelled bins over
    the whole dataset before splitting, so a label means the same interval in both parts.
    """
    from autospec_cli.data.split import check_ratio, write_split

    check_ratio(ratio)
    data_seed = globals_of(ctx).seed
    seed = data_seed if seed is None else seed
    ds = do.load_from_cli(
        data, task, features, label, window, nan_policy, keep_idle=keep_idle, seed=data_seed,
        target_bins=target_bins, binary_labels=binary_labels,
    )
    summary = write_split(ds, out, ratio=ratio, seed=seed, force=force, by_group=by_group)
    if want_json(ctx, json_out):
        emit_json({**summary, "out": str(out)})
        return
    sizes = summary["sizes"]
    how = "stratified" if summary["stratified"] else "shuffled"
    if summary.get("by_group"):
        g = summary["groups"]
        how = f"by group: {len(g['generation'])} + {len(g['evaluation'])} groups"
    console.print(
        f"wrote {out}/generation.npz ({sizes['generation']} rows), "
        f"evaluation.npz ({sizes['evaluation']} rows), split.json ({how}, seed {seed})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
