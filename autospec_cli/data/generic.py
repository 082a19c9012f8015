"""Generic CSV tables with a header: numeric feature columns and one label/target column.

The label is the last column unless named. The task is inferred from the label column unless
given: non-numeric labels, or at most 20 distinct integer values, mean classification;
anything else is regression. Classes are the label values ordered numerically when they are
all numbers (``1`` and ``1.0`` are one class, named ``1``), else sorted as text.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.data.kinds import META_KEY as KINDS_KEY
from autospec_cli.data.kinds import detect_kinds
from autospec_cli.data.nonfinite import apply_nan_policy
from autospec_cli.data.table import columns_matrix, iter_chunks, to_floats
from autospec_cli.errors import InputError

MAX_CLASSES_INFERRED = 20


def infer_task(values: list[str]) -> str:
    """Classification for non-numeric labels or <= 20 distinct integer values, else regression."""
    try:
        nums = np.array(values, dtype=str).astype(np.float64)
    except ValueError:
        return "classification"
    if not np.isfinite(nums).all():
        return "regression"
    distinct = np.unique(nums)
    if np.all(distinct == np.round(distinct)) and len(distinct) <= MAX_CLASSES_INFERRED:
        return "classification"
    return "regression"


def encode_classes(values: list[str]) -> tuple[np.ndarray, list[str]]:
    """Class indices and names: numeric labels ordered by value (``1`` and ``1.0`` are one
    class, named ``1``), any other labels sorted as text."""
    distinct = set(values)
    if all(_is_finite_number(v) for v in distinct):
        by_value: dict[float, list[str]] = {}
        for v in distinct:
            by_value.setdefault(float(v), []).append(v)
        order = sorted(by_value)
        classes = [_number_name(x) for x in order]
        code = {v: i for i, x in enumerate(order) for v in by_value[x]}
    else:
        classes = sorted(distinct)
        code = {v: i for i, v in enumerate(classes)}
    return np.array([code[v] for v in values], dtype=np.int64), classes


def _is_finite_number(s: str) -> bool:
    try:
        return math.isfinite(float(s))
    except ValueError:
        return False


def _number_name(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


def choose_columns(
    header: list[str], features: list[str] | None, label: str | None, p: Path
) -> tuple[list[str], str]:
    """Check and return (feature names, label name) against a CSV header."""
    if len(set(header)) != len(header):
        dup = sorted({c for c in header if header.count(c) > 1})
        raise InputError(f"{p}: column name(s) {', '.join(map(repr, dup))} appear more than once")
    label = label if label is not None else header[-1]
    if label not in header:
        raise InputError(f"{p}: no label column {label!r}; the columns are {_preview(header)}")
    names = [c for c in header if c != label] if features is None else list(features)
    missing = [c for c in names if c not in header]
    if missing:
        raise InputError(
            f"{p}: no column(s) {', '.join(map(repr, missing))}; the columns are {_preview(header)}"
        )
    if label in names:
        raise InputError(f"{p}: the label column {label!r} cannot also be a feature")
    if not names:
        raise InputError(f"{p}: no feature columns besides the label {label!r}")
    return names, label


def load_csv(
    path: str | os.PathLike[str],
    *,
    task: str | None = None,
    features: list[str] | None = None,
    label: str | None = None,
    nan_policy: str = "drop",
) -> Dataset:
    """A generic CSV with a header: numeric feature columns and one label/target column."""
    p = Path(path)
    parts: list[np.ndarray] = []
    raw: list[str] = []
    lines: list[int] = []
    target = ""
    for table in iter_chunks(p):
        if not parts:
            header = [c.strip() for c in table.header or []]
            names, target = choose_columns(header, features, label, p)
            idx, j = [header.index(c) for c in names], header.index(target)
        parts.append(columns_matrix(table, idx, names))
        raw.extend(row[j].strip() for row in table.rows)
        lines.extend(table.lines)
    X = np.concatenate(parts)
    task = task or infer_task(raw)
    y, classes = _targets(raw, lines, target, task, p)
    X, y, _, nan_meta = apply_nan_policy(
        X, y, names, nan_policy, source=str(p), target=target, regression=task == "regression"
    )
    meta = {"format": "csv", "source": str(p), "label": target, **nan_meta}
    kinds = detect_kinds(X, names)
    if kinds:
        meta[KINDS_KEY] = kinds.to_json()
    return Dataset(X=X, y=y, features=names, task=task, name=p.stem, classes=classes, meta=meta)  # type: ignore[arg-type]


def _targets(
    raw: list[str], lines: list[int], label: str, task: str, p: Path
) -> tuple[np.ndarray, list[str] | None]:
    if task == "regression":
        return to_floats(raw, label, p, lines), None
    if any(not v for v in raw):
        line = lines[next(i for i, v in enumerate(raw) if not v)]
        raise InputError(f"{p}: the label column {label!r} is blank on line {line}")
    return encode_classes(raw)


def _preview(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
