"""`autospec train`: train a network on a dataset and write it as ONNX (+ a JSON sidecar)."""

from __future__ import annotations

from pathlib import Path

import typer

from autospec_cli.cli import dataopts as do
from autospec_cli.cli.common import (
    console,
    emit_json,
    globals_of,
    progress_bars,
    show_progress,
    want_json,
)
from autospec_cli.inert import inert

ARCH_HELP = (
    "Architecture. mlp:H1,H2,... is a fully connected ReLU net (mlp:10,5 = the AutoSpec "
    "4-10-5-1 throughput model; plain mlp = linear; add :act=tanh|sigmoid|leaky_relu). "
    "conv:F1,F2/FC1,... is Conv -> BatchNorm -> act -> AvgPool per filter count F, then "
    "hidden Linear layers FC, then the output Linear; options after a second colon: "
    "kernel=3,pool=2,padding=0,dropout=0,bn=1,act=relu (e.g. conv:8,16/32:kernel=5)."
)


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to the root app."""
    app.command("train", rich_help_panel="Models")(train)


def train(
    ctx: typer.Context,
    data: str = do.DATA_ARG,
    arch: str = typer.Option("mlp:10,5", "--arch", "-a", help=ARCH_HELP),
    out: Path = typer.Option(..., "--out", "-o",
                             help="ONNX file to write (required: no file appears unasked in "
                             "the current folder); the sidecar MODEL.json goes beside it."),
    epochs: int = typer.Option(100, "--epochs", min=1, help="Maximum number of epochs."),
    tol: float = typer.Option(1e-3, "--tol", min=0.0,
                              help="Stop when the epoch training loss changes by at most this "
                              "(AutoSpec §5.3: 1e-3; 0 trains all --epochs)."),
    lr: float = typer.Option(1e-3, "--lr", min=1e-12, help="Learning rate."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Minibatch size."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", min=0.0, max=0.99,
                                       help="Share of rows held out for validation (best "
                                       "validation epoch is kept)."),
    optimizer: str = typer.Option("adam", "--optimizer", metavar="adam|sgd", help="Optimizer."),
    weight_decay: float = typer.Option(0.0, "--weight-decay", min=0.0, help="L2 weight decay."),
    input_shape: str | None = typer.Option(
        None, "--input-shape", metavar="C,H,W",
        help="conv nets: image shape of the flat features (default: from the data, or "
        "inferred for square images)."),
    input_norm: str = typer.Option(
        "feature", "--input-norm", metavar="feature|global|none",
        help="Input standardisation folded into the first layer: per feature (per channel "
        "for conv nets), one mean/std over all values (images scaled to [0, 1] fed to an MLP: "
        "per-pixel stds of near-constant border pixels blow up the weights), or none."),
    seed: int | None = typer.Option(None, "--seed", min=0, help="Seed for the split, "
                                    "initialisation and minibatch order (default: the global "
                                    "--seed)."),
    task: str | None = do.TASK_OPT,
    features: str | None = do.FEATURES_OPT,
    label: str | None = do.LABEL_OPT,
    window: int = do.WINDOW_OPT,
    nan_policy: str = do.NAN_POLICY_OPT,
    keep_idle: bool = do.KEEP_IDLE_OPT,
    binary_labels: bool = do.BINARY_LABELS_OPT,
    threads: int = typer.Option(1, "--threads", min=1,
                                help="torch threads for training (default 1: fastest for small "
                                "networks and fair to other jobs; more can help conv nets)."),
    force: bool = typer.Option(False, "--force", help="Overwrite MODEL.onnx / MODEL.json."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Train a network on DATA and write it as ONNX with a JSON sidecar.

    The ONNX graph maps raw features to raw outputs (input standardisation and, for
    regression, output scaling are folded into the weights) and accepts any batch size; it
    is checked with onnx.checker and against onnxruntime before it is written. The sidecar
    MODEL.json records the architecture, training options, metrics, per-epoch history, the
    dataset's sha256 and the ONNX file's sha256.

    Example: autospec train builtin:throughput --arch mlp:10,5 -o throughput.onnx
    """
    from autospec_cli.models.arch import parse_shape
    from autospec_cli.models.train_export import TrainConfig, train_to_onnx

    g = globals_of(ctx)
    seed = g.seed if seed is None else seed
    TrainConfig(arch=arch, input_norm=input_norm.lower())  # refuse bad options before loading
    ds = do.load_from_cli(data, task, features, label, window, nan_policy,
                          keep_idle=keep_idle, seed=seed, binary_labels=binary_labels)
    cfg = TrainConfig(arch=arch, epochs=epochs, lr=lr, batch_size=batch_size, tol=tol,
                      val_fraction=val_fraction, weight_decay=weight_decay,
                      optimizer=optimizer.lower(), seed=seed,
                      input_norm=input_norm.lower(),
                      input_shape=parse_shape(input_shape) if input_shape else None)
    as_json = want_json(ctx, json_out)
    with progress_bars(show_progress(ctx, as_json)) as progress:
        record = train_to_onnx(ds, out, cfg, force=force, progress=progress, threads=threads)
    if as_json:
        emit_json(record)
        return
    _render(record)


def _render(record: dict) -> None:
    metrics = record["metrics"]
    keys = [k for k in ("val_rmse", "val_mae", "val_r2", "val_accuracy", "train_rmse",
                        "train_r2", "train_accuracy") if k in metrics]
    shown = ", ".join(f"{k} {metrics[k]:.4g}" for k in keys if metrics[k] is not None)
    console.print(
        f"Trained [bold]{inert(record['arch'])}[/] on "
        f"{inert(record['dataset']['name'] or 'the data')} "
        f"({record['n_inputs']} inputs -> {record['n_outputs']} outputs): "
        f"{record['epochs_run']} epochs ({inert(record['stopped'])}), "
        f"best epoch {record['best_epoch']}."
    )
    if shown:
        console.print(shown)
    console.print(f"Wrote [bold]{inert(record['onnx'])}[/] and {inert(record['sidecar'])}.")
