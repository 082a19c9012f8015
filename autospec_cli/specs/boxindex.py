"""Which points lie in which boxes: the (box, point) incidences of many boxes, fast.

Checking every (point, box) pair costs ``n * m * d`` comparisons (7.8e11 for a million
points, 10,000 boxes and 78 features). Boxes mined from data are small, so this module
avoids almost all of those pairs with a per-feature sorted index:

1. **Selectivity.** For every box and every *constrained* feature (a finite ``lo`` or
   ``hi``), count the points inside ``[lo_j, hi_j]`` with two binary searches
   (``np.searchsorted``) in a sorted sample of that feature's values (``sample_rows`` rows,
   all of them for small data). Each box gets its features ordered from the most to the
   least selective; unconstrained features come last.
2. **Candidates.** Boxes are grouped by their most selective (*primary*) feature. For each
   group the feature is sorted once (``np.argsort``); a box's candidate points are one
   contiguous run ``order[a:b]`` of that order, found exactly by binary search.
3. **Refinement.** The candidate pairs of many boxes are flattened into blocks of at most
   ``block_pairs`` (box, point) pairs and filtered one feature at a time, in each box's
   selectivity order, so the pair arrays shrink fast. Unconstrained sides are ``±inf`` and
   pass every finite or infinite value, so boxes with fewer constraints need no masking.

Boxes with no finite side cover every point (the identity order, no refinement); boxes
whose primary run is empty are skipped. Boxes are closed (``lo <= x <= hi``) exactly like
:meth:`Spec.contains`: binary searches use ``side="left"`` for ``lo`` and ``side="right"``
for ``hi``. Points must not hold NaN (a NaN is in no box; the caller rejects them).
Memory: the pair blocks (about ``40 * block_pairs`` bytes) and one ``argsort`` of a column
at a time, besides ``X`` itself; ``X`` is never copied.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from autospec_cli.progress import ProgressFn

BLOCK_PAIRS = 1 << 22
SAMPLE_ROWS = 1 << 18
CHECK_CELLS = 1 << 22


def iter_incidences(
    X: np.ndarray,
    LO: np.ndarray,
    HI: np.ndarray,
    *,
    block_pairs: int = BLOCK_PAIRS,
    sample_rows: int = SAMPLE_ROWS,
    progress: ProgressFn | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield blocks ``(box, point)`` of index arrays: every pair with point inside box, once.

    ``X`` is (n, d) float64 without NaN; ``LO``, ``HI`` are (m, d) with ±inf for open sides.
    The union of the blocks is exactly ``{(i, p) : LO[i] <= X[p] <= HI[i]}``, in no order.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    m = LO.shape[0]
    if m == 0 or n == 0:
        return
    rank, k = selectivity_order(X, LO, HI, sample_rows)
    primary = np.where(k > 0, rank[:, 0], -1)
    feats = [int(j) for j in np.unique(primary)]
    done = 0
    with ThreadPoolExecutor(max_workers=1) as pool:  # sort the next column meanwhile
        ahead = pool.submit(_sort_column, X, feats[0])
        for i, j in enumerate(feats):
            order, col = ahead.result()
            if i + 1 < len(feats):
                ahead = pool.submit(_sort_column, X, feats[i + 1])
            boxes = np.flatnonzero(primary == j)
            if j < 0:
                a, b = np.zeros(boxes.size, np.int64), np.full(boxes.size, n, np.int64)
            else:
                a = np.searchsorted(col, LO[boxes, j], side="left")
                b = np.searchsorted(col, HI[boxes, j], side="right")
            yield from _scan_group(X, LO, HI, rank, k, boxes, order, a, b, block_pairs)
            done += boxes.size
            if progress is not None:
                progress("evaluating specs", done, m)


def _sort_column(X: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Point order by feature ``j`` and the sorted values (identity for ``j < 0``)."""
    if j < 0:
        return np.arange(X.shape[0]), np.empty(0)
    col = np.ascontiguousarray(X[:, j])
    order = np.argsort(col)
    return order, col[order]


def selectivity_order(
    X: np.ndarray, LO: np.ndarray, HI: np.ndarray, sample_rows: int = SAMPLE_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """Per box: features from most to least selective (m, d), and its constrained count (m,).

    Selectivity is the number of sample points inside ``[lo_j, hi_j]``; an unconstrained
    feature counts as ``sample + 1`` so it sorts after every constrained one.
    """
    n, d = X.shape
    constrained = (LO > -np.inf) | (HI < np.inf)
    rows = _sample_rows(n, sample_rows)
    counts = np.full(LO.shape, rows.size + 1, dtype=np.int64)
    for j in range(d):
        boxes = np.flatnonzero(constrained[:, j])
        if boxes.size == 0:
            continue
        col = np.sort(X[rows, j] if rows.size < n else X[:, j])
        lo = np.searchsorted(col, LO[boxes, j], side="left")
        hi = np.searchsorted(col, HI[boxes, j], side="right")
        counts[boxes, j] = np.maximum(hi - lo, 0)
    rank = np.argsort(counts, axis=1, kind="stable")
    return rank, constrained.sum(axis=1)


def _sample_rows(n: int, sample_rows: int) -> np.ndarray:
    if n <= sample_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, size=sample_rows, replace=False))


def _scan_group(
    X: np.ndarray,
    LO: np.ndarray,
    HI: np.ndarray,
    rank: np.ndarray,
    k: np.ndarray,
    boxes: np.ndarray,
    order: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    block_pairs: int,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Candidate runs ``order[a_i:b_i]`` of one group, flattened in blocks and refined."""
    c = np.maximum(b - a, 0).astype(np.int64)
    keep = c > 0
    boxes, a, c = boxes[keep], a[keep].astype(np.int64), c[keep]
    if boxes.size == 0:
        return
    end = np.cumsum(c)
    start = end - c
    total = int(end[-1])
    step = max(int(block_pairs), 1)
    for g0 in range(0, total, step):
        g1 = min(g0 + step, total)
        first = int(np.searchsorted(end, g0, side="right"))
        last = int(np.searchsorted(end, g1 - 1, side="right"))
        sl = slice(first, last + 1)
        lo_f = np.maximum(start[sl], g0)
        cnt = np.minimum(end[sl], g1) - lo_f
        # flat position g of box i maps to sorted position a_i + (g - start_i)
        pos = np.arange(g0, g1, dtype=np.intp) + np.repeat(a[sl] - start[sl], cnt)
        local = np.repeat(np.arange(cnt.size, dtype=np.intp), cnt)
        bx = boxes[sl]
        s, p = _refine(X, LO[bx], HI[bx], rank[bx], k[bx], local, order[pos])
        yield bx[s], p


def _refine(
    X: np.ndarray,
    LO: np.ndarray,
    HI: np.ndarray,
    rank: np.ndarray,
    k: np.ndarray,
    s: np.ndarray,
    p: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the pairs ``(s, p)`` (``s`` indexes this block's boxes) inside their box.

    Checks one feature per step in each box's selectivity order (rank 1, 2, ...); a pair
    whose box has no constrained feature left is set aside (boxes with 2 constraints are
    not re-checked 70 times because a 78-constraint grid cell shares their block). Once a
    step removes less than half of the pairs, the pairs whose box still has at least a
    quarter of the features to check are checked on all of them at once (whole rows); the
    others go on one feature per step.
    """
    d = X.shape[1]
    flat = X.reshape(-1)
    rows = np.arange(LO.shape[0])
    ks = k[s]
    done_s: list[np.ndarray] = []
    done_p: list[np.ndarray] = []
    r = 1
    while s.size:
        fin = ks <= r
        if fin.any():
            done_s.append(s[fin])
            done_p.append(p[fin])
            s, p, ks = s[~fin], p[~fin], ks[~fin]
            if not s.size:
                break
        jr = rank[:, r]
        j = jr[s]
        v = flat[p * d + j]
        ok = (v >= LO[rows, jr][s]) & (v <= HI[rows, jr][s])
        before = s.size
        s, p, ks = s[ok], p[ok], ks[ok]
        r += 1
        if 2 * s.size <= before or not s.size:
            continue
        heavy = 4 * (ks - r) >= d  # many features left: whole rows are cheaper
        if heavy.any():
            hs, hp = s[heavy], p[heavy]
            keep = _check_rows(X, LO, HI, hs, hp, rank[:, r:int(ks[heavy].max())])
            done_s.append(hs[keep])
            done_p.append(hp[keep])
            s, p, ks = s[~heavy], p[~heavy], ks[~heavy]
    done_s.append(s)
    done_p.append(p)
    return np.concatenate(done_s), np.concatenate(done_p)


def _check_rows(
    X: np.ndarray,
    LO: np.ndarray,
    HI: np.ndarray,
    s: np.ndarray,
    p: np.ndarray,
    rest: np.ndarray,
) -> np.ndarray:
    """Mask of the pairs inside their box on the features ``rest`` (ranks still unchecked)."""
    d = X.shape[1]
    unique = np.unique(rest)
    cols: np.ndarray | slice = unique
    width = unique.size
    if 2 * width > d:  # whole rows are cheaper to gather; checked columns pass again
        cols, width = slice(None), d
    keep = np.empty(s.size, dtype=bool)
    step = max(CHECK_CELLS // max(width, 1), 1)
    LOc, HIc = LO[:, cols], HI[:, cols]
    for c0 in range(0, s.size, step):
        ss, pp = s[c0:c0 + step], p[c0:c0 + step]
        xr = X[pp][:, cols]
        keep[c0:c0 + step] = np.all((xr >= LOc[ss]) & (xr <= HIc[ss]), axis=1)
    return keep
