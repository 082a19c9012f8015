"""Post-optimisation of a covering array: row deletion plus tabu search (after Nurmela 2004).

From a complete array, delete the row that covers fewest tuples alone, then repair: pick a
random uncovered allowed tuple, consider every row that differs from it in exactly one of its
columns, and change that one cell in the row where the change lowers the number of uncovered
tuples most (cells changed in the last ``tenure`` moves are tabu unless the move completes the
array; moves that would break a constraint are never taken). When no single-cell move exists,
a closest row is rewritten to hold the tuple (completed validly). Each time the array is
complete again it is recorded and another row is deleted. The smallest complete array wins.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from autospec_cli.bench.ca_tuples import Coverage
from autospec_cli.bench.constraints import ConstraintSet
from autospec_cli.progress import ProgressFn


@dataclass
class TabuSearch:
    """Mutable search state over one Coverage."""

    cov: Coverage
    cs: ConstraintSet
    rng: np.random.Generator
    tenure: int = 2
    it: int = 0
    n_unc: int = 0
    tabu: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.tabu = np.zeros(self.cov.rows.shape, dtype=np.int64)
        self.n_unc = self.cov.n_uncovered()

    def delete_row(self) -> None:
        """Delete the row covering fewest tuples alone (ties at random)."""
        uniq = self.cov.unique_counts()
        cands = np.flatnonzero(uniq == uniq.min())
        i = int(cands[self.rng.integers(cands.size)])
        self.cov.remove_row(i)
        self.tabu = np.delete(self.tabu, i, axis=0)
        self.n_unc = self.cov.n_uncovered()

    def step(self) -> None:
        """One move towards covering a random uncovered tuple."""
        cov, ix = self.cov, self.cov.ix
        self.it += 1
        unc = cov.uncovered()
        if not unc.size:  # the running count drifted (it never should): resynchronise
            self.n_unc = 0
            return
        cols, vals = ix.decode_many(unc[self.rng.integers(unc.size, size=1)])
        cols, vals = cols[0], vals[0]
        mism = cov.rows[:, cols] != vals
        n_mism = mism.sum(axis=1)
        r = np.flatnonzero(n_mism == 1)
        if not r.size:
            self.jump(cols, vals, n_mism)
            return
        p = mism[r].argmax(axis=1)
        j, v = cols[p], vals[p]
        delta = self._deltas(r, j, v)
        free = (self.tabu[r, j] <= self.it) | (self.n_unc + delta == 0)
        if free.any():
            delta[~free] = np.inf
        if not np.isfinite(delta).any():
            self.jump(cols, vals, n_mism)
            return
        best = np.flatnonzero(delta == delta.min())
        m = int(best[self.rng.integers(best.size)])
        cov.set_cell(int(r[m]), int(j[m]), int(v[m]))
        self.n_unc += int(delta[m])
        self.tabu[r[m], j[m]] = self.it + self.tenure

    def _deltas(self, r: np.ndarray, j: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Change in the number of uncovered tuples if cell (r, j) became v; inf if the new
        row would break a constraint."""
        cov, ix = self.cov, self.cov.ix
        cj = ix.col_combos[j]
        old = cov.tidx[r[:, None], cj]
        new = old + (v - cov.rows[r, j])[:, None] * ix.col_strides[j]
        gain = (ix.allowed[new] & (cov.counts[new] == 0)).sum(axis=1)
        loss = (ix.allowed[old] & (cov.counts[old] == 1)).sum(axis=1)
        delta = (loss - gain).astype(np.float64)
        if len(self.cs):
            trial = cov.rows[r].copy()
            trial[np.arange(r.size), j] = v
            delta[self.cs.excluded(trial)] = np.inf
        return delta

    def jump(self, cols: np.ndarray, vals: np.ndarray, n_mism: np.ndarray) -> None:
        """No single-cell move covers the tuple: rewrite a closest row to hold it."""
        cands = np.flatnonzero(n_mism == n_mism.min())
        i = int(cands[self.rng.integers(cands.size)])
        row = self.cov.rows[i].copy()
        row[cols] = vals
        if len(self.cs) and self.cs.excluded(row[None, :])[0]:
            assign = np.full(row.size, -1)
            assign[cols] = vals
            row = np.asarray(self.cs.complete(assign.tolist(), prefer=self.cov.rows[i].tolist()))
        self.cov.set_row(i, row)
        self.tabu[i, cols] = self.it + self.tenure
        self.n_unc = self.cov.n_uncovered()


def shrink(
    search: TabuSearch,
    lower_bound: int,
    iterations: int,
    stall: int,
    deadline: float | None,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, bool]:
    """Shrink the (complete) array of ``search``; return the smallest complete array found and
    whether the wall-clock ``deadline`` stopped the search. Stops after ``iterations`` moves,
    after ``stall`` moves without a smaller complete array, or at ``lower_bound`` rows."""
    cov = search.cov
    best, found_at = cov.rows.copy(), 0
    while search.it < iterations and search.it - found_at < stall:
        if search.n_unc == 0:
            best, found_at = cov.rows.copy(), search.it
            if progress is not None:
                progress("covering array: shrinking", search.it, iterations)
            if len(best) <= lower_bound:
                break
            search.delete_row()
            continue
        if deadline is not None and search.it % 16 == 0 and time.perf_counter() > deadline:
            return best, True
        search.step()
    return best, False
