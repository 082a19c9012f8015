"""`autospec specs evaluate|plot`: score a spec set on data, or draw it over 2-D data.

DATA is anything the loaders read, or a split folder written by `autospec data split`
(generation.npz + evaluation.npz): then the evaluation part is used, and for regression the
output-range filter takes the target range of both parts (the whole dataset).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from autospec_cli.cli import dataopts as do
from autospec_cli.cli.common import (
    FoldingTable,
    console,
    emit_json,
    globals_of,
    progress_bars,
    show_progress,
    want_json,
)
from autospec_cli.errors import ConfigError, InputError, SpecError
from autospec_cli.inert import inert
from autospec_cli.io import check_writable

if TYPE_CHECKING:
    from autospec_cli.data.dataset import Dataset
    from autospec_cli.specs.metrics import SpecMetrics
    from autospec_cli.specs.model import SpecSet

SPECS_ARG = typer.Argument(..., metavar="SPECS", help="Specification set (JSON).",
                           show_default=False)
DATA_ARG = typer.Argument(
    ..., metavar="DATA",
    help=do.DATA_HELP
    + " Or a split folder (generation.npz + evaluation.npz): its evaluation part.",
    show_default=False,
)
JSON_OPT = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` and ``plot`` to the ``specs`` sub-app."""
    app.command("evaluate")(evaluate_cmd)
    app.command("plot")(plot_cmd)


def evaluate_cmd(
    ctx: typer.Context,
    specs: Path = SPECS_ARG,
    data: str = DATA_ARG,
    alpha: float = typer.Option(
        0.1, "--alpha",
        help="Regression: drop specs whose output range is wider than alpha x the target range "
        "(>= 0; inf keeps all).",
    ),
    y_range: str | None = typer.Option(
        None, "--y-range", metavar="MIN,MAX",
        help="Target range for the alpha filter (default: the data's; a split folder: both parts).",
    ),
    per_spec: bool = typer.Option(False, "--per-spec", help="Also list every spec's counts."),
    task: str | None = do.TASK_OPT,
    features: str | None = do.FEATURES_OPT,
    label: str | None = do.LABEL_OPT,
    window: int = do.WINDOW_OPT,
    nan_policy: str = do.NAN_POLICY_OPT,
    keep_idle: bool = do.KEEP_IDLE_OPT,
    target_bins: int | None = do.TARGET_BINS_OPT,
    binary_labels: bool = do.BINARY_LABELS_OPT,
    sweep_confidence: Path | None = typer.Option(
        None, "--sweep-confidence", metavar="PNG",
        help="Also score the specs kept at confidence thresholds 0, 0.05, ..., 0.95 "
        "(specs filter) and draw the precision-recall curve into PNG."),
    force: bool = typer.Option(False, "--force", help="Overwrite the sweep PNG."),
    json_out: bool = JSON_OPT,
) -> None:
    """Score a spec set on evaluation data: TP, FP, FN, precision, recall and F1 (AutoSpec §3).

    A point inside at least one kept spec is a TP if it satisfies every spec it lies in,
    else an FP; a point inside none is an FN. Labelled specs (mined with --target-bins) are
    scored by the classification rules on the data's target cut into the spec set's own bins.
    Monotonicity specs (--algo monotonic) are scored by pair agreement: the share of the
    comparable pairs x <= x' of points in a box whose targets move in the spec's direction.
    """
    from autospec_cli.specs.metrics import check_alpha, check_eval_data, evaluate_specs
    from autospec_cli.specs.model import SpecSet

    check_alpha(alpha)
    if sweep_confidence is not None:
        check_writable(sweep_confidence, force)
    specset = SpecSet.load(specs)
    ds, whole_range = load_eval_data(ctx, data, task, features, label, window, nan_policy,
                                     keep_idle, binary_labels=binary_labels)
    ds = labelled_data(specset, ds, target_bins)
    check_compatible(specset, ds, str(data))
    if specset.is_monotonic:
        if sweep_confidence is not None:
            raise InputError("--sweep-confidence applies to specs with an output constraint; "
                             "monotonicity specs are scored by pair agreement",
                             param="sweep_confidence")
        _monotonic(ctx, specset, ds, str(specs), data, json_out)
        return
    yr = parse_range(y_range) if y_range is not None else whole_range
    check_eval_data(specset, ds.X, ds.y)  # refuse bad labels before any progress bar is drawn
    with progress_bars(show_progress(ctx, json_out)) as progress:
        metrics = evaluate_specs(specset, ds.X, ds.y, alpha=alpha, y_range=yr, progress=progress)
    ids = [s.id for s in specset.specs] if per_spec else None
    sweep = None
    if sweep_confidence is not None:
        from autospec_cli.specs.confidence import confidence_sweep, plot_sweep

        sweep = confidence_sweep(specset, ds.X, ds.y, alpha=alpha, y_range=yr)
        plot_sweep(sweep, sweep_confidence, title=f"{specs.name}: filtering by confidence",
                   force=force)
    if want_json(ctx, json_out):
        extra = {} if sweep is None else {"sweep": sweep, "sweep_plot": str(sweep_confidence)}
        emit_json({"specs": str(specs), "data": data, "task": specset.task,
                   **metrics.to_json(ids), **extra})
        return
    _render(metrics, specset, str(specs), data, per_spec)
    if sweep is not None:
        console.print(_sweep_table(sweep))
        console.print(f"wrote {sweep_confidence}", markup=False, highlight=False)


def _monotonic(ctx: typer.Context, specset: Any, ds: Any, specs: str, data: str,
               json_out: bool) -> None:
    """Pair agreement of every monotonicity spec (:mod:`autospec_cli.specs.monotonic`)."""
    from autospec_cli.specs.monotonic import evaluate_monotonic

    if ds.task != "regression":
        raise InputError("monotonicity specs are scored on regression data", param="task")
    result = evaluate_monotonic(specset, ds.X, ds.y)
    if want_json(ctx, json_out):
        emit_json({"specs": specs, "data": data, "task": specset.task, **result})
        return
    table = FoldingTable(title=f"{inert(specs)} on {inert(data)}: pair agreement")
    for col in ("spec", "direction", "points", "comparable pairs", "agreeing", "agreement"):
        table.add_column(col, justify="left" if col in ("spec", "direction") else "right")
    for r in result["specs"]:
        table.add_row(inert(r["id"]), r["direction"], str(r["points"]),
                      str(r["comparable_pairs"]), str(r["agreeing_pairs"]),
                      f"{r['agreement']:.4f}")
    table.add_row("all", "", "", str(result["comparable_pairs"]), str(result["agreeing_pairs"]),
                  f"{result['agreement']:.4f}")
    console.print(table)


def plot_cmd(
    ctx: typer.Context,
    specs: Path = SPECS_ARG,
    data: str = DATA_ARG,
    out: Path = typer.Option(..., "--out", "-o", help="Output PNG file."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output file."),
    features_xy: str | None = typer.Option(
        None, "--features-xy", metavar="I,J",
        help="Two features (indices or names) to plot when the data has more than 2 "
        "(default: the two the drawn specs constrain most).",
    ),
    scale: str = typer.Option(
        "auto", "--scale", metavar="auto|linear|log|symlog",
        help="Axis scale of both axes; auto: log (symlog with values <= 0) for a heavy-tailed "
        "feature (median in the lowest 1 % of its range, values over two decades), else "
        "linear.",
    ),
    max_specs: int | None = typer.Option(None, "--max-specs", min=0,
                                         help="Draw at most this many specs (largest support)."),
    max_points: int = typer.Option(20_000, "--max-points", min=1,
                                   help="Draw a fixed random sample of this many points."),
    title: str | None = typer.Option(None, "--title", help="Plot title."),
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
    """Draw the specs as rectangles over the data points (2-D data, or two of its features).

    Without --features-xy, data with more than two features is drawn on the two features
    whose spec intervals are narrowest next to the data's spread on the drawn axes (mean over
    the drawn specs of the fraction of the axis an interval leaves out).
    """
    from autospec_cli.specs.model import SpecSet
    from autospec_cli.specs.plot import SCALES, plot_specs_2d

    if scale not in SCALES:
        raise ConfigError(f"--scale must be one of {', '.join(SCALES)}, got {scale!r}")
    check_writable(out, force)
    specset = SpecSet.load(specs)
    ds, _ = load_eval_data(ctx, data, task, features, label, window, nan_policy, keep_idle,
                           binary_labels=binary_labels)
    ds = labelled_data(specset, ds, target_bins)
    check_compatible(specset, ds, str(data))
    xy = parse_features_xy(features_xy, specset.features) if features_xy else None
    info = plot_specs_2d(specset, ds.X, ds.y, out, title=title, max_specs=max_specs,
                         features_xy=xy, classes=ds.classes, max_points=max_points,
                         scale=scale, force=force)
    if want_json(ctx, json_out):
        emit_json(info)
        return
    console.print(
        f"wrote {out} ({info['specs_drawn']} of {info['specs_total']} specs, "
        f"{info['points_drawn']} of {info['points_total']} points, "
        f"{_axis(info, 0)} x {_axis(info, 1)}"
        f"{'; the two features the specs constrain most' if info['chosen'] != 'given' else ''})",
        markup=False, highlight=False, soft_wrap=True,
    )


def _axis(info: dict[str, Any], k: int) -> str:
    name, kind = info["features"][k], info["scales"][k]
    return name if kind == "linear" else f"{name} [{kind}]"


def load_eval_data(
    ctx: typer.Context, data: str, task: str | None, features: str | None, label: str | None,
    window: int, nan_policy: str, keep_idle: bool, *, binary_labels: bool = False,
) -> tuple[Dataset, tuple[float, float] | None]:
    """The evaluation dataset, and the whole dataset's target range for a split folder."""
    import numpy as np

    seed = globals_of(ctx).seed
    folder = Path(data)
    if folder.is_dir() and (folder / "evaluation.npz").is_file():
        ev = do.load_from_cli(str(folder / "evaluation.npz"), task, features, label, window,
                              nan_policy, seed=seed, binary_labels=binary_labels)
        parts = [ev]
        if (folder / "generation.npz").is_file():
            parts.append(do.load_from_cli(str(folder / "generation.npz"), task, features, label,
                                          window, nan_policy, seed=seed,
                                          binary_labels=binary_labels))
        whole = None
        if ev.task == "regression":
            ys = np.concatenate([p.y for p in parts])
            whole = (float(ys.min()), float(ys.max())) if ys.size else None
        return ev, whole
    ds = do.load_from_cli(data, task, features, label, window, nan_policy,
                          keep_idle=keep_idle, seed=seed, binary_labels=binary_labels)
    return ds, None


def labelled_data(specset: SpecSet, ds: Dataset, target_bins: int | None) -> Dataset:
    """The data with its target cut into the bins the specs name (see ``data.bins``).

    A labelled spec set fixes the bins (its edges), so regression data is binned with them
    and already-binned data must use the same edges; ``target_bins`` must then agree with
    their number. Specs without bins: ``target_bins`` bins the data over its own range.
    """
    import numpy as np

    from autospec_cli.data.bins import bin_dataset, check_n_bins, dataset_edges

    if target_bins is not None:
        check_n_bins(target_bins)
    edges = specset.target_bins
    if edges is None:
        return ds if target_bins is None else bin_dataset(ds, target_bins)
    if target_bins is not None and target_bins != edges.size - 1:
        raise ConfigError(f"the specifications name {edges.size - 1} bins, not {target_bins}",
                          param="target_bins")
    have = dataset_edges(ds)
    if have is not None and not np.array_equal(have, edges):
        raise SpecError("the data's target bins differ from the ones the specifications name; "
                        "bin the data once (data split --target-bins) and use both parts")
    return ds if have is not None or ds.task != "regression" else bin_dataset(ds, edges=edges)


def check_compatible(specset: SpecSet, ds: Dataset, data: str) -> None:
    """Same task, feature count and names, and class names as the spec set; else SpecError."""
    if specset.task != ds.task:
        raise SpecError(f"the specifications are for {specset.task} but {data} is a {ds.task} "
                        "dataset; evaluate them on the kind of data they were mined from")
    if specset.d != ds.d:
        raise SpecError(f"the specifications have {specset.d} features but {data} has {ds.d}; "
                        "load it with the same --features as when generating")
    diff = [(a, b) for a, b in zip(specset.features, ds.features, strict=True) if a != b]
    if diff:
        raise SpecError(f"feature names differ: specs have {diff[0][0]!r} where {data} has "
                        f"{diff[0][1]!r} ({len(diff)} of {ds.d} differ); load the same columns")
    if specset.classes and ds.classes and list(specset.classes) != list(ds.classes):
        hint = (" (the specs were mined with --binary-labels; give it here too)"
                if list(specset.classes) == ["benign", "attack"] else "")
        raise SpecError(f"class names differ: specs {specset.classes} vs {data} {ds.classes}; "
                        f"labels would not mean the same classes{hint}")


def parse_range(text: str) -> tuple[float, float]:
    """``"MIN,MAX"`` -> (min, max), finite with min <= max; else ConfigError."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"--y-range must be MIN,MAX (two numbers), got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ConfigError(f"--y-range must be finite with MIN <= MAX, got {text!r}")
    return lo, hi


def parse_features_xy(text: str, names: list[str]) -> tuple[int, int]:
    """``"I,J"`` with indices or feature names -> two indices; else ConfigError."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise ConfigError(f"--features-xy must be two features I,J, got {text!r}")
    out = []
    for p in parts:
        if p in names:
            out.append(names.index(p))
        elif p.lstrip("-").isdigit():
            out.append(int(p))
        else:
            raise ConfigError(f"--features-xy: {p!r} is neither a feature index nor a name")
    return out[0], out[1]


def _render(metrics: SpecMetrics, specset: SpecSet, specs: str, data: str,
            per_spec: bool) -> None:
    t = FoldingTable(title=inert(f"{specs} on {data}"), show_header=True)
    for col in ("TP", "FP", "FN", "precision", "recall", "F1", "coverage", "specs kept"):
        t.add_column(col, justify="right")
    m = metrics
    t.add_row(str(m.tp), str(m.fp), str(m.fn), f"{m.precision:.4f}", f"{m.recall:.4f}",
              f"{m.f1:.4f}", f"{m.coverage:.4f}", f"{m.n_kept}/{m.n_specs}")
    console.print(t)
    if m.y_range is not None:
        console.print(f"alpha {m.alpha:g}: kept output ranges no wider than "
                      f"{_limit(m):.6g} (target range {m.y_range[0]:.6g} .. {m.y_range[1]:.6g})",
                      markup=False, highlight=False)
    if per_spec:
        console.print(_spec_table(metrics, specset))


def _sweep_table(rows: list[dict[str, Any]]) -> Any:
    t = FoldingTable(title="specs kept by confidence threshold", show_header=True)
    for col in ("min confidence", "specs", "precision", "recall", "F1"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(f"{r['min_confidence']:.2f}", str(r["specs"]), f"{r['precision']:.4f}",
                  f"{r['recall']:.4f}", f"{r['f1']:.4f}")
    return t


def _limit(m: SpecMetrics) -> float:
    assert m.y_range is not None
    return math.inf if math.isinf(m.alpha) else m.alpha * (m.y_range[1] - m.y_range[0])


def _spec_table(m: SpecMetrics, specset: SpecSet) -> Any:
    t = FoldingTable(show_header=True)
    for col in ("id", "kept", "covered", "satisfied", "precision"):
        t.add_column(col, justify="right" if col != "id" else "left")
    for s, k, c, sat in zip(specset.specs, m.kept, m.spec_covered, m.spec_satisfied,
                            strict=True):
        prec = f"{sat / c:.4f}" if c else "-"
        t.add_row(inert(s.id), "yes" if k else "no", str(c), str(sat), prec)
    return t
