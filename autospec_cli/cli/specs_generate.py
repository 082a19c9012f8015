"""`autospec specs generate`: mine a specification set from a dataset."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from autospec_cli.cli import dataopts as do
from autospec_cli.cli.common import (
    console,
    emit_json,
    err_console,
    globals_of,
    show_progress,
    want_json,
)
from autospec_cli.errors import ConfigError

#: CLI option -> generator hyperparameter (checked against the chosen generator).
OPTION_PARAMS: dict[str, str] = {
    "--beta": "beta", "--k": "k", "--max-depth": "max_depth",
    "--min-samples-leaf": "min_samples_leaf", "--method": "method", "--bins": "n_bins",
    "--tau": "tau", "--rules": "rules",
}


ALGO_OPT = typer.Option(
    ..., "--algo", "-a", metavar="grid|cluster|tree|human",
    help="Generator: AutoSpec Alg. 3 grid, Alg. 4 cluster (k-means), Alg. 2 tree, or the human "
    "throughput rules; plug-ins add more.")
OUTPUT_OPT = typer.Option(..., "-o", "--output", help="Spec set JSON to write.")
BETA_OPT = typer.Option(None, "--beta", help="grid: intervals per feature (default 10).")
K_OPT = typer.Option(None, "--k", help="cluster: number of k-means clusters (default 8).")
MAX_DEPTH_OPT = typer.Option(None, "--max-depth", help="tree: maximum depth (default 10).")
MIN_LEAF_OPT = typer.Option(
    None, "--min-samples-leaf", help="tree: minimum generation points per leaf (default 5).")
METHOD_OPT = typer.Option(
    None, "--method", metavar="auto|exact|hist",
    help="tree: scikit-learn's exact CART, the histogram builder, or chosen by data size "
    "(default auto).")
BINS_OPT = typer.Option(None, "--bins", help="human: throughput bins (default 10).")
TAU_OPT = typer.Option(
    None, "--tau", help="human: trend slope threshold, a fraction of the throughput range per "
    "step (default 0.01).")
RULES_OPT = typer.Option(
    None, "--rules", metavar="level,increase,decrease,stable",
    help="human: rules to apply (default all).")
PARAM_OPT = typer.Option(
    None, "--param", "-p", metavar="NAME=VALUE",
    help="Any generator hyperparameter (VALUE parsed as JSON, else a string); repeatable.")
SEED_OPT = typer.Option(
    None, "--seed", help="random_state of cluster/tree (default: the global --seed).")


def register(app: typer.Typer) -> None:
    """Add these commands to the `specs` sub-app."""
    app.command("generate")(generate)


def generate(
    ctx: typer.Context,
    data: str = do.DATA_ARG,
    algo: str = ALGO_OPT,
    output: Path = OUTPUT_OPT,
    task: str | None = do.TASK_OPT,
    features: str | None = do.FEATURES_OPT,
    label: str | None = do.LABEL_OPT,
    window: int = do.WINDOW_OPT,
    nan_policy: str = do.NAN_POLICY_OPT,
    keep_idle: bool = do.KEEP_IDLE_OPT,
    beta: int | None = BETA_OPT,
    k: int | None = K_OPT,
    max_depth: int | None = MAX_DEPTH_OPT,
    min_samples_leaf: int | None = MIN_LEAF_OPT,
    method: str | None = METHOD_OPT,
    bins: int | None = BINS_OPT,
    tau: float | None = TAU_OPT,
    rules: str | None = RULES_OPT,
    param: list[str] | None = PARAM_OPT,
    seed: int | None = SEED_OPT,
    force: bool = typer.Option(False, "--force", help="Overwrite OUTPUT if it exists."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Mine hyperrectangle specifications from DATA and write them as a spec set (JSON)."""
    from autospec_cli.io import check_writable
    from autospec_cli.specs.generators.registry import generate_specs, generator_params

    as_json = want_json(ctx, json_out)
    seed = globals_of(ctx).seed if seed is None else seed
    given = {"--beta": beta, "--k": k, "--max-depth": max_depth,
             "--min-samples-leaf": min_samples_leaf, "--method": method, "--bins": bins,
             "--tau": tau, "--rules": rules}
    params = _params(algo, given, param or [], generator_params(algo))
    check_writable(output, force)
    ds = do.load_from_cli(data, task, features, label, window, nan_policy,
                          keep_idle=keep_idle, seed=seed)
    start = time.perf_counter()
    with _status(f"mining {algo} specifications from {ds.n} points", show_progress(ctx, as_json)):
        specset = generate_specs(ds, algo, seed=seed, **params)
    seconds = time.perf_counter() - start
    specset.save(output, force=force)
    summary = summarize(specset, output, seconds)
    if as_json:
        emit_json(summary)
    else:
        _render(summary)


@contextlib.contextmanager
def _status(text: str, enabled: bool) -> Iterator[None]:
    """A transient spinner on stderr while one long library call runs."""
    if not enabled:
        yield
        return
    with err_console.status(text):
        yield


def _params(
    algo: str, given: dict[str, Any], extra: list[str], accepted: dict[str, Any]
) -> dict[str, Any]:
    """Hyperparameters from the options that were set; refuse those ``algo`` does not take."""
    params: dict[str, Any] = {}
    for opt, value in given.items():
        if value is None:
            continue
        name = OPTION_PARAMS[opt]
        if name not in accepted:
            usable = [o for o, p in OPTION_PARAMS.items() if p in accepted]
            raise ConfigError(
                f"{opt} does not apply to --algo {algo}; its options are "
                f"{', '.join(usable) or 'none'} (or --param NAME=VALUE)"
            )
        params[name] = value
    for item in extra:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--param expects NAME=VALUE, got {item!r}")
        try:
            params[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[name.strip()] = raw
    return params


def summarize(specset: Any, output: Path, seconds: float) -> dict[str, Any]:
    """What the command reports: size, support statistics and time."""
    support = [s.support for s in specset.specs]
    return {
        "output": str(output),
        "algorithm": specset.algorithm,
        "task": specset.task,
        "params": specset.params,
        "dataset": specset.dataset,
        "n_features": specset.d,
        "n_specs": len(specset),
        "mean_support": sum(support) / len(support) if support else 0.0,
        "min_support": min(support) if support else 0,
        "max_support": max(support) if support else 0,
        "seconds": round(seconds, 3),
    }


def _render(s: dict[str, Any]) -> None:
    from rich.markup import escape

    console.print(
        f"[bold]{s['n_specs']}[/] {s['algorithm']} specifications ({s['task']}, "
        f"{s['n_features']} features) from {s['dataset']['n']} points in {s['seconds']:.2f} s; "
        f"support mean {s['mean_support']:.1f} (min {s['min_support']}, max {s['max_support']})"
    )
    console.print(f"wrote {escape(s['output'])}", highlight=False)
