"""`autospec specs generate`: mine a specification set from a dataset."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperOption

from autospec_cli.cli import dataopts as do
from autospec_cli.cli.common import (
    console,
    emit_json,
    err_console,
    globals_of,
    show_progress,
    want_json,
)
from autospec_cli.errors import ConfigError, PluginError
from autospec_cli.io import check_writable

#: CLI flag -> generator hyperparameter (checked against the chosen generator). Their help
#: text, defaults and bounds come from the generators' declarations (filled in at --help).
OPTION_PARAMS: dict[str, str] = {
    "--beta": "beta", "--k": "k", "--max-depth": "max_depth",
    "--min-samples-leaf": "min_samples_leaf", "--method": "method", "--bins": "n_bins",
    "--tau": "tau", "--rules": "rules",
}


def _flag(flag: str, metavar: str | None = None) -> Any:
    """A hyperparameter flag; ``--help`` replaces this help with the declared one."""
    return typer.Option(None, flag, metavar=metavar, show_default=False,
                        help=f"Generator hyperparameter {OPTION_PARAMS[flag]}.")


ALGO_OPT = typer.Option(
    ..., "--algo", "-a", metavar="grid|cluster|tree|human",
    help="Generator: AutoSpec Alg. 3 grid, Alg. 4 cluster (k-means), Alg. 2 tree, or the human "
    "throughput rules; plug-ins add more (see `autospec plugins --kind generators`).")
OUTPUT_OPT = typer.Option(..., "-o", "--output", help="Spec set JSON to write.")
OPT_OPT = typer.Option(
    None, "--opt", metavar="NAME=VALUE",
    help="Any declared hyperparameter of the generator, parsed and checked against its "
    "declaration like `verify --opt` (see `autospec plugins --kind generators`); repeatable.")
PARAM_OPT = typer.Option(
    None, "--param", "-p", metavar="NAME=VALUE",
    help="Any generator hyperparameter, untyped (VALUE parsed as JSON, else a string); "
    "repeatable. Prefer --opt.")
SEED_OPT = typer.Option(
    None, "--seed", min=0, help="random_state of cluster/tree (default: the global --seed).")


class _DeclaredHelp(TyperCommand):
    """``specs generate`` whose hyperparameter flags get their help from the declarations.

    The generators are imported only when help is shown, so starting the CLI stays cheap.
    """

    def format_help(self, ctx: Any, formatter: Any) -> None:
        texts = flag_help()
        for p in self.params:
            flag = next((o for o in p.opts if o in OPTION_PARAMS), None)
            if isinstance(p, TyperOption) and flag is not None and flag in texts:
                p.help, metavar = texts[flag]
                p.metavar = p.metavar or metavar
        super().format_help(ctx, formatter)


def flag_help() -> dict[str, tuple[str, str]]:
    """Help and metavar of each hyperparameter flag, from every generator declaring it:
    ``"GENERATOR: help (bounds; default)"`` joined by ``; `` and the first one's type."""
    from autospec_cli.specs.generators.registry import GENERATORS

    texts: dict[str, tuple[str, str]] = {}
    for algo in GENERATORS.names():
        try:
            declared = GENERATORS.load(algo).parameters
        except PluginError:
            continue
        for flag, name in OPTION_PARAMS.items():
            if name in declared:
                p = declared[name]
                text = f"{algo}: {p.help_text()}"
                if flag in texts:  # shared by several generators: each with its own default
                    text = f"{texts[flag][0]}; {text}"
                texts[flag] = (text, texts.get(flag, ("", p.type_name.upper()))[1])
    return texts


def register(app: typer.Typer) -> None:
    """Add these commands to the `specs` sub-app."""
    app.command("generate", cls=_DeclaredHelp)(generate)


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
    target_bins: int | None = do.TARGET_BINS_OPT,
    binary_labels: bool = do.BINARY_LABELS_OPT,
    beta: str | None = _flag("--beta"),
    k: str | None = _flag("--k"),
    max_depth: str | None = _flag("--max-depth"),
    min_samples_leaf: str | None = _flag("--min-samples-leaf"),
    method: str | None = _flag("--method", "auto|exact|hist"),
    bins: str | None = _flag("--bins"),
    tau: str | None = _flag("--tau"),
    rules: str | None = _flag("--rules", "level,increase,decrease,stable"),
    opt: list[str] | None = OPT_OPT,
    param: list[str] | None = PARAM_OPT,
    seed: int | None = SEED_OPT,
    force: bool = typer.Option(False, "--force", help="Overwrite OUTPUT if it exists."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Mine hyperrectangle specifications from DATA and write them as a spec set (JSON).

    --target-bins N mines labelled specs: each names one of N bins of the target (AutoSpec
    §5.2); bin before splitting (data split --target-bins) so both parts share the bins.
    """
    from autospec_cli.specs.generators.registry import generate_specs, generator_class

    as_json = want_json(ctx, json_out)
    seed = globals_of(ctx).seed if seed is None else seed
    given = {"--beta": beta, "--k": k, "--max-depth": max_depth,
             "--min-samples-leaf": min_samples_leaf, "--method": method, "--bins": bins,
             "--tau": tau, "--rules": rules}
    params = _params(algo, given, opt or [], param or [], generator_class(algo).parameters)
    check_writable(output, force)
    ds = do.load_from_cli(data, task, features, label, window, nan_policy,
                          keep_idle=keep_idle, seed=seed, target_bins=target_bins,
                          binary_labels=binary_labels)
    generator_class(algo).load_dependencies()  # the reported time is mining, not imports
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
    algo: str, given: dict[str, Any], opts: list[str], extra: list[str],
    declared: dict[str, Any],
) -> dict[str, Any]:
    """Hyperparameters from the flags that were set (parsed against the declarations), then
    ``--opt`` pairs (likewise), then untyped ``--param`` pairs; refuse what ``algo`` lacks."""
    from autospec_cli.specs.generators.registry import parse_generator_options

    params: dict[str, Any] = {}
    for opt, value in given.items():
        if value is None:
            continue
        name = OPTION_PARAMS[opt]
        if name not in declared:
            usable = [o for o, p in OPTION_PARAMS.items() if p in declared]
            raise ConfigError(
                f"{opt} does not apply to --algo {algo}; its options are "
                f"{', '.join(usable) or 'none'} (or --opt NAME=VALUE)"
            )
        params[name] = declared[name].parse(name, value)
    params.update(parse_generator_options(algo, opts))
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
        "target_bins": None if specset.target_bins is None else specset.target_bins.tolist(),
        "mean_support": sum(support) / len(support) if support else 0.0,
        "min_support": min(support) if support else 0,
        "max_support": max(support) if support else 0,
        "seconds": round(seconds, 3),
    }


def _render(s: dict[str, Any]) -> None:
    from autospec_cli.inert import inert as escape

    console.print(
        f"[bold]{s['n_specs']}[/] {s['algorithm']} specifications ({s['task']}, "
        f"{s['n_features']} features) from {s['dataset']['n']} points in {s['seconds']:.2f} s; "
        f"support mean {s['mean_support']:.1f} (min {s['min_support']}, max {s['max_support']})"
    )
    console.print(f"wrote {escape(s['output'])}", highlight=False)
