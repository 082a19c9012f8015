"""Loader options shared by every command that takes a DATA argument.

Use them as defaults in a command signature and pass the values to :func:`load_from_cli`::

    from autospec_cli.cli import dataopts as do

    def generate(ctx: typer.Context, data: str = do.DATA_ARG, task: str | None = do.TASK_OPT,
                 features: str | None = do.FEATURES_OPT, label: str | None = do.LABEL_OPT,
                 window: int = do.WINDOW_OPT, nan_policy: str = do.NAN_POLICY_OPT, ...):
        ds = do.load_from_cli(data, task, features, label, window, nan_policy,
                              seed=globals_of(ctx).seed)

``KEEP_IDLE_OPT`` (throughput traces), ``TARGET_BINS_OPT`` (labelled targets) and
``BINARY_LABELS_OPT`` (benign vs attack) are optional; pass their values as ``keep_idle=``,
``target_bins=`` and ``binary_labels=``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from autospec_cli.data.dataset import Dataset

DATA_HELP = (
    "Dataset: builtin:spiral | builtin:throughput | builtin:digits, an NPZ file, a CSV "
    "(generic, throughput trace, CIC-IDS2017 flows), an NSL-KDD .txt, or a folder of traces/flows."
)
DATA_ARG = typer.Argument(..., metavar="DATA", help=DATA_HELP, show_default=False)
TASK_OPT = typer.Option(
    None,
    "--task",
    metavar="classification|regression",
    help="Task of a generic CSV/NPZ (default: inferred from the label column).",
)
FEATURES_OPT = typer.Option(
    None,
    "--features",
    metavar="A,B,...",
    help="Comma-separated feature columns (traces: the series to window; default all / ul_brate).",
)
LABEL_OPT = typer.Option(
    None,
    "--label",
    help="Label/target column (CSV: last column; traces: ul_brate; flows: Label; "
    "NSL-KDD: attack = normal/attack, label = attack names).",
)
WINDOW_OPT = typer.Option(4, "--window", min=1, help="Throughput traces: past values per window.")
NAN_POLICY_OPT = typer.Option(
    "drop",
    "--nan-policy",
    metavar="drop|clip|error",
    help="NaN/Infinity cells: drop rows, clip (inf -> column max/min, NaN -> median) or error.",
)
KEEP_IDLE_OPT = typer.Option(
    False,
    "--keep-idle",
    help="Throughput traces: keep the leading rows with nof_ue = 0 (dropped by default).",
)
TARGET_BINS_OPT = typer.Option(
    None,
    "--target-bins",
    metavar="N",
    help="Cut a regression target into N labelled bins of equal width over [0, max] "
    "([min, max] if negative): AutoSpec's labelled setting.",
)
BINARY_LABELS_OPT = typer.Option(
    False,
    "--binary-labels",
    help="Intrusion data: merge every attack class into one, classes benign (BENIGN / "
    "normal) = 0 and attack = 1 (default: the classes as in the data).",
)


def parse_features(features: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; None stays None."""
    if features is None:
        return None
    return [f.strip() for f in features.split(",") if f.strip()]


def load_from_cli(
    source: str,
    task: str | None = None,
    features: str | None = None,
    label: str | None = None,
    window: int = 4,
    nan_policy: str = "drop",
    *,
    keep_idle: bool = False,
    seed: int = 0,
    target_bins: int | None = None,
    binary_labels: bool = False,
) -> Dataset:
    """Load a dataset from the shared CLI options (errors are typed; the CLI root renders them)."""
    from autospec_cli.data.loaders import load_dataset

    return load_dataset(
        source,
        task=task,
        features=parse_features(features),
        label=label,
        window=window,
        nan_policy=nan_policy,
        seed=seed,
        drop_leading_idle=not keep_idle,
        target_bins=target_bins,
        binary_labels=binary_labels,
    )
