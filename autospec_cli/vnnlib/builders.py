"""Build counterexample-region properties from specifications.

Every builder returns a :class:`~autospec_cli.vnnlib.property.Property` describing where the
specification is *violated* (VNN-LIB semantics: ``sat`` = a counterexample exists):

* classification with label ``c``: ``or_{j != c} (Y_j >= Y_c)``, one single-row polytope
  ``Y_c - Y_j <= 0`` per other class (a tie counts as a violation);
* regression with range ``[ymin, ymax]``: ``(Y_0 <= ymin) or (Y_0 >= ymax)``. VNN-LIB has no
  strict inequality, so the boundary itself counts as a violation; an infinite end drops its
  disjunct;
* robustness: the L-inf ball of radius ``eps`` around ``x0`` intersected with the domain,
  with the label fixed.

Every input box written to a file must be finite; :func:`spec_to_property` closes unbounded
sides of a spec with a domain (the generation data's min/max or a user domain) and says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from autospec_cli.errors import VnnlibError
from autospec_cli.specs.model import Spec
from autospec_cli.vnnlib.property import Case, Polytope, Property

ArrayLike = np.ndarray | Sequence[float] | float


def _box(lo: ArrayLike, hi: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    lo_a = np.asarray(lo, dtype=np.float64).reshape(-1)
    hi_a = np.asarray(hi, dtype=np.float64).reshape(-1)
    if lo_a.shape != hi_a.shape:
        raise VnnlibError(f"input box bounds have different lengths ({lo_a.size} and {hi_a.size})")
    bad = np.flatnonzero(~(lo_a <= hi_a))
    if bad.size:
        i = int(bad[0])
        raise VnnlibError(
            f"input box is empty at X_{i}: lower bound {lo_a[i]!r} > upper bound {hi_a[i]!r}"
        )
    return lo_a, hi_a


def classification_disjuncts(label: int, n_outputs: int) -> list[Polytope]:
    """Unsafe polytopes ``Y_c - Y_j <= 0`` for every ``j != label``."""
    if n_outputs < 2:
        raise VnnlibError(
            f"a classification property needs a model with at least 2 outputs (it has {n_outputs})"
        )
    if not 0 <= int(label) < n_outputs:
        raise VnnlibError(f"label {label} is out of range for a model with {n_outputs} outputs")
    out = []
    for j in range(n_outputs):
        if j == label:
            continue
        row = np.zeros((1, n_outputs))
        row[0, label] = 1.0
        row[0, j] = -1.0
        out.append(Polytope(row, np.zeros(1)))
    return out


def classification_property(lo: ArrayLike, hi: ArrayLike, label: int, n_outputs: int) -> Property:
    """Counterexample region of "every x in [lo, hi] is classified as ``label``"."""
    lo_a, hi_a = _box(lo, hi)
    case = Case(lo_a, hi_a, classification_disjuncts(int(label), n_outputs))
    return Property([case], n_inputs=lo_a.size, n_outputs=n_outputs,
                    meta={"kind": "classification", "label": int(label)})


def regression_disjuncts(
    y_lo: float, y_hi: float, n_outputs: int = 1, output: int = 0
) -> list[Polytope]:
    """Unsafe polytopes ``Y_k <= y_lo`` and ``Y_k >= y_hi`` (infinite ends dropped)."""
    if not 0 <= output < n_outputs:
        raise VnnlibError(f"output {output} is out of range for a model with {n_outputs} outputs")
    if np.isnan(y_lo) or np.isnan(y_hi) or y_lo > y_hi:
        raise VnnlibError(f"invalid output range [{y_lo!r}, {y_hi!r}]")
    out = []
    if np.isfinite(y_lo):
        row = np.zeros((1, n_outputs))
        row[0, output] = 1.0
        out.append(Polytope(row, np.array([float(y_lo)])))
    if np.isfinite(y_hi):
        row = np.zeros((1, n_outputs))
        row[0, output] = -1.0
        out.append(Polytope(row, np.array([-float(y_hi)])))
    if not out:
        raise VnnlibError("an output range unbounded on both sides can never be violated")
    return out


def regression_property(
    lo: ArrayLike, hi: ArrayLike, y_lo: float, y_hi: float, *, n_outputs: int = 1, output: int = 0
) -> Property:
    """Counterexample region of "every x in [lo, hi] gives ``y_lo < Y_output < y_hi``"."""
    lo_a, hi_a = _box(lo, hi)
    case = Case(lo_a, hi_a, regression_disjuncts(float(y_lo), float(y_hi), n_outputs, output))
    return Property([case], n_inputs=lo_a.size, n_outputs=n_outputs,
                    meta={"kind": "regression", "y_lo": float(y_lo), "y_hi": float(y_hi)})


def robustness_property(
    x0: ArrayLike,
    eps: float,
    label: int,
    n_outputs: int,
    domain_lo: ArrayLike | None = None,
    domain_hi: ArrayLike | None = None,
) -> Property:
    """Local robustness: every x with ``|x - x0|_inf <= eps`` in the domain keeps ``label``."""
    x = np.asarray(x0, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(x)) or not np.isfinite(eps) or eps < 0:
        raise VnnlibError("robustness needs a finite centre and a finite radius eps >= 0")
    lo = x - eps
    hi = x + eps
    if domain_lo is not None:
        lo = np.maximum(lo, np.broadcast_to(np.asarray(domain_lo, dtype=np.float64), x.shape))
    if domain_hi is not None:
        hi = np.minimum(hi, np.broadcast_to(np.asarray(domain_hi, dtype=np.float64), x.shape))
    if np.any(lo > hi):
        raise VnnlibError("the robustness ball does not intersect the domain (x0 lies outside it)")
    prop = classification_property(lo, hi, label, n_outputs)
    prop.meta.update(kind="robustness", eps=float(eps))
    return prop


def close_box(
    lo: np.ndarray,
    hi: np.ndarray,
    domain: tuple[ArrayLike, ArrayLike] | None,
    *,
    what: str = "specification",
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Replace infinite box sides with the domain's; return the box and the closed features."""
    lo = np.asarray(lo, dtype=np.float64).reshape(-1).copy()
    hi = np.asarray(hi, dtype=np.float64).reshape(-1).copy()
    open_lo = ~np.isfinite(lo)
    open_hi = ~np.isfinite(hi)
    closed = sorted(set(np.flatnonzero(open_lo | open_hi).tolist()))
    if not closed:
        return lo, hi, []
    if domain is None:
        raise VnnlibError(
            f"{what} is unbounded at feature {closed[0]} and no input domain is known; "
            "give an input domain (or a spec set that records one)",
            param="domain",
        )
    d_lo = np.broadcast_to(np.asarray(domain[0], dtype=np.float64), lo.shape)
    d_hi = np.broadcast_to(np.asarray(domain[1], dtype=np.float64), hi.shape)
    lo[open_lo] = d_lo[open_lo]
    hi[open_hi] = d_hi[open_hi]
    still = np.flatnonzero(~(np.isfinite(lo) & np.isfinite(hi)))
    if still.size:
        raise VnnlibError(f"{what} is unbounded at feature {int(still[0])} and the domain is too")
    empty = np.flatnonzero(lo > hi)
    if empty.size:
        i = int(empty[0])
        raise VnnlibError(
            f"{what} lies outside the domain at feature {i} (closed box [{lo[i]!r}, {hi[i]!r}])"
        )
    return lo, hi, closed


def spec_to_property(
    spec: Spec, n_outputs: int, domain: tuple[ArrayLike, ArrayLike] | None = None
) -> tuple[Property, bool]:
    """The counterexample region of one spec, and whether its box was closed with ``domain``.

    Classification specs need ``label < n_outputs``; regression specs constrain ``Y_0`` and
    need a single-output model.
    """
    what = f"specification {spec.id!r}"
    lo, hi, closed = close_box(spec.lo, spec.hi, domain, what=what)
    try:
        if spec.is_classification:
            prop = classification_property(lo, hi, int(spec.label), n_outputs)  # type: ignore[arg-type]
        else:
            if n_outputs != 1:
                raise VnnlibError(
                    f"regression needs a single-output model (this one has {n_outputs} outputs)"
                )
            y_lo = -np.inf if spec.y_lo is None else spec.y_lo
            y_hi = np.inf if spec.y_hi is None else spec.y_hi
            prop = regression_property(lo, hi, y_lo, y_hi, n_outputs=n_outputs)
    except VnnlibError as e:
        raise VnnlibError(f"{what}: {e}") from None
    prop.meta.update(spec_id=spec.id, closed=bool(closed), closed_features=closed)
    return prop, bool(closed)
