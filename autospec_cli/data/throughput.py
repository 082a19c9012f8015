"""Uplink-throughput traces (Colosseum O-RAN base-station KPIs) as regression windows.

A trace is a CSV with the exact header ``time,nof_ue,dl_brate,ul_brate`` (one row every
250 ms). Each window holds the ``k`` past values of the input series (``ul_brate`` by
default) and predicts the next value of the target series: the row at time ``t`` gives
features ``ul_brate[t-k] .. ul_brate[t-1]`` and target ``ul_brate[t]``. A file of ``m`` rows
gives ``m - k`` windows; windows never cross a file boundary and ``groups`` holds the file
index (files sorted by their path relative to the folder; subfolders are searched).

Leading idle rows: every trace starts with rows where ``nof_ue == 0`` (recorded before the
UEs attach; both bitrates are 0). By default they are dropped, up to the first row with
``nof_ue > 0``; ``drop_leading_idle=False`` keeps them. Idle rows later in a trace are data
and are kept.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.data.nonfinite import apply_nan_policy
from autospec_cli.data.table import column_floats, csv_files, first_line, read_table, relative_name
from autospec_cli.errors import ConfigError, InputError

TRACE_HEADER: tuple[str, ...] = ("time", "nof_ue", "dl_brate", "ul_brate")
SERIES: tuple[str, ...] = ("nof_ue", "dl_brate", "ul_brate")
Trace = dict[str, np.ndarray]


def is_trace_file(path: str | os.PathLike[str]) -> bool:
    """Whether a file starts with the exact trace header."""
    return first_line(path).strip() == ",".join(TRACE_HEADER)


def read_trace(path: str | os.PathLike[str]) -> Trace:
    """The four columns of one trace file as float arrays."""
    table = read_table(path)
    if tuple(c.strip() for c in table.header or []) != TRACE_HEADER:
        raise InputError(
            f"{path}: not a throughput trace; the header must be {','.join(TRACE_HEADER)}"
        )
    return {name: column_floats(table, j, name) for j, name in enumerate(TRACE_HEADER)}


def leading_idle(trace: Trace) -> int:
    """How many rows precede the first one with ``nof_ue > 0`` (all rows if none has)."""
    attached = np.flatnonzero(trace["nof_ue"] > 0)
    return int(attached[0]) if attached.size else len(trace["nof_ue"])


def window_names(inputs: list[str], k: int) -> list[str]:
    """Feature names ``col[t-k] .. col[t-1]`` for each input column in order."""
    return [f"{c}[t-{i}]" for c in inputs for i in range(k, 0, -1)]


def make_windows(
    trace: Trace, k: int, target: str, inputs: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows over one trace: ``X`` (m-k, len(inputs)*k), ``y`` (m-k,)."""
    from numpy.lib.stride_tricks import sliding_window_view

    m = len(trace[target])
    parts = [sliding_window_view(trace[c][: m - 1], k) for c in inputs]
    X = np.concatenate(parts, axis=1) if parts else np.empty((m - k, 0))
    return np.ascontiguousarray(X, dtype=np.float64), trace[target][k:].astype(np.float64)


def _check_columns(target: str, inputs: list[str]) -> None:
    unknown = [c for c in [target, *inputs] if c not in SERIES]
    if unknown:
        raise ConfigError(
            f"unknown trace column(s) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(SERIES)}"
        )
    if len(set(inputs)) != len(inputs):
        raise ConfigError("a trace column is named twice in the input features", param="features")


def traces_to_dataset(
    traces: list[tuple[str, Trace]],
    *,
    window: int = 4,
    target: str = "ul_brate",
    inputs: list[str] | None = None,
    drop_leading_idle: bool = True,
    nan_policy: str = "drop",
    name: str = "throughput",
    source: str = "",
) -> Dataset:
    """Window several named traces into one regression :class:`Dataset` (groups = trace index)."""
    if window < 1:
        raise ConfigError(f"window must be at least 1, got {window}", param="window")
    inputs = list(inputs) if inputs else [target]
    _check_columns(target, inputs)
    Xs, ys, gs, kept, idle = [], [], [], [], []
    for g, (label, trace) in enumerate(traces):
        skip = leading_idle(trace) if drop_leading_idle else 0
        trace = {c: v[skip:] for c, v in trace.items()}
        m = len(trace[target])
        if m <= window:
            what = " after dropping its leading idle rows" if skip else ""
            raise InputError(
                f"{label}: {m} rows{what}, too few for window {window}; use a smaller window",
                param="window",
            )
        X, y = make_windows(trace, window, target, inputs)
        Xs.append(X)
        ys.append(y)
        gs.append(np.full(len(y), g, dtype=np.int64))
        kept.append(m)
        idle.append(skip)
    features = window_names(inputs, window)
    X, y, groups = np.concatenate(Xs), np.concatenate(ys), np.concatenate(gs)
    X, y, keep, nan_meta = apply_nan_policy(
        X,
        y,
        features,
        nan_policy,
        source=source or name,
        target=target,
        regression=True,
    )
    meta = {
        "format": "throughput",
        "source": source,
        "files": [t[0] for t in traces],
        "rows_kept": kept,
        "leading_idle_dropped": idle,
        "window": window,
        "target": target,
        "inputs": inputs,
        **nan_meta,
    }
    return Dataset(
        X=X, y=y, features=features, task="regression", name=name, groups=groups[keep], meta=meta
    )


def trace_files(path: str | os.PathLike[str]) -> list[Path]:
    """A trace file itself, or the trace files (by header) under a folder, recursively,
    sorted by relative path."""
    p = Path(path)
    if not p.is_dir():
        return [p]
    files = [f for f in csv_files(p) if is_trace_file(f)]
    if not files:
        raise InputError(f"{p}: no CSV file with the header {','.join(TRACE_HEADER)}")
    return files


def load_traces(
    path: str | os.PathLike[str],
    *,
    window: int = 4,
    target: str = "ul_brate",
    inputs: list[str] | None = None,
    drop_leading_idle: bool = True,
    nan_policy: str = "drop",
) -> Dataset:
    """Load one trace CSV or a folder of them as next-value regression windows."""
    p = Path(path)
    files = trace_files(p)
    traces = [(relative_name(f, p), read_trace(f)) for f in files]
    name = p.name if p.is_dir() else p.stem
    return traces_to_dataset(
        traces,
        window=window,
        target=target,
        inputs=inputs,
        drop_leading_idle=drop_leading_idle,
        nan_policy=nan_policy,
        name=name,
        source=str(p),
    )
