"""Specification metrics (AutoSpec §3): TP / FP / FN, precision, recall and F1 of a spec set.

A spec set is scored on the *evaluation* fold ``(X, y)``, points it was not mined from.
The paper's full text was not available to us; its published summaries say that TP are
points that satisfy a specification, FP points that fall in a specification but violate it,
FN points covered by no specification, with extra rules for overlapping specifications and
unbounded output ranges. We implement that reading, precisely:

**Output-range filter** (before scoring). A regression spec whose output range is wider than
a share ``alpha`` of the target's range is too loose to be a specification and is dropped:
kept iff ``y_hi - y_lo <= alpha * (Ymax - Ymin)``. The width is the raw width (an unbounded
side makes it infinite, so it is dropped for any finite ``alpha``; ``alpha = inf`` keeps
everything). ``Ymin, Ymax`` come from ``y_range``, by default the evaluation targets' range;
the CLI passes the range of generation + evaluation data when given a split folder. Hence
``alpha = 0`` keeps only zero-width ranges, and ``alpha >= 1`` keeps every spec whose range
lies within ``[Ymin, Ymax]`` (every Algorithm 1 range ``mean ± std`` of targets in that
interval). Classification specs are kept iff they carry a label (the paper requires one
output label per spec; a spec without a label is dropped), and a regression spec without
``y_lo``/``y_hi`` is dropped.

**Per point** (``lo <= x <= hi``, closed boxes, as :meth:`Spec.contains`):

- covered by at least one kept spec and ``y`` satisfies *all* covering specs: **TP**
  (classification: ``y == label``; regression: ``y_lo <= y <= y_hi``);
- covered, but violates at least one covering spec: **FP** (the overlap rule: a point in two
  specs that satisfies only one is an FP);
- covered by no kept spec: **FN**.

``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)``, ``F1 = 2PR / (P + R)``. Zero
denominators give 0: precision is 0 when no point is covered, recall 0 when there is no
point (or every point is an FP), F1 0 when precision + recall is 0. ``coverage`` (covered
points / all points) is reported beside recall. Per-spec counts: points inside each spec
(``spec_covered``) and, of those, points satisfying it (``spec_satisfied``); 0 for dropped
specs. TN is not defined for specifications and not reported.

:func:`evaluate_specs` finds the (spec, point) incidences through a sorted index
(:mod:`autospec_cli.specs.boxindex`) without a Python loop over points;
:func:`evaluate_specs_naive` is the obviously-correct reference (one numpy mask per spec).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autospec_cli.errors import ConfigError, InputError, SpecError
from autospec_cli.progress import ProgressFn
from autospec_cli.specs.boxindex import BLOCK_PAIRS, iter_incidences
from autospec_cli.specs.model import SpecSet


@dataclass
class SpecMetrics:
    """Scores of one spec set on one evaluation fold (see the module notes)."""

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    n_specs: int
    n_kept: int
    n_points: int
    covered: int
    coverage: float
    alpha: float
    y_range: tuple[float, float] | None = None
    kept: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool), repr=False)
    spec_covered: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    spec_satisfied: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    def to_json(self, ids: list[str] | None = None) -> dict[str, Any]:
        """A JSON-ready dict; with ``ids`` (spec ids) also the per-spec counts."""
        d: dict[str, Any] = {
            k: getattr(self, k)
            for k in ("tp", "fp", "fn", "precision", "recall", "f1", "n_specs", "n_kept",
                      "n_points", "covered", "coverage", "alpha")
        }
        d["y_range"] = None if self.y_range is None else list(self.y_range)
        if ids is not None:
            d["specs"] = [
                {"id": i, "kept": bool(k), "covered": int(c), "satisfied": int(s)}
                for i, k, c, s in zip(ids, self.kept, self.spec_covered, self.spec_satisfied,
                                      strict=True)
            ]
        return d


def evaluate_specs(
    specset: SpecSet,
    X: np.ndarray,
    y: np.ndarray,
    *,
    alpha: float = 0.1,
    y_range: tuple[float, float] | None = None,
    progress: ProgressFn | None = None,
    block_pairs: int = BLOCK_PAIRS,
) -> SpecMetrics:
    """Score ``specset`` on ``(X, y)`` with the output-range filter ``alpha`` (vectorised)."""
    X, y = check_eval_data(specset, X, y)
    kept, y_range = output_range_filter(specset, y, alpha=alpha, y_range=y_range)
    idx = np.flatnonzero(kept)
    LO, HI = specset.bounds()
    outputs = _outputs(specset, idx)
    m, n = len(specset), X.shape[0]
    covered = np.zeros(n, dtype=bool)
    violated = np.zeros(n, dtype=bool)
    n_cov = np.zeros(idx.size, dtype=np.int64)
    n_sat = np.zeros(idx.size, dtype=np.int64)
    for s, p in iter_incidences(X, LO[idx], HI[idx], block_pairs=block_pairs, progress=progress):
        sat = _satisfied(specset.task, outputs, s, y[p])
        covered[p] = True
        violated[p[~sat]] = True
        n_cov += np.bincount(s, minlength=idx.size)
        n_sat += np.bincount(s[sat], minlength=idx.size)
    return _finish(covered, violated, kept, idx, n_cov, n_sat, m, alpha, y_range)


def evaluate_specs_naive(
    specset: SpecSet,
    X: np.ndarray,
    y: np.ndarray,
    *,
    alpha: float = 0.1,
    y_range: tuple[float, float] | None = None,
) -> SpecMetrics:
    """The reference: one full ``lo <= X <= hi`` mask per spec (``O(n m d)``; for tests)."""
    X, y = check_eval_data(specset, X, y)
    kept, y_range = output_range_filter(specset, y, alpha=alpha, y_range=y_range)
    idx = np.flatnonzero(kept)
    n = X.shape[0]
    covered = np.zeros(n, dtype=bool)
    violated = np.zeros(n, dtype=bool)
    n_cov = np.zeros(idx.size, dtype=np.int64)
    n_sat = np.zeros(idx.size, dtype=np.int64)
    for i, si in enumerate(idx):
        spec = specset.specs[si]
        inside = np.all((X >= spec.lo) & (X <= spec.hi), axis=1)
        if spec.label is not None and specset.task == "classification":
            ok = y == spec.label
        else:
            ok = (y >= spec.y_lo) & (y <= spec.y_hi)
        covered |= inside
        violated |= inside & ~ok
        n_cov[i] = np.count_nonzero(inside)
        n_sat[i] = np.count_nonzero(inside & ok)
    return _finish(covered, violated, kept, idx, n_cov, n_sat, len(specset), alpha, y_range)


def output_range_filter(
    specset: SpecSet,
    y: np.ndarray,
    *,
    alpha: float = 0.1,
    y_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Which specs are kept (bool (m,)), and the ``(Ymin, Ymax)`` used (None: classification)."""
    alpha = check_alpha(alpha)
    m = len(specset)
    if specset.task == "classification":
        return np.array([s.label is not None for s in specset.specs], dtype=bool), None
    if y_range is None:
        if y.size == 0:
            raise InputError("no evaluation points: cannot take the target range; pass y_range")
        y_range = (float(np.min(y)), float(np.max(y)))
    lo_y, hi_y = float(y_range[0]), float(y_range[1])
    if not (math.isfinite(lo_y) and math.isfinite(hi_y) and lo_y <= hi_y):
        raise ConfigError(f"target range must be finite with min <= max, got {y_range}")
    limit = math.inf if math.isinf(alpha) else alpha * (hi_y - lo_y)
    kept = np.zeros(m, dtype=bool)
    for i, s in enumerate(specset.specs):
        if s.y_lo is None or s.y_hi is None or math.isnan(s.y_lo) or math.isnan(s.y_hi):
            continue
        kept[i] = (s.y_hi - s.y_lo) <= limit or math.isinf(limit)
    return kept, (lo_y, hi_y)


def check_alpha(alpha: float) -> float:
    """``alpha`` must be a number >= 0 (``inf`` disables the filter)."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ConfigError(f"alpha must be a number >= 0, got {alpha!r}") from None
    if math.isnan(a) or a < 0:
        raise ConfigError(f"alpha must be a number >= 0, got {alpha!r}")
    return a


def check_eval_data(specset: SpecSet, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Evaluation data as float64 ``X`` (n, d) matching the specs, and ``y`` (n,)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2:
        raise InputError(f"evaluation features must be a 2-D table, got shape {X.shape}")
    if X.shape[1] != specset.d:
        raise SpecError(
            f"the specifications have {specset.d} features but the evaluation data has "
            f"{X.shape[1]}; evaluate on data with the features the specs were mined from"
        )
    if y.shape != (X.shape[0],):
        raise InputError(f"{X.shape[0]} evaluation points but targets of shape {y.shape}")
    if np.isnan(X).any():
        raise InputError("evaluation features hold NaN; drop or impute them (nan_policy)",
                         param="nan_policy")
    if specset.task == "classification":
        if y.size and (y.dtype.kind not in "iub" and not np.all(y == np.round(y))):
            raise InputError("classification targets must be integer class indices")
        y = y.astype(np.int64)
        _check_labels(specset, y)
        return X, y
    y = y.astype(np.float64)
    if np.isnan(y).any():
        raise InputError("regression targets hold NaN; drop those rows first")
    return X, y


def _check_labels(specset: SpecSet, y: np.ndarray) -> None:
    """Class indices must name classes of the spec set (``0 .. len(classes) - 1``); a label
    outside them would count silently as a false positive of every spec it falls in. Without
    class names only negative labels are refused."""
    if not y.size:
        return
    n = len(specset.classes) if specset.classes else None
    bad = y[(y < 0) | (y >= n)] if n is not None else y[y < 0]
    if bad.size:
        names = [str(c) for c in (specset.classes or [])[:6]]
        more = ", ..." if n is not None and n > 6 else ""
        allowed = (f"0..{n - 1} ({n} classes: {', '.join(names)}{more})" if n is not None
                   else "non-negative class indices")
        raise SpecError(
            f"evaluation label {int(bad[0])} is not a class of the specifications "
            f"({bad.size} row(s) hold labels outside them); expected {allowed}")


def _outputs(specset: SpecSet, idx: np.ndarray) -> np.ndarray:
    """Labels (k,) or ranges (k, 2) of the kept specs ``idx``."""
    specs = [specset.specs[i] for i in idx]
    if specset.task == "classification":
        return np.array([s.label for s in specs], dtype=np.int64)
    return np.array([[s.y_lo, s.y_hi] for s in specs], dtype=np.float64).reshape(-1, 2)


def _satisfied(task: str, outputs: np.ndarray, s: np.ndarray, ys: np.ndarray) -> np.ndarray:
    if task == "classification":
        return ys == outputs[s]
    return (ys >= outputs[s, 0]) & (ys <= outputs[s, 1])


def _finish(
    covered: np.ndarray,
    violated: np.ndarray,
    kept: np.ndarray,
    idx: np.ndarray,
    n_cov: np.ndarray,
    n_sat: np.ndarray,
    m: int,
    alpha: float,
    y_range: tuple[float, float] | None,
) -> SpecMetrics:
    n = covered.size
    n_covered = int(np.count_nonzero(covered))
    fp = int(np.count_nonzero(covered & violated))
    tp, fn = n_covered - fp, n - n_covered
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * precision * recall, precision + recall)
    spec_cov = np.zeros(m, dtype=np.int64)
    spec_sat = np.zeros(m, dtype=np.int64)
    spec_cov[idx], spec_sat[idx] = n_cov, n_sat
    return SpecMetrics(
        tp=tp, fp=fp, fn=fn, precision=precision, recall=recall, f1=f1, n_specs=m,
        n_kept=int(idx.size), n_points=n, covered=n_covered, coverage=_ratio(n_covered, n),
        alpha=float(alpha), y_range=y_range, kept=kept, spec_covered=spec_cov,
        spec_satisfied=spec_sat,
    )


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0
