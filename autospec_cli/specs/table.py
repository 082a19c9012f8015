"""AutoSpec's Table 1: every generator scored on several kinds of data from one config.

A table config (TOML) lists datasets; each names a source (any ``load_dataset`` source, where
``{shared}`` stands for the folder of shared real data), optional loader settings
(``target_bins``, ``window``, ``label``, ``features``), an optional seeded row limit
(``max_rows``) and the generators to run with their hyperparameters (checked against each
generator's declared parameters before anything runs). Every dataset is split ``ratio`` : 1 -
``ratio`` with ``seed`` (labelled datasets are binned over the whole dataset first), each
generator mines the generation fold and is scored on the evaluation fold (regression: the
output-range filter ``alpha`` over the target range of the whole dataset). Each row also
scores the specs whose confidence (Wilson lower bound of the purity, §6.2) reaches
``min_confidence`` (0.5 by default): what filtering buys on that dataset.

A dataset whose source lies under ``{shared}`` and does not exist is skipped with a note, so
the table runs wherever the shared data is absent. Generation is timed per row in wall-clock
and in process CPU seconds (imports excluded: the generator classes and scikit-learn are
loaded before the clock starts), because wall time on a shared machine says little.

:data:`BUILTIN_CONFIG` is the paper's setting (beta = 10; k = 30 / 100 / 1000 / 1000 for
spiral / throughput / intrusion detection / the high-dimensional set; alpha = 0.1) on spiral,
the O-RAN throughput traces (regression and labelled), CIC-IDS2017 and NSL-KDD, and MNIST
standing in for beam management (DeepBeam's data is not available).
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.data.bins import dataset_edges
from autospec_cli.data.dataset import Dataset
from autospec_cli.data.loaders import load_dataset
from autospec_cli.data.split import check_ratio, split_dataset
from autospec_cli.errors import ConfigError
from autospec_cli.io import atomic_path, atomic_write_json, atomic_write_text, csv_text
from autospec_cli.progress import ProgressFn, null_progress
from autospec_cli.specs.confidence import check_threshold, filter_specs
from autospec_cli.specs.generators.registry import generate_specs, generator_class
from autospec_cli.specs.metrics import check_alpha, evaluate_specs

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

BUILTIN_CONFIG = """\
# AutoSpec Table 1: every generator on four kinds of data, with the paper's parameters
# (beta = 10; k = 30 / 100 / 1000 / 1000; alpha = 0.1). {shared} is the shared-data folder.
[table]
seed = 0
ratio = 0.9
alpha = 0.1
min_confidence = 0.5

[[dataset]]
name = "spiral"
kind = "spiral"
source = "builtin:spiral"
[dataset.generators]
grid = { beta = 10 }
cluster = { k = 30 }
tree = { max_depth = 8, min_samples_leaf = 3 }

[[dataset]]
name = "throughput"
kind = "throughput"
source = "{shared}/oran-commag"
[dataset.generators]
grid = { beta = 10 }
cluster = { k = 100 }
tree = { max_depth = 6, min_samples_leaf = 20 }
human = {}

[[dataset]]
name = "throughput-labelled"
kind = "throughput"
source = "{shared}/oran-commag"
target_bins = 10
[dataset.generators]
grid = { beta = 10 }
cluster = { k = 100 }
tree = { max_depth = 6, min_samples_leaf = 20 }
human = {}

[[dataset]]
name = "cicids2017"
kind = "intrusion detection"
source = "{shared}/cicids2017/web_attacks_balanced.csv"
[dataset.generators]
grid = { beta = 10 }
cluster = { k = 1000, n_init = 1 }
tree = {}

[[dataset]]
name = "nsl-kdd"
kind = "intrusion detection"
source = "{shared}/nsl-kdd/KDDTrain+_20Percent.txt"
[dataset.generators]
grid = { beta = 10 }
cluster = { k = 1000, n_init = 1 }
tree = {}

[[dataset]]
name = "mnist"
kind = "high-dimensional (beam management stand-in)"
source = "{shared}/mnist"
max_rows = 10000
[dataset.generators]
grid = { beta = 10 }
cluster = { k = 1000, n_init = 1 }
tree = {}
"""

_DATASET_KEYS = frozenset({"name", "kind", "source", "generators", "target_bins", "window",
                           "label", "features", "max_rows"})
_TABLE_KEYS = frozenset({"seed", "ratio", "alpha", "min_confidence"})
COLUMNS = ("dataset", "kind", "n_features", "algorithm", "params", "specs", "kept", "tp", "fp",
           "fn", "precision", "recall", "f1", "generate_seconds", "generate_cpu_seconds",
           "evaluate_seconds")
CONFIDENT_COLUMNS = ("confident_min_confidence", "confident_specs", "confident_precision",
                     "confident_recall", "confident_f1")


@dataclass(frozen=True)
class TableDataset:
    """One dataset of a table config and the generators to run on it."""

    name: str
    source: str
    generators: dict[str, dict[str, Any]]
    kind: str = ""
    target_bins: int | None = None
    window: int = 4
    label: str | None = None
    features: list[str] | None = None
    max_rows: int | None = None


@dataclass(frozen=True)
class TableConfig:
    """A whole table: datasets plus the split and filter settings shared by every row."""

    datasets: list[TableDataset]
    seed: int = 0
    ratio: float = 0.9
    alpha: float = 0.1
    min_confidence: float = 0.5


@dataclass
class TableResult:
    """Rows (one per dataset and generator), skipped datasets with the reason, and timing."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    shared: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "skipped": self.skipped, "seconds": round(self.seconds, 2),
                "cpu_seconds": round(self.cpu_seconds, 2), "shared": self.shared,
                "tree_ranks": tree_ranks(self.rows)}


def parse_config(text: str, origin: str = "table config") -> TableConfig:
    """Parse and check a table config (TOML); :class:`ConfigError` names what is wrong."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{origin} is not valid TOML: {e}") from None
    table = doc.get("table", {})
    unknown = sorted(set(table) - _TABLE_KEYS) + sorted(set(doc) - {"table", "dataset"})
    if unknown:
        raise ConfigError(f"{origin}: unknown key(s) {', '.join(unknown)}")
    raw = doc.get("dataset", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{origin} lists no [[dataset]]")
    datasets = [_dataset(d, origin) for d in raw]
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise ConfigError(f"{origin}: dataset names must be unique, got {', '.join(names)}")
    seed = table.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"{origin}: seed must be an integer, got {seed!r}")
    return TableConfig(datasets=datasets, seed=seed,
                       ratio=check_ratio(_number(table.get("ratio", 0.9), "ratio", origin)),
                       alpha=check_alpha(_number(table.get("alpha", 0.1), "alpha", origin)),
                       min_confidence=check_threshold(
                           _number(table.get("min_confidence", 0.5), "min_confidence", origin),
                           "min_confidence"))


def load_config(path: str | os.PathLike[str] | None) -> TableConfig:
    """The config at ``path``, or :data:`BUILTIN_CONFIG` for None."""
    if path is None:
        return parse_config(BUILTIN_CONFIG, "the built-in table config")
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"table config {p} not found; give a .toml file or none for the "
                          "built-in one")
    try:
        return parse_config(p.read_text(encoding="utf-8"), str(p))
    except UnicodeDecodeError:
        raise ConfigError(f"{p} is not a UTF-8 text file") from None


def _number(v: Any, name: str, origin: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{origin}: {name} must be a number, got {v!r}")
    return float(v)


def _dataset(d: Any, origin: str) -> TableDataset:
    if not isinstance(d, dict):
        raise ConfigError(f"{origin}: every [[dataset]] must be a table")
    name = d.get("name")
    where = f"{origin}, dataset {name!r}"
    unknown = sorted(set(d) - _DATASET_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    if not isinstance(name, str) or not name or not isinstance(d.get("source"), str):
        raise ConfigError(f"{where}: name and source are required strings")
    gens = d.get("generators")
    if not isinstance(gens, dict) or not gens:
        raise ConfigError(f"{where}: generators must name at least one generator")
    checked: dict[str, dict[str, Any]] = {}
    for algo, params in gens.items():
        declared = generator_class(algo).parameters  # unknown generator: PluginError
        if not isinstance(params, dict):
            raise ConfigError(f"{where}: parameters of {algo} must be a table")
        bad = sorted(set(params) - set(declared))
        if bad:
            raise ConfigError(f"{where}: generator {algo} has no parameter {', '.join(bad)}; "
                              f"its parameters are {', '.join(declared)}")
        checked[algo] = {k: declared[k].parse(k, v) for k, v in params.items()}
    for key in ("target_bins", "max_rows", "window"):
        v = d.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ConfigError(f"{where}: {key} must be a positive integer, got {v!r}")
    features = d.get("features")
    if features is not None and (not isinstance(features, list)
                                 or not all(isinstance(f, str) for f in features)):
        raise ConfigError(f"{where}: features must be a list of column names")
    return TableDataset(name=name, source=d["source"], generators=checked,
                        kind=str(d.get("kind", "")), target_bins=d.get("target_bins"),
                        window=d.get("window", 4), label=d.get("label"), features=features,
                        max_rows=d.get("max_rows"))


def resolve_source(source: str, shared: str | os.PathLike[str]) -> tuple[str, bool]:
    """``(source with {shared} replaced, whether it lies under the shared folder)``."""
    if "{shared}" not in source:
        return source, False
    return source.replace("{shared}", str(Path(shared))), True


def _load(spec: TableDataset, source: str, seed: int) -> Dataset:
    ds = load_dataset(source, window=spec.window, label=spec.label, features=spec.features,
                      seed=seed, target_bins=spec.target_bins)
    if spec.max_rows is not None and ds.n > spec.max_rows:
        idx = np.sort(np.random.default_rng(seed).choice(ds.n, spec.max_rows, replace=False))
        ds = ds.subset(idx)
    return ds


def _warm_up(algos: set[str]) -> None:
    """Import every generator's code (and scikit-learn's) so no row's clock counts imports."""
    for algo in algos:
        generator_class(algo)
    import sklearn.cluster  # noqa: F401
    import sklearn.tree  # noqa: F401


def run_table(
    config: TableConfig,
    shared: str | os.PathLike[str],
    *,
    only: list[str] | None = None,
    progress: ProgressFn | None = None,
) -> TableResult:
    """Score every (dataset, generator) of ``config``; see the module notes."""
    progress = progress or null_progress
    chosen = config.datasets
    if only:
        missing = sorted(set(only) - {d.name for d in chosen})
        if missing:
            raise ConfigError(f"no dataset {', '.join(missing)} in the table config; it has "
                              f"{', '.join(d.name for d in chosen)}")
        chosen = [d for d in chosen if d.name in only]
    _warm_up({a for d in chosen for a in d.generators})
    result = TableResult(shared=str(shared))
    total = sum(len(d.generators) for d in chosen)
    done = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for spec in chosen:
        source, under_shared = resolve_source(spec.source, shared)
        if under_shared and not Path(source).exists():
            result.skipped.append({"dataset": spec.name, "reason": f"{source} not found"})
            done += len(spec.generators)
            progress("score generators", done, total)
            continue
        ds = _load(spec, source, config.seed)
        gen, ev = split_dataset(ds, ratio=config.ratio, seed=config.seed)
        y_range = None if ds.task == "classification" else (float(ds.y.min()), float(ds.y.max()))
        for algo, params in spec.generators.items():
            result.rows.append(_row(spec, ds, gen, ev, algo, params, config, y_range))
            done += 1
            progress("score generators", done, total)
    result.seconds = time.perf_counter() - t0
    result.cpu_seconds = time.process_time() - c0
    return result


def _row(spec: TableDataset, ds: Dataset, gen: Dataset, ev: Dataset, algo: str,
         params: dict[str, Any], config: TableConfig,
         y_range: tuple[float, float] | None) -> dict[str, Any]:
    t, c = time.perf_counter(), time.process_time()
    specset = generate_specs(gen, algo, seed=config.seed, **params)
    gen_s, gen_cpu = time.perf_counter() - t, time.process_time() - c
    t = time.perf_counter()
    m = evaluate_specs(specset, ev.X, ev.y, alpha=config.alpha, y_range=y_range)
    evaluate_s = time.perf_counter() - t
    kept = filter_specs(specset, min_confidence=config.min_confidence)
    mf = evaluate_specs(kept, ev.X, ev.y, alpha=config.alpha, y_range=y_range)
    edges = dataset_edges(ds)
    return {
        "dataset": spec.name, "kind": spec.kind, "task": ds.task, "n_rows": ds.n,
        "n_features": ds.d, "target_bins": None if edges is None else int(edges.size - 1),
        "algorithm": algo, "params": params, "specs": len(specset), "kept": int(m.n_kept),
        "tp": m.tp, "fp": m.fp, "fn": m.fn, "precision": m.precision, "recall": m.recall,
        "f1": m.f1, "generate_seconds": round(gen_s, 3), "generate_cpu_seconds": round(gen_cpu, 3),
        "evaluate_seconds": round(evaluate_s, 3),
        "confident": {"min_confidence": config.min_confidence, "specs": len(kept.specs),
                      "precision": mf.precision, "recall": mf.recall, "f1": mf.f1},
    }


def tree_ranks(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Per dataset, the tree's place by F1 among its generators (1 = best; ties share)."""
    out = {}
    for name in dict.fromkeys(r["dataset"] for r in rows):
        f1 = {r["algorithm"]: r["f1"] for r in rows if r["dataset"] == name}
        if "tree" in f1:
            out[name] = 1 + sum(v > f1["tree"] for v in f1.values())
    return out


# -- rendering ------------------------------------------------------------------------------
def markdown(result: TableResult) -> str:
    """The table as Markdown (best F1 per dataset in bold), then the skipped datasets."""
    c = result.rows[0]["confident"]["min_confidence"] if result.rows else 0.5
    lines = ["| dataset | features | algorithm | specs | kept | precision | recall | F1 | "
             f"generation s (CPU s) | confidence ≥ {c:g}: specs / precision / F1 |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    best = {n: max(r["f1"] for r in result.rows if r["dataset"] == n)
            for n in dict.fromkeys(r["dataset"] for r in result.rows)}
    for r in result.rows:
        f1 = f"{r['f1']:.3f}"
        if r["f1"] == best[r["dataset"]] and r["f1"] > 0:
            f1 = f"**{f1}**"
        lines.append(f"| {r['dataset']} | {r['n_features']} | {r['algorithm']} | {r['specs']} | "
                     f"{r['kept']} | {r['precision']:.3f} | {r['recall']:.3f} | {f1} | "
                     f"{r['generate_seconds']:.2f} ({r['generate_cpu_seconds']:.2f}) | "
                     f"{r['confident']['specs']} / {r['confident']['precision']:.3f} / "
                     f"{r['confident']['f1']:.3f} |")
    for s in result.skipped:
        lines.append(f"\nskipped {s['dataset']}: {s['reason']}")
    return "\n".join(lines) + "\n"


def csv(result: TableResult) -> str:
    """One CSV row per (dataset, generator); params as compact JSON."""
    import json

    rows = [{**{k: r[k] for k in COLUMNS if k != "params"},
             "params": json.dumps(r["params"], sort_keys=True, separators=(",", ":")),
             **{f"confident_{k}": v for k, v in r["confident"].items()}}
            for r in result.rows]
    return csv_text(rows, COLUMNS + CONFIDENT_COLUMNS)


def bar_chart(result: TableResult, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Grouped bars: F1 of every generator (bars) on every dataset (groups), as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(dict.fromkeys(r["dataset"] for r in result.rows))
    algos = list(dict.fromkeys(r["algorithm"] for r in result.rows))
    f1 = {(r["dataset"], r["algorithm"]): r["f1"] for r in result.rows}
    fig = Figure(figsize=(max(6.0, 1.6 * len(names) + 2), 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(algos))
    x = np.arange(len(names))
    for i, algo in enumerate(algos):
        vals = [f1.get((n, algo), math.nan) for n in names]
        ax.bar(x + (i - (len(algos) - 1) / 2) * width, vals, width, label=algo)
    ax.set_xticks(x, [n.replace("-", "-\n", 1) for n in names], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1 on the evaluation fold")
    ax.set_title("Specification F1 per generator (AutoSpec Table 1 setting)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncols=min(4, len(algos)))
    fig.tight_layout()
    with atomic_path(path, force=force) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    return Path(path)


def write_outputs(result: TableResult, out_dir: str | os.PathLike[str], *,
                  force: bool = False) -> dict[str, str]:
    """``table.md``, ``table.csv``, ``table.json`` and ``f1.png`` in ``out_dir``."""
    out = Path(out_dir)
    files = {"markdown": out / "table.md", "csv": out / "table.csv", "json": out / "table.json",
             "chart": out / "f1.png"}
    atomic_write_text(files["markdown"], markdown(result), force=force)
    atomic_write_text(files["csv"], csv(result), force=force)
    atomic_write_json(files["json"], result.to_json(), force=force)
    if result.rows:
        bar_chart(result, files["chart"], force=force)
    else:
        del files["chart"]
    return {k: str(v) for k, v in files.items()}
