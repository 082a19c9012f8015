"""Exact decisions on fully split subdomains (every ReLU fixed), by linear programming.

When every hidden neuron of a subdomain is stable (split, or stable on the whole box), the
network is affine on it: ``y = M x + c``, and the subdomain is the polytope ``{x in box :
g_i(x) = -sign_i z_i(x) <= 0}``. Minimising a row of ``C y`` over it is a linear program;
its optimal multipliers of the split constraints are exactly the beta-CROWN multipliers that
make the Lagrangian bound tight (LP duality), where projected gradient may need many steps.

The LP (SciPy's HiGHS, which scikit-learn already brings) is *not* trusted: its multipliers
are handed back to :func:`relu_bounds.subdomain_lower`, whose bound is sound for any
multipliers ``>= 0``, so the refutation carries the usual float64 margin; its minimiser is
only a candidate counterexample that the caller replays. When the polytope is empty, the
phase-one LP ``min s`` s.t. ``g_i(x) <= s`` gives multipliers ``mu`` (summing to 1) with
``sum mu_i g_i(x) >= s* > 0`` on the box; scaled up they make the Lagrangian bound exceed
any threshold, again checked by the sound bound.
"""

from __future__ import annotations

import numpy as np
import torch

from autospec_cli.verify.backends.bab.crown import Layers


def _affine_pieces(
    layers: Layers, sign: np.ndarray, low: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """On a fully split subdomain: ``(G, h, idx, My, cy)`` with the split constraints
    ``G x <= h`` (one row per split neuron ``idx``) and the output ``y = My x + cy``."""
    d = layers[0][0].shape[1]
    M, c = np.eye(d), np.zeros(d)
    G, h, idx = [], [], []
    at = 0
    for W_t, b_t in layers[:-1]:
        W, b = W_t.numpy(), b_t.numpy()
        n = W.shape[0]
        Mz, cz = W @ M, W @ c + b
        s = sign[at : at + n].astype(np.float64)
        split = np.nonzero(s)[0]
        G.append(-s[split, None] * Mz[split])
        h.append(s[split] * cz[split])
        idx.append(split + at)
        active = (low[at : at + n] >= 0).astype(np.float64)
        M, c = Mz * active[:, None], cz * active
        at += n
    WL, bL = layers[-1][0].numpy(), layers[-1][1].numpy()
    return (
        np.concatenate(G) if G else np.zeros((0, d)),
        np.concatenate(h) if h else np.zeros(0),
        np.concatenate(idx) if idx else np.zeros(0, dtype=int),
        WL @ M,
        WL @ c + bL,
    )


def leaf_multipliers(
    layers: Layers,
    lo: np.ndarray,
    hi: np.ndarray,
    C: np.ndarray,
    b: np.ndarray,
    sign: np.ndarray,
    low: np.ndarray,
) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """Split multipliers ``beta`` (m, H) that make the bound of each row of ``C y`` tight on
    one fully split subdomain, and LP minimisers (candidate counterexamples); ``(None, [])``
    when the LP solver is missing or fails. ``sign``/``low``: the subdomain's (H,) splits and
    pre-activation lower bounds."""
    try:
        from scipy.optimize import linprog
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        return None, []
    G, h, idx, My, cy = _affine_pieces(layers, sign, low)
    bounds = list(zip(lo.tolist(), hi.tolist(), strict=True))
    m, H = C.shape[0], sign.shape[0]
    beta = np.zeros((m, H))
    points: list[np.ndarray] = []
    for r in range(m):
        res = linprog(C[r] @ My, A_ub=G, b_ub=h, bounds=bounds, method="highs")
        if res.status == 0:
            beta[r, idx] = np.maximum(-np.asarray(res.ineqlin.marginals), 0.0)
            points.append(np.asarray(res.x))
        elif res.status == 2:  # empty subdomain: phase one
            mu = _emptiness_multipliers(G, h, bounds, C[r] @ My, float(C[r] @ cy - b[r]), lo, hi)
            if mu is None:
                return None, points
            beta[r, idx] = mu
        else:
            return None, points
    return beta, points


def _emptiness_multipliers(
    G: np.ndarray,
    h: np.ndarray,
    bounds: list[tuple[float, float]],
    obj: np.ndarray,
    offset: float,
    lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray | None:
    """Multipliers certifying ``{x in box: G x <= h}`` empty, scaled so the Lagrangian bound of
    ``obj x + offset`` clears 0 by a wide margin (or None)."""
    from scipy.optimize import linprog

    n, d = G.shape
    if n == 0:
        return None
    A = np.hstack([G, -np.ones((n, 1))])  # G x - s <= h
    cost = np.zeros(d + 1)
    cost[-1] = 1.0
    res = linprog(cost, A_ub=A, b_ub=h, bounds=[*bounds, (None, None)], method="highs")
    if res.status != 0 or res.fun <= 0:
        return None
    mu = np.maximum(-np.asarray(res.ineqlin.marginals), 0.0)
    # the objective over the box is at least -spread; the Lagrangian gains >= K * s*
    centre, radius = (hi + lo) / 2, (hi - lo) / 2
    spread = abs(offset) + abs(obj @ centre) + np.abs(obj) @ radius
    K = 10.0 * (1.0 + spread) / float(res.fun)
    return K * mu


def as_tensor(beta: np.ndarray) -> torch.Tensor:
    """``beta`` as a (1, m, H) float64 tensor for :func:`relu_bounds.subdomain_lower`."""
    return torch.as_tensor(beta, dtype=torch.float64)[None]
