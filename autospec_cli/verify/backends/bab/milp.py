"""Exact encodings of affine/ReLU chains for HiGHS: bound tightening and exact case decisions.

The chain is the one of :func:`crown.extract_affine_relu` (``z_k = W_k a_{k-1} + b_k``,
``a_k = relu(z_k)``, ``y = z_L``) over an input box, with pre-activation bounds ``l <= z <= u``
valid on the box (CROWN's, or tighter). :class:`Encoding` builds one HiGHS model of it:

* columns ``x`` (the box), per hidden layer ``z_k`` (bounds ``[l, u]``) and ``a_k``, the
  outputs ``y``, and in MILP mode one binary ``d`` per unstable neuron;
* rows ``z_k - W_k a_{k-1} = b_k``; per neuron ``a = z`` when stable active (``l >= 0``),
  ``a = 0`` (column bounds) when stable inactive, and for unstable neurons the triangle
  ``a >= 0, a >= z, a <= u (z - l) / (u - l)`` -- plus, in MILP mode, the exact big-M pair
  ``a <= z - l (1 - d)`` and ``a <= u d`` (Tjeng et al., ICLR 2019).

Every input of the box, run through the network, is a feasible point of either model, so the
LP's minimum of a linear function bounds it from below and the MILP's minimum *is* its
minimum over the box. Two uses:

* :func:`tighten`: per unstable neuron, min and max of its pre-activation over the model of
  the layers before it (LP or MILP), layer after layer, within a time budget; a new bound is
  kept only where it is tighter (intersection with the bounds it started from). The model of
  a layer is built once and only its objective changes between neurons (HiGHS warm-starts
  the simplex from the previous basis).
* :func:`decide`: one case (the box and a disjunction of polytopes ``A y <= b``): per polytope
  the MILP ``min t`` s.t. ``A y - b <= t``. ``t* > 0`` for every polytope means no input
  reaches an unsafe polytope (``refuted``); a solution with ``t <= 0`` is a candidate
  counterexample that the caller must replay (``confirm``) before answering ``sat``.

Soundness. The solver works in floating point with feasibility tolerances (1e-7 to 1e-6), so
its numbers are not trusted as they stand:

* an LP optimum counts only through a *safe dual bound* (Neumaier and Shcherbina, Math.
  Program. 2004): for any row multipliers ``y``, ``c.x = y.(A x) + (c - A^T y).x`` and both
  terms are minimised in closed form over the row and column bounds, so ``y`` from the solver,
  however inexact, yields a rigorous lower bound (computed here in float64 and lowered by a
  relative ``1e-9`` of the magnitude of its terms, far above the rounding of such sums); a
  refutation by LP further needs that bound above :data:`DECIDE_LP_REL_MARGIN`
  ``(1 + |b| + |A| |y|)``, the margin ``bab`` asks of its own float64 bounds;
* a MILP's dual bound (branch and bound over LP relaxations) has no such certificate: a
  polytope counts as refuted only when that bound exceeds a margin of
  :data:`MILP_REL_MARGIN` ``(1 + |b| + |A| |y|)`` -- ten times the solver's integrality
  tolerance, relative to the largest magnitude involved; a bound from a MILP that ran out
  of time (or was stopped once the bound cleared the margin) is used the same way;
* tightened hidden bounds are widened outwards by the same margins before they are used;
* a solver status other than optimal (or an interrupted MILP with a usable bound) gives no
  decision, and an "infeasible" answer gives none either: the model holds every input of the
  box, so it cannot be empty and such an answer is numerical trouble;
* every candidate point is only a candidate: the caller snaps it to float32 inside the box and
  replays it in onnxruntime (see ``confirm_in_onnxruntime`` of the ``bab`` backend).

``highspy`` is an optional dependency (the ``milp`` extra); :func:`available` says whether it
can be imported, and nothing here imports it before it is needed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autospec_cli.verify.backends.bab.crown import Layers

#: relative margin a MILP's dual bound must clear (see the module docstring)
MILP_REL_MARGIN = 1e-5
#: relative margin a safe LP bound must clear to refute: the margin of ``bab``'s own float64
#: bounds, so an LP refutes nothing whose true margin CROWN's rounding rules could not
DECIDE_LP_REL_MARGIN = 1e-6
#: relative margin of a safe LP bound, against the magnitude of the terms it sums
LP_REL_MARGIN = 1e-9
#: outward widening of a tightened hidden bound, relative to its magnitude
WIDEN = 1e-7

_HIGHS: Any = None


def available() -> bool:
    """Whether ``highspy`` can be imported (the ``milp`` extra)."""
    try:
        _highspy()
    except ImportError:
        return False
    return True


def _highspy() -> Any:
    global _HIGHS
    if _HIGHS is None:
        import highspy

        # the first model prints HiGHS's banner on the process's stdout, where the CLI's
        # JSON may go: silence that one print at the file-descriptor level
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _HIGHS = highspy
    return _HIGHS


def _dense(layers: Layers) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.asarray(W.detach().cpu().numpy(), dtype=np.float64),
             np.asarray(b.detach().cpu().numpy(), dtype=np.float64)) for W, b in layers]


def _split(packed: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    return list(np.split(np.asarray(packed, dtype=np.float64), np.cumsum(sizes)[:-1]))


class _Builder:
    """Columns and blocks of rows (``r`` rows of ``w`` entries each) gathered in numpy before
    one ``addCols``/``addRows`` call each."""

    def __init__(self) -> None:
        self.col_lo: list[np.ndarray] = []
        self.col_hi: list[np.ndarray] = []
        self.n_cols = 0
        self.blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def cols(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        lo = np.asarray(lo, dtype=np.float64).reshape(-1)
        self.col_lo.append(lo)
        self.col_hi.append(np.asarray(hi, dtype=np.float64).reshape(-1))
        at = self.n_cols
        self.n_cols += lo.size
        return np.arange(at, at + lo.size)

    def rows(self, idx: np.ndarray, val: np.ndarray, lo: Any, hi: Any) -> None:
        """Rows ``lo <= sum_w val[r, w] col[idx[r, w]] <= hi`` (idx, val: (r, w))."""
        idx, val = np.atleast_2d(idx), np.atleast_2d(np.asarray(val, dtype=np.float64))
        r = idx.shape[0]
        if r == 0:
            return
        self.blocks.append((idx.astype(np.int32), val,
                            np.broadcast_to(np.asarray(lo, dtype=np.float64), (r,)).copy(),
                            np.broadcast_to(np.asarray(hi, dtype=np.float64), (r,)).copy()))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate(self.col_lo), np.concatenate(self.col_hi)


@dataclass
class Encoding:
    """One HiGHS model of an affine/ReLU chain over a box (see the module docstring).

    ``hidden``: the number of hidden layers encoded (all by default); the objective can then
    be any linear function of their post-activations ``a`` (:meth:`minimise_affine`), the
    outputs exist only when every layer is encoded (``outputs`` is None otherwise).
    """

    layers: Layers
    lo: np.ndarray
    hi: np.ndarray
    low: np.ndarray  # packed (H,) pre-activation bounds
    up: np.ndarray
    integer: bool = False
    hidden: int | None = None
    time_limit: float = 10.0
    polytopes: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    highs: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        hs = _highspy()
        dense = _dense(self.layers)
        n_hidden = len(dense) - 1
        k_max = n_hidden if self.hidden is None else min(self.hidden, n_hidden)
        sizes = [W.shape[0] for W, _ in dense[:-1]]
        lows = _split(self.low, sizes) if sizes else []
        ups = _split(self.up, sizes) if sizes else []
        bld = _Builder()
        self.x = bld.cols(np.asarray(self.lo, np.float64), np.asarray(self.hi, np.float64))
        prev, prev_lo, prev_hi = self.x, np.asarray(self.lo, np.float64), np.asarray(
            self.hi, np.float64)
        self.z: list[np.ndarray] = []
        self.a: list[np.ndarray] = []
        self.n_unstable = 0
        ints: list[np.ndarray] = []
        for k in range(k_max):
            W, b = dense[k]
            n = W.shape[0]
            # stability from the bounds as given; the columns' ranges widened against the
            # rounding of the bounds they came from (a point the rounding put a hair outside
            # stays feasible; the active case a = z may then dip a hair below 0, which moves
            # the outputs by as little and is covered by the margins)
            raw_lo, raw_up = lows[k], ups[k]
            pad = WIDEN * (1 + np.abs(raw_lo) + np.abs(raw_up))
            lw, up = raw_lo - pad, raw_up + pad
            z = bld.cols(lw, up)
            active = raw_lo >= 0
            inactive = ~active & (raw_up <= 0)
            unstable = ~active & ~inactive
            a_lo = np.where(active, lw, 0.0)
            a_hi = np.where(inactive, 0.0, np.maximum(up, 0.0))
            a = bld.cols(a_lo, a_hi)
            # z - W a_prev = b
            bld.rows(np.hstack([z[:, None], np.broadcast_to(prev, (n, prev.size))]),
                     np.hstack([np.ones((n, 1)), -W]), b, b)
            act = np.nonzero(active)[0]
            bld.rows(np.stack([a[act], z[act]], 1), np.tile([1.0, -1.0], (act.size, 1)), 0.0, 0.0)
            u_ = np.nonzero(unstable)[0]
            self.n_unstable += u_.size
            if u_.size:
                lj, uj = lw[u_], up[u_]
                s = uj / (uj - lj)
                pair = np.stack([a[u_], z[u_]], 1)
                bld.rows(pair, np.tile([1.0, -1.0], (u_.size, 1)), 0.0, np.inf)  # a >= z
                bld.rows(pair, np.stack([np.ones_like(s), -s], 1), -np.inf, -s * lj)  # chord
                if self.integer:
                    d = bld.cols(np.zeros(u_.size), np.ones(u_.size))
                    ints.append(d)
                    # a <= z - l (1 - d)  <=>  a - z - l d <= -l ;  a <= u d
                    bld.rows(np.stack([a[u_], z[u_], d], 1),
                             np.stack([np.ones_like(lj), -np.ones_like(lj), -lj], 1),
                             -np.inf, -lj)
                    bld.rows(np.stack([a[u_], d], 1), np.stack([np.ones_like(uj), -uj], 1),
                             -np.inf, 0.0)
            self.z.append(z)
            self.a.append(a)
            prev, prev_lo, prev_hi = a, a_lo, a_hi
        self.outputs: np.ndarray | None = None
        self.t: list[int] = []
        if k_max == n_hidden:
            W, b = dense[-1]
            n = W.shape[0]
            y_lo, y_hi = _interval(W, b, (prev_lo, prev_hi))
            y = bld.cols(y_lo, y_hi)
            bld.rows(np.hstack([y[:, None], np.broadcast_to(prev, (n, prev.size))]),
                     np.hstack([np.ones((n, 1)), -W]), b, b)
            self.outputs = y
            # per polytope, its largest violation t_p: rows A y - t_p <= b, t_p within the
            # range the output bounds allow (finite, so the safe dual bound stays finite)
            for A, bq in self.polytopes:
                A = np.asarray(A, dtype=np.float64)
                bq = np.asarray(bq, dtype=np.float64)
                r_lo, r_hi = _interval(A, -bq, (y_lo, y_hi))
                (t,) = bld.cols(np.array([r_lo.max()]), np.array([r_hi.max()]))
                m = A.shape[0]
                bld.rows(np.hstack([np.broadcast_to(y, (m, y.size)), np.full((m, 1), t)]),
                         np.hstack([A, -np.ones((m, 1))]), -np.inf, bq)
                self.t.append(int(t))
        self.dense = dense
        self._last = prev
        self._finish(hs, bld, np.concatenate(ints) if ints else np.zeros(0, int))

    def _finish(self, hs: Any, bld: _Builder, ints: np.ndarray) -> None:
        from scipy.sparse import csr_matrix

        self.col_lo, self.col_hi = bld.bounds()
        self.n_cols = self.col_lo.size
        idx = np.concatenate([blk[0].reshape(-1) for blk in bld.blocks])
        val = np.concatenate([blk[1].reshape(-1) for blk in bld.blocks])
        self.row_lo = np.concatenate([blk[2] for blk in bld.blocks])
        self.row_hi = np.concatenate([blk[3] for blk in bld.blocks])
        widths = np.concatenate([np.full(blk[0].shape[0], blk[0].shape[1]) for blk in bld.blocks])
        self.n_rows = self.row_lo.size
        keep = val != 0  # explicit zeros (dense blocks) are left out
        nnz_per_row = np.add.reduceat(keep.astype(np.int64), np.cumsum(widths) - widths)
        idx, val = idx[keep].astype(np.int32), val[keep]
        starts = np.concatenate([[0], np.cumsum(nnz_per_row)]).astype(np.int32)
        # the constraint matrix, kept for the safe dual bound (CSR: rows x cols)
        self.A = csr_matrix((val, idx, starts), shape=(self.n_rows, self.n_cols))
        h = hs.Highs()
        h.silent()
        h.setOptionValue("threads", 1)
        h.setOptionValue("time_limit", float(self.time_limit))
        inf = hs.kHighsInf
        clo = np.where(np.isfinite(self.col_lo), self.col_lo, -inf)
        chi = np.where(np.isfinite(self.col_hi), self.col_hi, inf)
        h.addCols(self.n_cols, np.zeros(self.n_cols), clo, chi, 0,
                  np.zeros(self.n_cols, np.int32), np.zeros(0, np.int32), np.zeros(0))
        rlo = np.where(np.isfinite(self.row_lo), self.row_lo, -inf)
        rhi = np.where(np.isfinite(self.row_hi), self.row_hi, inf)
        h.addRows(self.n_rows, rlo, rhi, len(idx), starts[:-1], idx, val)
        if 0 < len(ints) <= 64:  # presolve costs more than it saves on small MILPs
            h.setOptionValue("presolve", "off")
        if len(ints):
            h.changeColsIntegrality(len(ints), np.asarray(ints, np.int32),
                                    np.array([hs.HighsVarType.kInteger] * len(ints)))
        self.ints = np.asarray(ints, dtype=int)
        self.highs = h

    # -- solving -------------------------------------------------------------------------------

    def _set_objective(self, c: np.ndarray) -> None:
        self.highs.changeColsCost(self.n_cols, np.arange(self.n_cols, dtype=np.int32), c)

    def solve(self, c: np.ndarray, time_limit: float | None = None,
              interrupt: Callable[[float, float], bool] | None = None) -> Solved:
        """Minimise ``c . columns``: a rigorous lower bound (``-inf`` when none) and the
        solver's point (or None)."""
        hs = _highspy()
        h = self.highs
        self._set_objective(np.asarray(c, dtype=np.float64))
        h.setOptionValue("time_limit", float(time_limit if time_limit is not None
                                             else self.time_limit))
        event = getattr(h, "cbMipInterrupt", None)  # highspy >= 1.8; older: time limit only
        cb = None
        if interrupt is not None and len(self.ints) and event is not None:
            def cb(e: Any) -> None:
                if interrupt(e.data_out.mip_dual_bound, e.data_out.mip_primal_bound):
                    e.interrupt()

            event.subscribe(cb)
        try:
            h.run()
        finally:
            if cb is not None and event is not None:
                event.unsubscribe(cb)
        status = h.getModelStatus()
        MS = hs.HighsModelStatus
        info = h.getInfo()
        sol = h.getSolution()
        point = None
        if getattr(sol, "value_valid", False):
            point = np.asarray(sol.col_value, dtype=np.float64)
        if len(self.ints):
            ok = status in (MS.kOptimal, MS.kTimeLimit, MS.kInterrupt)
            bound = float(info.mip_dual_bound) if ok else -np.inf
            if not np.isfinite(bound):
                bound = -np.inf
            return Solved(status=h.modelStatusToString(status), bound=bound, point=point,
                          exact=False, value=float(info.objective_function_value)
                          if point is not None else np.inf)
        if status != MS.kOptimal:
            return Solved(status=h.modelStatusToString(status), bound=-np.inf, point=point,
                          exact=True, value=np.inf)
        y = np.asarray(sol.row_dual, dtype=np.float64)
        bound = self.safe_bound(np.asarray(c, dtype=np.float64), y)
        return Solved(status="Optimal", bound=bound, point=point, exact=True,
                      value=float(info.objective_function_value))

    def safe_bound(self, c: np.ndarray, y: np.ndarray) -> float:
        """A rigorous lower bound of ``c . v`` over the LP's feasible set from any row
        multipliers ``y`` (both signs of the solver's convention are tried; the better one
        is still a valid bound)."""
        best = -np.inf
        for yy in (y, -y):
            best = max(best, self._dual_value(c, yy))
        return best

    def _dual_value(self, c: np.ndarray, y: np.ndarray) -> float:
        # a multiplier may only lean on a finite side of its row
        y = np.where((y > 0) & ~np.isfinite(self.row_lo), 0.0, y)
        y = np.where((y < 0) & ~np.isfinite(self.row_hi), 0.0, y)
        row_term = np.where(y > 0, y * np.where(np.isfinite(self.row_lo), self.row_lo, 0.0),
                            y * np.where(np.isfinite(self.row_hi), self.row_hi, 0.0))
        r = c - self.A.T @ y
        if np.any((r > 0) & ~np.isfinite(self.col_lo)) or \
                np.any((r < 0) & ~np.isfinite(self.col_hi)):
            return -np.inf
        col_term = np.where(r > 0, r * np.where(np.isfinite(self.col_lo), self.col_lo, 0.0),
                            r * np.where(np.isfinite(self.col_hi), self.col_hi, 0.0))
        total = float(row_term.sum() + col_term.sum())
        mag = float(np.abs(row_term).sum() + np.abs(col_term).sum()
                    + (np.abs(self.A.T) @ np.abs(y)) @ np.maximum(
                        np.abs(np.where(np.isfinite(self.col_lo), self.col_lo, 0.0)),
                        np.abs(np.where(np.isfinite(self.col_hi), self.col_hi, 0.0))))
        return total - LP_REL_MARGIN * (1.0 + mag)


@dataclass
class Solved:
    """One solve: ``bound`` a lower bound of the minimum (rigorous for an LP; the solver's
    dual bound for a MILP, ``exact=False``: needs a margin), ``point`` the solver's columns,
    ``value`` its objective there."""

    status: str
    bound: float
    point: np.ndarray | None
    exact: bool
    value: float


def _interval(W: np.ndarray, b: np.ndarray, prev: tuple[np.ndarray, np.ndarray]
              ) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = prev
    Wp, Wn = np.clip(W, 0, None), np.clip(W, None, 0)
    out_lo = Wp @ lo + Wn @ hi + b
    out_hi = Wp @ hi + Wn @ lo + b
    pad = WIDEN * (1 + np.abs(out_lo) + np.abs(out_hi))
    return out_lo - pad, out_hi + pad


# -- bound tightening --------------------------------------------------------------------------


@dataclass
class TightenReport:
    """What :func:`tighten` did: solves, neurons improved and made stable, seconds."""

    solves: int = 0
    improved: int = 0
    stabilised: int = 0
    layers_done: int = 0
    seconds: float = 0.0


def tighten(
    layers: Layers,
    lo: np.ndarray,
    hi: np.ndarray,
    low: np.ndarray,
    up: np.ndarray,
    *,
    mode: str = "lp",
    deadline: float | None = None,
    per_solve: float = 2.0,
) -> tuple[np.ndarray, np.ndarray, TightenReport]:
    """Tighter packed pre-activation bounds ``(low, up)`` of the unstable neurons, layer after
    layer from the second hidden layer (the first one's interval bounds are exact), by LP
    (``mode="lp"``, triangle relaxation) or MILP (``"milp"``, time-limited per solve). Only
    bounds tighter than the given ones are kept, widened outwards (see the module docstring);
    stops at ``deadline`` (``time.monotonic()``) with what it has."""
    if mode not in ("lp", "milp"):
        raise ValueError("tighten: mode must be lp or milp")
    t0 = time.monotonic()
    low = np.asarray(low, dtype=np.float64).copy()
    up = np.asarray(up, dtype=np.float64).copy()
    rep = TightenReport()
    dense = _dense(layers)
    sizes = [W.shape[0] for W, _ in dense[:-1]]
    starts = np.cumsum([0] + sizes)
    for k in range(1, len(sizes)):
        if deadline is not None and time.monotonic() > deadline:
            break
        sl = slice(int(starts[k]), int(starts[k + 1]))
        unstable = np.nonzero((low[sl] < 0) & (up[sl] > 0))[0]
        if unstable.size == 0:
            rep.layers_done += 1
            continue
        enc = Encoding(layers, lo, hi, low, up, integer=mode == "milp", hidden=k,
                       time_limit=per_solve)
        W, b = dense[k]
        # the neurons nearest to stable first (min(-l, u) smallest): the likeliest to become
        # stable, which removes a branching choice and a relaxation at once
        order = unstable[np.argsort(np.minimum(-low[sl][unstable], up[sl][unstable]))]
        finished = True
        for j in order:
            for direction in (1.0, -1.0):
                if deadline is not None and time.monotonic() > deadline:
                    finished = False
                    break
                c = np.zeros(enc.n_cols)
                c[enc._last] = direction * W[j]
                left = per_solve if deadline is None else max(
                    0.01, min(per_solve, deadline - time.monotonic()))
                res = enc.solve(c, time_limit=left)
                rep.solves += 1
                if not np.isfinite(res.bound):
                    continue
                val = res.bound + direction * b[j]  # min of direction * z_j
                mag = abs(val) + float(np.abs(W[j]) @ np.maximum(
                    np.abs(enc.col_lo[enc._last]), np.abs(enc.col_hi[enc._last]))) + abs(b[j])
                pad = (MILP_REL_MARGIN if not res.exact else WIDEN) * (1 + mag)
                i = int(starts[k]) + int(j)
                if direction > 0:
                    new = val - pad
                    if new > low[i]:
                        low[i] = new
                        rep.improved += 1
                else:
                    new = -val + pad
                    if new < up[i]:
                        up[i] = new
                        rep.improved += 1
            else:
                continue
            break
        i_sl = np.arange(int(starts[k]), int(starts[k + 1]))[unstable]
        rep.stabilised += int(((low[i_sl] >= 0) | (up[i_sl] <= 0)).sum())
        if not finished:
            break
        rep.layers_done += 1
    rep.seconds = time.monotonic() - t0
    return low, up, rep


# -- exact decisions ----------------------------------------------------------------------------


@dataclass
class Decision:
    """:func:`decide`'s answer: ``refuted`` (every polytope's minimum violation proved
    ``> 0`` with the margin), ``candidate`` (points to replay), or ``unknown``; ``why``."""

    verdict: str
    points: list[np.ndarray] = field(default_factory=list)
    why: str = ""
    solves: int = 0


def decide(
    layers: Layers,
    lo: np.ndarray,
    hi: np.ndarray,
    low: np.ndarray,
    up: np.ndarray,
    polytopes: list[tuple[np.ndarray, np.ndarray]],
    *,
    time_limit: float = 10.0,
    confirm: Callable[[np.ndarray], Any] | None = None,
) -> Decision:
    """Decide a case on the box ``[lo, hi]`` (pre-activation bounds ``low``/``up`` valid on
    it) against the unsafe polytopes ``A y <= b`` exactly: per polytope the LP (its safe
    bound may refute alone), then the MILP ``min t`` s.t. ``A y - b <= t`` (see the module
    docstring). ``confirm(x)``, when given, is called on every candidate point and a truthy
    answer ends the search with ``candidate``; ``refuted`` needs every polytope's bound
    above 0 (LP, rigorous) or above the margin (MILP)."""
    t_end = time.monotonic() + time_limit
    points: list[np.ndarray] = []
    solves = 0
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    polys = [(np.asarray(A, dtype=np.float64), np.asarray(b, dtype=np.float64))
             for A, b in polytopes]
    lp = Encoding(layers, lo, hi, low, up, integer=False, time_limit=time_limit,
                  polytopes=polys)
    milp: Encoding | None = None
    assert lp.outputs is not None
    y_mag = float(np.maximum(np.abs(lp.col_lo[lp.outputs]),
                             np.abs(lp.col_hi[lp.outputs])).max(initial=0.0))
    open_why: list[str] = []

    def offer(x: np.ndarray) -> bool:
        points.append(x)
        return confirm is not None and confirm(x) is not None

    for p, (A, b) in enumerate(polys):
        size = 1 + float(np.abs(b).max(initial=0.0)) + float(
            np.abs(A).sum(axis=1).max(initial=0.0)) * y_mag
        margin = MILP_REL_MARGIN * size
        c = np.zeros(lp.n_cols)
        c[lp.t[p]] = 1.0
        res = lp.solve(c, time_limit=max(0.01, t_end - time.monotonic()))
        solves += 1
        if res.point is not None and offer(res.point[lp.x]):
            return Decision("candidate", points, f"LP point, polytope {p}", solves)
        if res.bound > DECIDE_LP_REL_MARGIN * size:  # a rigorous (safe dual) bound
            continue
        if lp.n_unstable == 0:
            open_why.append(f"polytope {p}: LP minimum {res.value:.3g}, bound {res.bound:.3g}")
            continue
        left = t_end - time.monotonic()
        if left <= 0.01:
            return Decision("unknown", points, "time limit", solves)
        if milp is None:
            milp = Encoding(layers, lo, hi, low, up, integer=True, time_limit=left,
                            polytopes=polys)
        c = np.zeros(milp.n_cols)
        c[milp.t[p]] = 1.0

        def stop(dual: float, primal: float, m: float = margin) -> bool:
            return dual > m or primal < -m

        res = milp.solve(c, time_limit=max(0.01, t_end - time.monotonic()), interrupt=stop)
        solves += 1
        if res.point is not None and res.value <= margin and offer(res.point[milp.x]):
            return Decision("candidate", points, f"MILP point, polytope {p}", solves)
        if res.bound > margin:
            continue
        open_why.append(f"polytope {p}: MILP {res.status}, bound {res.bound:.3g}, "
                        f"best {res.value:.3g}")
    if not open_why:
        return Decision("refuted", points, "every polytope's minimum violation > 0", solves)
    return Decision("unknown", points, "; ".join(open_why), solves)
