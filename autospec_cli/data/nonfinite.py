"""What to do with NaN and ±inf cells: the explicit ``nan_policy`` of every loader.

- ``drop`` (default): drop every row with a NaN or ±inf in a feature or regression target;
  how many rows went, and which columns caused it, is recorded in ``meta``.
- ``clip``: +inf becomes the column's largest finite value, -inf its smallest, NaN its
  median over finite values. A column with no finite value at all is an error.
- ``error``: raise an :class:`InputError` naming the first offending column and the number of
  rows affected.
"""

from __future__ import annotations

import numpy as np

from autospec_cli.errors import ConfigError, InputError

NAN_POLICIES: tuple[str, ...] = ("drop", "clip", "error")


def check_nan_policy(policy: str) -> str:
    """Return ``policy`` if known, else raise a :class:`ConfigError` listing the choices."""
    if policy not in NAN_POLICIES:
        raise ConfigError(f"unknown NaN policy {policy!r}; use one of: {', '.join(NAN_POLICIES)}")
    return policy


def nonfinite_counts(M: np.ndarray, names: list[str]) -> dict[str, int]:
    """Per column, how many cells are NaN or ±inf (columns with none are left out)."""
    bad = ~np.isfinite(M)
    counts = bad.sum(axis=0)
    return {names[j]: int(c) for j, c in enumerate(counts) if c}


def apply_nan_policy(
    X: np.ndarray,
    y: np.ndarray,
    features: list[str],
    policy: str,
    *,
    source: str,
    target: str = "target",
    regression: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Apply ``policy`` to features (and the target when ``regression``).

    Returns ``(X, y, keep, meta)``: ``keep`` is the boolean mask of kept input rows (use it to
    filter ``groups``), ``meta`` records what was done.
    """
    check_nan_policy(policy)
    M = np.column_stack([X, y.astype(np.float64)]) if regression else X
    names = list(features) + ([target] if regression else [])
    counts = nonfinite_counts(M, names)
    keep = np.ones(M.shape[0], dtype=bool)
    meta: dict = {"nan_policy": policy}
    if not counts:
        return X, y, keep, meta
    meta["nonfinite_cells"] = counts
    bad_rows = ~np.isfinite(M).all(axis=1)
    if policy == "error":
        first = next(iter(counts))
        extra = len(counts) - 1
        more = f" (and {extra} more column{'s' if extra > 1 else ''})" if extra else ""
        raise InputError(
            f"{source}: column {first!r} has NaN/Infinity in {counts[first]} rows{more}, "
            f"{int(bad_rows.sum())} rows in all; use nan_policy drop or clip",
            param="nan_policy",
        )
    if policy == "drop":
        keep = ~bad_rows
        meta["rows_dropped"] = int(bad_rows.sum())
        if not keep.any():
            raise InputError(f"{source}: every row has a NaN or Infinity; try nan_policy clip",
                             param="nan_policy")
        return X[keep], y[keep], keep, meta
    M = clip_nonfinite(M, names, source=source)
    meta["cells_replaced"] = int(sum(counts.values()))
    if regression:
        return M[:, :-1], M[:, -1], keep, meta
    return M, y, keep, meta


def clip_nonfinite(M: np.ndarray, names: list[str], *, source: str) -> np.ndarray:
    """+inf -> column finite max, -inf -> finite min, NaN -> finite median (a copy)."""
    M = np.array(M, dtype=np.float64, copy=True)
    for j in np.flatnonzero(~np.isfinite(M).all(axis=0)):
        col = M[:, j]
        finite = col[np.isfinite(col)]
        if finite.size == 0:
            raise InputError(
                f"{source}: column {names[j]!r} has no finite value to clip to; "
                "leave it out of the features",
                param="features",
            )
        col[np.isposinf(col)] = finite.max()
        col[np.isneginf(col)] = finite.min()
        col[np.isnan(col)] = float(np.median(finite))
    return M
