"""`autospec export`: a spec set and an ONNX model -> a VNN-COMP benchmark folder."""

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
from autospec_cli.errors import InputError
from autospec_cli.inert import inert

_VERSIONS = {"1": "1.0", "1.0": "1.0", "2": "2.0", "2.0": "2.0"}


def export(
    ctx: typer.Context,
    specs: Path = typer.Argument(..., metavar="SPECS", help="Spec set JSON (from `autospec specs "
                                 "generate`).", show_default=False),
    model: Path = typer.Option(..., "--model", "-m", help="ONNX model the properties are about; "
                               "its flattened input size must equal the specs' feature count.",
                               show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Benchmark folder to create (onnx/, vnnlib/, "
                             "instances.csv, manifest.json).", show_default=False),
    vnnlib_version: str = typer.Option(
        "1", "--vnnlib-version", metavar="1|2",
        help="VNN-LIB version of the property files: 1 (1.0, what VNN-COMP tools read) or 2 "
        "(2.0, typed tensors; also accepted as 1.0 / 2.0)."),
    timeout: float = typer.Option(60.0, "--timeout",
                                  help="Per-instance timeout in seconds written to instances.csv."),
    domain_from: str | None = typer.Option(
        None, "--domain-from", metavar="DATA",
        help="Close unbounded box sides with this dataset's per-feature min/max (default: the "
        "spec set's domain). Same DATA forms as everywhere else."),
    label: str | None = do.LABEL_OPT,
    window: int = do.WINDOW_OPT,
    nan_policy: str = do.NAN_POLICY_OPT,
    category: str | None = typer.Option(
        None, "--category", help="Benchmark category name (default: the folder name)."),
    onehot_limit: int = typer.Option(
        64, "--onehot-limit", min=1, metavar="N",
        help="Discrete features: the most input boxes (one per combination of allowed "
        "one-hot categories) one property may enumerate; past it a group keeps the relaxed "
        "[0, 1] box and the property is marked relaxed in the manifest."),
    max_specs: int | None = typer.Option(
        None, "--max-specs", min=1, metavar="K",
        help="Export only the K specs with the largest support (default: all)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing benchmark folder."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Export every spec as a VNN-LIB property (its counterexample region) with the model.

    Label c: unsafe if some Y_j >= Y_c (j != c).

    Range ymin..ymax: unsafe if Y_0 <= ymin or Y_0 >= ymax (the boundary is a violation).

    Discrete features recorded in the spec set (integer features, one-hot groups) stay
    discrete: integer bounds are rounded inward, a one-hot group becomes one input box per
    allowed category (up to --onehot-limit boxes), and a spec whose box holds no possible
    input is dropped (listed in the manifest).

    Writes BENCH/onnx/, BENCH/vnnlib/, BENCH/instances.csv (onnx,vnnlib,timeout; no header)
    and BENCH/manifest.json (spec id, hashes, domain closing per property).

    Example: autospec export specs.json --model net.onnx -o bench/ --domain-from train.csv
    """
    from autospec_cli.specs.model import SpecSet
    from autospec_cli.vnnlib.benchmark_export import dataset_domain, export_specset

    version = _VERSIONS.get(vnnlib_version.strip())
    if version is None:
        raise InputError(f"unknown --vnnlib-version {vnnlib_version!r}; use 1 or 2")
    spec_set = SpecSet.load(specs)
    domain = source = None
    if domain_from is not None:
        ds = do.load_from_cli(domain_from, None, None, label, window, nan_policy,
                              seed=globals_of(ctx).seed)
        domain, source = dataset_domain(ds, spec_set.features), f"data:{domain_from}"
    with progress_bars(show_progress(ctx, json_out)) as progress:
        summary = export_specset(spec_set, model, out, version=version, timeout=timeout,
                                 domain=domain, domain_source=source, category=category,
                                 force=force, progress=progress, onehot_limit=onehot_limit,
                                 max_specs=max_specs)
    if want_json(ctx, json_out):
        emit_json(summary.to_json())
        return
    closed = (f"; {summary.n_closed} box(es) closed with the {inert(summary.domain_source)} domain"
              if summary.n_closed else "")
    console.print(f"wrote {summary.n_properties} VNN-LIB {summary.vnnlib_version} properties to "
                  f"{inert(summary.out)} ({summary.n_inputs} inputs, "
                  f"{summary.n_outputs} outputs){closed}",
                  highlight=False)
    if summary.dropped or summary.n_relaxed or summary.n_integer_relaxed:
        console.print(f"discrete features: {summary.n_cases} input box(es) in all; "
                      f"{len(summary.dropped)} spec(s) dropped (no possible input), "
                      f"{summary.n_relaxed} one-hot-relaxed, {summary.n_integer_relaxed} "
                      "with integer features searched over the reals (see manifest.json)",
                      highlight=False)


def register(app: typer.Typer) -> None:
    """Add the top-level ``export`` command to the root app."""
    app.command("export", rich_help_panel="Verification")(export)
