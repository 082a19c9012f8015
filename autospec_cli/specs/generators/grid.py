"""Grid-based generation (AutoSpec Algorithm 3): one specification per occupied grid cell.

Each feature's data range ``[min_j, max_j]`` (of the generation points) is cut into ``beta``
equal-width intervals with edges ``e_0 = min_j < e_1 < ... < e_beta = max_j``. A point's cell
is the tuple of its interval indices; only the cells that hold at least one generation point
are enumerated (integer cell codes, unique rows), so the cost grows with the number of points
and never with ``beta ** d``: no empty cell is ever emitted.

Boxes stop at the data range, as the paper's cells do: points of later data outside
``[min, max]`` are covered by no grid specification. Cells are half-open in the paper's sense
and closed boxes here: interval ``b < beta - 1`` is ``[e_b, nextafter(e_{b+1}, -inf)]`` and
the last one is ``[e_{beta-1}, max_j]``, so the cells partition the data range and every
generation point lies in exactly one box. A constant feature has one interval ``[c, c]``.

``beta`` must lie in ``[1, n]``: with more intervals per feature than generation points,
some feature is cut finer than the data can populate (every cell holds about one point), so
larger values are refused as not sensible. The cost is then at most ``n`` cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autospec_cli.params import param
from autospec_cli.specs.generators.base import Boxes, SpecGenerator, check_int


@dataclass(kw_only=True, eq=False)
class GridGenerator(SpecGenerator):
    """``beta`` equal-width intervals per feature; one box per occupied cell."""

    name = "grid"
    beta: int = param(10, "intervals per feature, 1 to the number of generation points")

    def _validate(self, n: int, d: int) -> None:
        check_int("beta", self.beta, 1, n, why=" (at most the number of generation points)")

    def _boxes(self, X: np.ndarray, y: np.ndarray, task: str, features: list[str] | None) -> Boxes:
        beta = int(self.beta)
        edges = grid_edges(X, beta)
        codes = cell_codes(X, edges)
        cells, assign = unique_rows(codes)
        lo, hi = cell_boxes(cells, edges)
        return Boxes.from_assignment(lo, hi, assign)


def grid_edges(X: np.ndarray, beta: int) -> np.ndarray:
    """Interval edges (d, beta + 1) per feature: ``linspace(min, max)`` with exact ends."""
    mins, maxs = X.min(axis=0), X.max(axis=0)
    steps = (np.arange(beta + 1, dtype=np.float64) / beta)[None, :]
    # a convex combination never overflows, even for a range wider than the float maximum
    edges = mins[:, None] * (1.0 - steps) + maxs[:, None] * steps
    edges = np.clip(edges, mins[:, None], maxs[:, None])
    edges[:, 0], edges[:, -1] = mins, maxs
    return np.maximum.accumulate(edges, axis=1)


def cell_codes(X: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each point's interval index per feature: ``e_b <= x < e_{b+1}`` (last interval closed)."""
    n, d = X.shape
    beta = edges.shape[1] - 1
    # big-endian, so that the bytes of a row sort like its codes (see unique_rows)
    dtype = np.dtype(np.uint8 if beta <= 256 else ">u2" if beta <= 65536 else ">u4")
    codes = np.empty((n, d), dtype=dtype)
    for j in range(d):
        inner = edges[j, 1:-1]
        codes[:, j] = np.searchsorted(inner, X[:, j], side="right")
    return codes


def unique_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows in lexicographic order and each row's index among them.

    Same result as ``np.unique(codes, axis=0, return_inverse=True)`` for unsigned big-endian
    codes, about ten times faster: rows are sorted as opaque byte strings.
    """
    codes = np.ascontiguousarray(codes)
    rows = codes.view(np.dtype((np.void, codes.dtype.itemsize * codes.shape[1]))).ravel()
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    new = np.ones(rows.size, dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]
    inverse = np.empty(rows.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return codes[order[new]], inverse


def cell_boxes(cells: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed boxes of cells (m, d): interval ``b`` is ``[e_b, prev(e_{b+1})]`` but the last."""
    upper = np.nextafter(edges[:, 1:], -np.inf)
    upper[:, -1] = edges[:, -1]
    upper = np.maximum(upper, edges[:, :-1])  # constant feature: [c, c]
    m, d = cells.shape
    lo = np.empty((m, d), order="F")  # filled column by column
    hi = np.empty((m, d), order="F")
    for j in range(d):
        col = cells[:, j].astype(np.intp)
        lo[:, j] = edges[j, col]
        hi[:, j] = upper[j, col]
    return lo, hi
