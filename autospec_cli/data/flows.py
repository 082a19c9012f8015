"""Network-flow CSVs in the CIC-IDS2017 (CICFlowMeter) layouts, as classification data.

Detected by a ``Label`` column, or by the CICFlowMeter feature names (:data:`SIGNATURE`): a
file with those columns but no ``Label`` (the column was cut, or renamed) is refused with
that reason rather than read as a generic CSV whose last column (``Idle Min``) would become
the label; ``label`` names another label column. Both published layouts are read:

- MachineLearningCVE: 78 numeric features and `` Label``. Header names are stripped of
  surrounding spaces. The duplicated ``Fwd Header Length`` column is kept twice, the second
  copy renamed ``Fwd Header Length.1`` (any repeated name gets ``.1``, ``.2``, ... in order),
  so the 78 published features stay in place.
- GeneratedLabelledFlows: the identifier columns ``Flow ID``, ``Source IP``, ``Source Port``,
  ``Destination IP``, ``Protocol`` and ``Timestamp`` are dropped (``Destination Port`` is a
  feature, as in MachineLearningCVE).

Cells ``Infinity``/``NaN`` (and blank cells) are handled by ``nan_policy``. Rows whose cells
are all blank (the original files end with some) are skipped and counted in ``meta``. Labels
are stripped; classes are ``BENIGN`` first (when present), then the others sorted. Files that
are not UTF-8 are read as Windows-1252, which is how the original web-attack labels write
their en dash.

Feature kinds (:mod:`autospec_cli.data.kinds`): every column whose values are all integral
(packet counts, byte totals, ports, flag counts, durations in microseconds) is declared
integer in ``meta["feature_kinds"]``; rates, means and deviations are real.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.data.kinds import META_KEY as KINDS_KEY
from autospec_cli.data.kinds import detect_kinds
from autospec_cli.data.nonfinite import apply_nan_policy
from autospec_cli.data.table import (
    columns_matrix,
    csv_files,
    dedupe_names,
    first_line,
    iter_chunks,
    relative_name,
)
from autospec_cli.errors import InputError

LABEL = "Label"
BENIGN = "BENIGN"
IDENTIFIERS: tuple[str, ...] = (
    "Flow ID",
    "Source IP",
    "Source Port",
    "Destination IP",
    "Protocol",
    "Timestamp",
)


#: Feature names every CICFlowMeter layout writes; a header holding most of them is a flow file.
SIGNATURE: frozenset[str] = frozenset({
    "Flow Duration", "Total Fwd Packets", "Total Backward Packets", "Flow Bytes/s",
    "Flow Packets/s", "Flow IAT Mean", "Fwd IAT Total", "Bwd IAT Total", "Active Mean",
    "Idle Min",
})


def is_flow_file(path: str | os.PathLike[str]) -> bool:
    """Whether a CSV's header has a ``Label`` column (spaces around names ignored)."""
    return LABEL in {c.strip() for c in first_line(path).split(",")}


def looks_like_flows(path: str | os.PathLike[str]) -> bool:
    """Whether a CSV's header is CICFlowMeter's, with or without its ``Label`` column (at
    least 6 of the :data:`SIGNATURE` feature names)."""
    names = {c.strip() for c in first_line(path).split(",")}
    return LABEL in names or len(SIGNATURE & names) >= 6


def clean_header(header: list[str]) -> list[str]:
    """Strip spaces around names and make repeated names unique (``a``, ``a.1``, ...)."""
    return dedupe_names([c.strip() for c in header])


def order_classes(names: set[str]) -> list[str]:
    """``BENIGN`` first when present, then the other class names sorted."""
    rest = sorted(n for n in names if n != BENIGN)
    return ([BENIGN] if BENIGN in names else []) + rest


def pick_columns(
    header: list[str], features: list[str] | None, label: str, path: Path
) -> list[str]:
    """The feature column names: the requested ones (checked) or all but identifiers and label."""
    if label not in header:
        if label == LABEL:
            raise InputError(
                f"{path}: CIC-IDS2017 flow columns (CICFlowMeter) but no {LABEL!r} column, so "
                f"there is no class to learn; restore the {LABEL!r} column, or name the label "
                "column with --label", param="label")
        raise InputError(f"{path}: no label column {label!r}; the columns are {_preview(header)}")
    if features is None:
        return [c for c in header if c != label and c not in IDENTIFIERS]
    missing = [f for f in features if f not in header]
    if missing:
        raise InputError(
            f"{path}: no column(s) {', '.join(map(repr, missing))}; "
            f"the columns are {_preview(header)}"
        )
    if label in features:
        raise InputError(f"{path}: the label column {label!r} cannot also be a feature")
    return list(features)


def _preview(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def read_flow_file(
    path: Path, features: list[str] | None, label: str
) -> tuple[list[str], np.ndarray, list[str], int]:
    """One flow file, read in chunks: feature names, matrix, raw labels, blank rows skipped."""
    cols: list[str] = []
    parts: list[np.ndarray] = []
    labels: list[str] = []
    blanks = 0
    for table in iter_chunks(path):
        if not parts:
            header = clean_header(table.header or [])
            cols = pick_columns(header, features, label, path)
            index = {c: j for j, c in enumerate(header)}
        parts.append(columns_matrix(table, [index[c] for c in cols], cols))
        labels.extend(row[index[label]].strip() for row in table.rows)
        blanks += table.blank_rows
    return cols, np.concatenate(parts), labels, blanks


def flow_files(path: Path) -> list[Path]:
    """A flow file itself, or the flow CSVs (by header) under a folder, recursively, sorted
    by relative path."""
    if not path.is_dir():
        return [path]
    files = [f for f in csv_files(path) if is_flow_file(f)]
    if not files:
        raise InputError(f"{path}: no CSV file with a {LABEL!r} column")
    return files


def load_flows(
    path: str | os.PathLike[str],
    *,
    features: list[str] | None = None,
    label: str | None = None,
    nan_policy: str = "drop",
) -> Dataset:
    """Load a CIC-IDS2017 flow CSV (or a folder of them: groups = file index) for classification."""
    p = Path(path)
    label = label or LABEL
    Xs, labels, groups, cols0, blanks = [], [], [], None, 0
    files = flow_files(p)
    for g, f in enumerate(files):
        cols, X, lab, blank = read_flow_file(f, features, label)
        if cols0 is not None and cols != cols0:
            raise InputError(f"{f}: its feature columns differ from those of {files[0].name}")
        cols0 = cols
        Xs.append(X)
        labels.extend(lab)
        groups.append(np.full(len(lab), g, dtype=np.int64))
        blanks += blank
    assert cols0 is not None
    classes = order_classes(set(labels))
    code = {c: i for i, c in enumerate(classes)}
    y = np.array([code[s] for s in labels], dtype=np.int64)
    X, y, keep, nan_meta = apply_nan_policy(np.concatenate(Xs), y, cols0, nan_policy, source=str(p))
    meta = {
        "format": "flows",
        "source": str(p),
        "files": [relative_name(f, p) for f in files],
        "blank_rows_skipped": blanks,
        "label": label,
        **nan_meta,
    }
    kinds = detect_kinds(X, cols0)  # counts, ports, flags, byte totals: integral columns
    if kinds:
        meta[KINDS_KEY] = kinds.to_json()
    return Dataset(
        X=X,
        y=y,
        features=cols0,
        task="classification",
        name=p.stem if p.is_file() else p.name,
        classes=classes,
        groups=np.concatenate(groups)[keep] if len(files) > 1 else None,
        meta=meta,
    )
