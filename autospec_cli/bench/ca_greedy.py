"""Greedy one-row-at-a-time covering-array construction (density-guided, AETG-style).

Each new row is the best of ``n_candidates`` candidates built in parallel. A candidate starts
from a random uncovered allowed tuple; the free columns are then fixed one at a time, in a
random order, to the level with the highest *density*: the expected number of uncovered
tuples the row would cover if the columns still free were filled at random (exact counts for
column sets already fixed, fractions for the others; see ``TupleIndex.density``). A level is
taken only if the partial row still extends to a valid row (exact, via
``ConstraintSet.extendable``). The candidate that covers most new tuples wins.
"""

from __future__ import annotations

import numpy as np

from autospec_cli.bench.ca_tuples import TupleIndex
from autospec_cli.bench.constraints import ConstraintSet
from autospec_cli.progress import ProgressFn


def _seed_rows(ix: TupleIndex, uncovered: np.ndarray, rng: np.random.Generator, n: int):
    """``n`` partial rows (-1 = free), each holding one random uncovered tuple."""
    cols, vals = ix.decode_many(uncovered[rng.integers(len(uncovered), size=n)])
    rows = np.full((n, len(ix.levels)), -1, dtype=np.int64)
    rows[np.arange(n)[:, None], cols] = vals
    return rows


def _feasible(cs: ConstraintSet, rows: np.ndarray, j: int, n_levels: int) -> np.ndarray:
    """(F, L) mask: which levels of column j keep each partial row extendable."""
    feas = np.ones((len(rows), n_levels), dtype=bool)
    if j not in cs.constrained:
        return feas
    for f, row in enumerate(rows.tolist()):
        for v in range(n_levels):
            row[j] = v
            feas[f, v] = cs.extendable(row)
    return feas


def _fill_column(ix: TupleIndex, dens: np.ndarray, rows: np.ndarray, j: int) -> np.ndarray:
    """(F, L) densities of each level of column j for partial rows (column j free)."""
    cj = ix.col_combos[j]
    combos = ix.combos[cj]
    sub = rows[:, combos]  # (F, Cj, t); column j itself is -1
    wild = ix.levels[combos]
    sub = np.where(sub < 0, wild, sub)
    sub[:, combos == j] = 0
    base = ix.ext_offsets[cj] + (sub * ix.ext_strides[cj]).sum(axis=-1)
    idx = base[..., None] + np.arange(ix.levels[j]) * ix.ext_col_strides[j][None, :, None]
    return dens[idx].sum(axis=1)


def greedy_row(
    ix: TupleIndex,
    uncov: np.ndarray,
    cs: ConstraintSet,
    rng: np.random.Generator,
    n_candidates: int,
) -> tuple[np.ndarray, int]:
    """The best candidate row for the boolean vector of uncovered tuples, and its gain."""
    rows = _seed_rows(ix, np.flatnonzero(uncov), rng, n_candidates)
    dens = ix.density(uncov)
    for j in rng.permutation(len(ix.levels)):
        free = np.flatnonzero(rows[:, j] < 0)
        if not free.size:
            continue
        score = _fill_column(ix, dens, rows[free], j)
        score += 1e-6 * rng.random(score.shape)  # random tie-break
        score[~_feasible(cs, rows[free], j, int(ix.levels[j]))] = -1.0
        rows[free, j] = score.argmax(axis=1)
    gains = uncov[ix.index(rows)].sum(axis=1)
    best = int(gains.argmax())
    return rows[best], int(gains[best])


def greedy_array(
    ix: TupleIndex,
    cs: ConstraintSet,
    rng: np.random.Generator,
    n_candidates: int,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Rows (N, k) covering every allowed tuple, added greedily."""
    uncov = ix.allowed.copy()
    n_allowed = n_left = int(uncov.sum())
    rows = []
    while n_left:
        row, gain = greedy_row(ix, uncov, cs, rng, n_candidates)
        uncov[ix.index(row[None, :])[0]] = False
        rows.append(row)
        n_left -= gain
        if progress is not None:
            progress("covering array: greedy", n_allowed - n_left, n_allowed)
    return np.asarray(rows, dtype=np.int64).reshape(-1, len(ix.levels))
