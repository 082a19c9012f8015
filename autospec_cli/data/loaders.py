"""One entry point for every data source: :func:`load_dataset`.

Sources (detected in this order):

- ``builtin:NAME``: ``spiral``, ``throughput`` (synthetic traces), ``digits`` (scikit-learn).
- ``*.npz``: our own format (``Dataset.save_npz``) or any NPZ with arrays ``X`` and ``y``;
  an NPZ with ``x_train``/``y_train`` (``x_test``/``y_test``) arrays is an image dataset
  (Keras ``mnist.npz`` layout, see :mod:`autospec_cli.data.idx`).
- a folder: MNIST-format IDX files (``train-images-idx3-ubyte[.gz]`` etc.), throughput
  traces, or CIC-IDS2017 flow CSVs (all files of one kind, by header).
- an IDX file (gzip or not; detected by its header): its images and the labels beside it.
- a CSV whose header is exactly ``time,nof_ue,dl_brate,ul_brate``: a throughput trace.
- a CSV with a ``Label`` column or CICFlowMeter's feature names: CIC-IDS2017 flows (see
  :mod:`autospec_cli.data.flows`; without ``Label`` it is refused unless ``label`` is given).
- 43 fields, no header, ``tcp``/``udp``/``icmp`` in field 2: NSL-KDD.
- any other CSV with a header: generic table (label = last column unless ``label`` is given).

Each format is read by a *data loader*, a plug-in of the entry-point group
``autospec_cli.loaders`` held in :data:`LOADERS` (:class:`autospec_cli.plugins.Registry`): a
function ``loader(source: str, request: LoadRequest) -> Dataset`` that honours the request's
``features``, ``label`` and ``task`` or raises :class:`~autospec_cli.errors.ConfigError`. This
package declares the formats above that way. A source written ``FORMAT:SOURCE`` (``FORMAT``
a registered loader, and the whole string not an existing path) goes to that loader without
detection: it is how plug-in formats are reached, and ``csv:data.txt`` forces a format.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autospec_cli.data.binary import binary_labels as to_binary
from autospec_cli.data.bins import bin_dataset, check_n_bins
from autospec_cli.data.builtin import load_builtin
from autospec_cli.data.dataset import TASKS, Dataset
from autospec_cli.data.flows import is_flow_file, load_flows, looks_like_flows
from autospec_cli.data.generic import encode_classes, infer_task, load_csv
from autospec_cli.data.idx import has_split_arrays, is_idx_file, is_idx_folder, load_idx
from autospec_cli.data.kinds import META_KEY as KINDS_KEY
from autospec_cli.data.kinds import kinds_of
from autospec_cli.data.nonfinite import check_nan_policy
from autospec_cli.data.npzfile import load_npz
from autospec_cli.data.nslkdd import is_nslkdd_file, load_nslkdd
from autospec_cli.data.table import check_file, csv_files
from autospec_cli.data.throughput import is_trace_file, load_traces
from autospec_cli.errors import ConfigError, InputError
from autospec_cli.io import sha256_file
from autospec_cli.plugins import Registry

FORMATS: tuple[str, ...] = ("builtin", "npz", "idx", "throughput", "flows", "nsl-kdd", "csv")


@dataclass(frozen=True)
class LoadRequest:
    """What the caller of :func:`load_dataset` asked for, handed to the data loader."""

    task: str | None = None
    features: list[str] | None = None
    label: str | None = None
    window: int = 4
    nan_policy: str = "drop"
    seed: int = 0
    drop_leading_idle: bool = True


DataLoader = Callable[[str, LoadRequest], Dataset]

#: The data loaders by format name (see :mod:`autospec_cli.plugins` for where they come from).
LOADERS: Registry[DataLoader] = Registry("data loader", "autospec_cli.loaders")


def detect_format(source: str) -> str:
    """The reader a source string goes to (one of :data:`FORMATS`), checking the path exists."""
    if source.startswith("builtin:"):
        return "builtin"
    p = Path(source)
    if p.is_dir():
        if is_idx_folder(p):
            return "idx"
        csvs = csv_files(p)
        if any(is_trace_file(f) for f in csvs):
            return "throughput"
        if any(is_flow_file(f) for f in csvs):
            return "flows"
        raise InputError(
            f"{p}: no throughput-trace or flow CSV (nor IDX image files) in this folder"
        )
    check_file(p)
    if p.suffix.lower() == ".npz":
        return "idx" if has_split_arrays(p) else "npz"
    if is_idx_file(p):
        return "idx"
    if is_trace_file(p):
        return "throughput"
    if looks_like_flows(p):
        return "flows"
    if is_nslkdd_file(p):
        return "nsl-kdd"
    return "csv"


def load_dataset(
    source: str,
    *,
    task: str | None = None,
    features: list[str] | None = None,
    label: str | None = None,
    window: int = 4,
    nan_policy: str = "drop",
    seed: int = 0,
    drop_leading_idle: bool = True,
    target_bins: int | None = None,
    binary_labels: bool = False,
) -> Dataset:
    """Load ``source`` (a builtin name, NPZ, CSV or folder) into a :class:`Dataset`.

    ``features`` selects columns by name (for throughput traces: the series to window;
    default the target only), ``label`` names the label/target column (CSV: default the last
    column; traces: default ``ul_brate``; NSL-KDD: ``attack`` or ``label``). ``task`` forces
    the task of a generic CSV/NPZ and must agree with sources that fix it. ``window`` is the
    number of past values per throughput window; ``nan_policy`` is ``drop``, ``clip`` or
    ``error`` (see :mod:`autospec_cli.data.nonfinite`). ``seed`` drives builtin generators.
    ``target_bins`` cuts a regression target into that many labelled bins
    (:mod:`autospec_cli.data.bins`); a dataset saved already binned that way is kept as it is.
    ``binary_labels`` merges every attack class into one: classes ``benign`` (the class named
    BENIGN or normal) and ``attack`` (:mod:`autospec_cli.data.binary`).
    """
    check_nan_policy(nan_policy)
    if task is not None and task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; use classification or regression")
    if features is not None and not features:
        raise ConfigError("features is empty; name at least one column", param="features")
    fmt, path = split_source(source)
    request = LoadRequest(task=task, features=features, label=label, window=window,
                          nan_policy=nan_policy, seed=seed, drop_leading_idle=drop_leading_idle)
    ds = LOADERS.load(fmt)(path, request)
    if task is not None and task != ds.task:
        raise ConfigError(f"{source} is a {ds.task} dataset; task {task} does not apply to it",
                          param="task")
    ds.meta.setdefault("format", fmt)
    ds.meta["source"] = source
    if fmt != "builtin" and Path(path).exists():
        ds.meta["source_sha256"] = source_sha256(path, ds.meta.get("files"))
    if target_bins is not None:
        ds = bin_dataset(ds, check_n_bins(target_bins))
    if binary_labels:
        ds = to_binary(ds)
    return ds


def split_source(source: str) -> tuple[str, str]:
    """``(format, source for its loader)``: an explicit ``FORMAT:`` prefix naming a registered
    loader (unless ``source`` is an existing path), else the detected format."""
    prefix, sep, rest = source.partition(":")
    if sep and len(prefix) > 1 and not Path(source).exists() and prefix in LOADERS:
        return prefix, rest
    return detect_format(source), source


# -- the built-in loaders (entry points of this package) ---------------------------------------
def _fixed_target(fmt: str, request: LoadRequest) -> None:
    if request.label is not None:
        raise ConfigError(f"label does not apply to {fmt} sources (their target is fixed)",
                          param="label")


def _selected(ds: Dataset, request: LoadRequest) -> Dataset:
    return ds if request.features is None else select_features(ds, request.features)


def read_builtin(name: str, request: LoadRequest) -> Dataset:
    """``builtin:NAME``: spiral, throughput (synthetic traces) or digits."""
    _fixed_target("builtin", request)
    ds = load_builtin(name, seed=request.seed, window=request.window,
                      nan_policy=request.nan_policy)
    return _selected(ds, request)


def read_npz(source: str, request: LoadRequest) -> Dataset:
    """An NPZ with arrays ``X`` and ``y`` (or one written by ``Dataset.save_npz``)."""
    _fixed_target("npz", request)
    return _selected(load_npz(source, task=request.task, nan_policy=request.nan_policy), request)


def read_idx(source: str, request: LoadRequest) -> Dataset:
    """MNIST-format IDX files (a folder, one file, or a Keras-layout NPZ)."""
    _fixed_target("idx", request)
    return _selected(load_idx(source), request)


def read_throughput(source: str, request: LoadRequest) -> Dataset:
    """Throughput traces (a CSV or a folder of them) cut into windows of past values."""
    return load_traces(source, window=request.window, target=request.label or "ul_brate",
                       inputs=request.features, drop_leading_idle=request.drop_leading_idle,
                       nan_policy=request.nan_policy)


def read_flows(source: str, request: LoadRequest) -> Dataset:
    """CIC-IDS2017 flow CSVs (a file or a folder)."""
    return load_flows(source, features=request.features, label=request.label,
                      nan_policy=request.nan_policy)


def read_nslkdd(source: str, request: LoadRequest) -> Dataset:
    """An NSL-KDD file (43 fields, no header)."""
    return load_nslkdd(source, features=request.features, label=request.label,
                       nan_policy=request.nan_policy)


def read_csv(source: str, request: LoadRequest) -> Dataset:
    """A generic CSV table with a header."""
    return load_csv(source, task=request.task, features=request.features, label=request.label,
                    nan_policy=request.nan_policy)


def select_features(ds: Dataset, names: list[str]) -> Dataset:
    """Keep only the named feature columns, in the given order."""
    pos = {f: j for j, f in enumerate(ds.features)}
    missing = [f for f in names if f not in pos]
    if missing:
        raise InputError(
            f"{ds.name or 'dataset'}: no feature(s) {', '.join(map(repr, missing))}; "
            f"it has {_preview(ds.features)}"
        )
    idx = [pos[f] for f in names]
    meta = dict(ds.meta)
    if KINDS_KEY in meta:  # integer / one-hot kinds of the kept columns only
        kinds = kinds_of(meta).restricted(list(names))
        meta.pop(KINDS_KEY)
        if kinds:
            meta[KINDS_KEY] = kinds.to_json()
    return Dataset(
        X=ds.X[:, idx],
        y=ds.y,
        features=list(names),
        task=ds.task,
        name=ds.name,
        classes=ds.classes,
        groups=ds.groups,
        meta=meta,
    )


def _preview(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def source_sha256(source: str, files: list[str] | None = None) -> str | None:
    """SHA-256 of a source file; for a folder, of the names and hashes of the files read."""
    if source.startswith("builtin:"):
        return None
    p = Path(source)
    if p.is_file():
        return sha256_file(p)
    h = hashlib.sha256()
    for name in sorted(files or []):
        h.update(f"{name}\0{sha256_file(p / name)}\n".encode())
    return h.hexdigest()


__all__ = [
    "FORMATS",
    "LOADERS",
    "LoadRequest",
    "detect_format",
    "encode_classes",
    "infer_task",
    "load_csv",
    "load_dataset",
    "load_npz",
    "select_features",
    "source_sha256",
    "split_source",
]
