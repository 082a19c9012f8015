"""Flat numbering of t-tuples and incremental coverage counts for covering-array search.

Every t-tuple (a set of t columns c and a level for each) gets one integer index
``offsets[c] + sum(levels * strides[c])``; cover counts live in one flat vector, and each row's
tuple indices in an (N, C) matrix, so scoring a change is a few numpy gathers.

For the greedy construction there is also an *extended* layout in which every column has one
extra "wildcard" level: the value stored there is the mean over that column's levels. Looking
up a partial row (free columns set to the wildcard) in the extended array of uncovered tuples
gives, for each column set, the fraction of its completions that would cover a new tuple,
the density of Bryce and Colbourn's density algorithm, for many rows in one gather.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from autospec_cli.bench.constraints import ConstraintSet
from autospec_cli.errors import ConfigError

MAX_TUPLES = 5_000_000


def _c_strides(shape: np.ndarray) -> np.ndarray:
    """C-order strides of each row of ``shape`` (n, t)."""
    strides = np.ones_like(shape)
    for p in range(shape.shape[1] - 2, -1, -1):
        strides[:, p] = strides[:, p + 1] * shape[:, p + 1]
    return strides


class TupleIndex:
    """All t-tuples of some factors, which are allowed, and how to index them."""

    def __init__(self, levels: Sequence[int], t: int, cs: ConstraintSet):
        k = len(levels)
        self.t = t
        self.levels = np.asarray(levels, dtype=np.int64)
        self.combos = np.asarray(list(itertools.combinations(range(k), t)), dtype=np.int64)
        shape = self.levels[self.combos]
        sizes = shape.prod(axis=1)
        self.total = int(sizes.sum())
        if self.total > MAX_TUPLES:
            raise ConfigError(
                f"{self.total} {t}-tuples to cover is too many (limit {MAX_TUPLES}); "
                "lower the strength t or the number of levels"
            )
        self.strides = _c_strides(shape)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.allowed = np.concatenate([cs.allowed_mask(tuple(c)).ravel() for c in self.combos])
        self.col_combos, self.col_strides = self._by_column(self.strides)
        per_combo = np.add.reduceat(self.allowed.astype(np.int64), self.offsets)
        # Every allowed tuple of one column set needs its own row.
        self.lower_bound = max(1, int(per_combo.max()))
        self._extended(shape)

    def _by_column(self, strides: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each column j: the column sets holding it (k, Cj) and its stride in each."""
        k = len(self.levels)
        per_col = len(self.combos) * self.t // k
        combos = np.zeros((k, per_col), dtype=np.int64)
        col_strides = np.zeros_like(combos)
        for j in range(k):
            ci, pi = np.nonzero(self.combos == j)
            combos[j], col_strides[j] = ci, strides[ci, pi]
        return combos, col_strides

    def _extended(self, shape: np.ndarray) -> None:
        ext = shape + 1
        ext_sizes = ext.prod(axis=1)
        self.ext_total = int(ext_sizes.sum())
        self.ext_strides = _c_strides(ext)
        self.ext_offsets = np.concatenate([[0], np.cumsum(ext_sizes)[:-1]]).astype(np.int64)
        _, self.ext_col_strides = self._by_column(self.ext_strides)
        # Column sets with the same level signature are densified together.
        groups: dict[tuple[int, ...], list[int]] = {}
        for c, sig in enumerate(map(tuple, shape.tolist())):
            groups.setdefault(sig, []).append(c)
        self._groups = []
        for sig, members in groups.items():
            size, ext_size = int(np.prod(sig)), int(np.prod([s + 1 for s in sig]))
            src = (self.offsets[members][:, None] + np.arange(size)).ravel()
            dst = (self.ext_offsets[members][:, None] + np.arange(ext_size)).ravel()
            self._groups.append(((len(members), *sig), src, dst))

    def index(self, rows: np.ndarray) -> np.ndarray:
        """(n, C) tuple indices of full rows (n, k)."""
        return self.offsets + (rows[:, self.combos] * self.strides).sum(axis=-1)

    def density(self, targets: np.ndarray) -> np.ndarray:
        """The extended array of ``targets`` (a 0/1 vector over tuples): wildcard entries hold
        the mean over that column's levels."""
        out = np.empty(self.ext_total, dtype=np.float64)
        values = targets.astype(np.float64)
        for shape, src, dst in self._groups:
            u = values[src].reshape(shape)
            for axis in range(1, len(shape)):
                u = np.concatenate([u, u.mean(axis=axis, keepdims=True)], axis=axis)
            out[dst] = u.ravel()
        return out

    def decode_many(self, us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Columns (n, t) and levels (n, t) of tuples ``us``."""
        c = np.searchsorted(self.offsets, us, side="right") - 1
        cols = self.combos[c]
        vals = ((us - self.offsets[c])[:, None] // self.strides[c]) % self.levels[cols]
        return cols, vals


class Coverage:
    """Rows of an array plus the cover count of every tuple, updated incrementally."""

    def __init__(self, index: TupleIndex, rows: np.ndarray):
        self.ix = index
        self.rows = np.array(rows, dtype=np.int64).reshape(-1, len(index.levels))
        self.tidx = index.index(self.rows)
        self.counts = np.bincount(self.tidx.ravel(), minlength=index.total).astype(np.int64)

    def uncovered(self) -> np.ndarray:
        """Indices of the allowed tuples no row covers."""
        return np.flatnonzero(self.ix.allowed & (self.counts == 0))

    def n_uncovered(self) -> int:
        return int(np.count_nonzero(self.ix.allowed & (self.counts == 0)))

    def remove_row(self, i: int) -> None:
        self.counts[self.tidx[i]] -= 1
        self.rows = np.delete(self.rows, i, axis=0)
        self.tidx = np.delete(self.tidx, i, axis=0)

    def set_row(self, i: int, row: np.ndarray) -> None:
        self.counts[self.tidx[i]] -= 1
        self.rows[i] = row
        self.tidx[i] = self.ix.index(row[None, :])[0]
        self.counts[self.tidx[i]] += 1

    def set_cell(self, i: int, j: int, v: int) -> None:
        cj = self.ix.col_combos[j]
        old = self.tidx[i, cj]
        new = old + (v - self.rows[i, j]) * self.ix.col_strides[j]
        self.counts[old] -= 1
        self.counts[new] += 1
        self.tidx[i, cj] = new
        self.rows[i, j] = v

    def unique_counts(self) -> np.ndarray:
        """For each row, how many tuples it alone covers."""
        return (self.counts[self.tidx] == 1).sum(axis=1)
