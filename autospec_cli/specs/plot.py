"""Specifications drawn over data in two dimensions (like AutoSpec Figures 2-4).

Each spec's box is drawn as an unfilled rectangle over the points: for classification the
edge takes the colour of the spec's label and the points the colour of their class; for
regression points and edges share one colour scale of the target (an edge at the midpoint
of the spec's range ``[y_lo, y_hi]``, an unbounded side replaced by the data's target
bound). Unbounded box sides (±inf) are clipped to the plot limits, which are the data's
range on the two features plus a 5 % margin (measured on the axis as drawn, so a log axis
gets a margin of 5 % of its decades); a box entirely outside them is not drawn.
``max_specs`` draws the specs with the largest support first; ``max_points`` draws a fixed
random sample of the points (the limits use all of them).

Which two features (data with more than two): ``features_xy`` picks them; without it the
plot shows the two features the drawn specs constrain most (:func:`constraint_scores`): on
each feature's axis, as it will be drawn, every drawn spec's interval (clipped to the data's
range) covers a fraction of the data's range; a feature's score is the mean over the drawn
specs of one minus that fraction, and the two highest scores win (ties: the lower index). A feature
no spec bounds, or a constant one, scores 0, so the choice falls on features whose boxes are
narrow next to the spread of the data -- the ones where the rectangles say something.

Axis scales (``scale``, one for both axes): ``linear``, ``log`` (every value must be
positive), ``symlog`` (linear within ``±linthresh`` of 0, logarithmic beyond; ``linthresh``
is the 5 % quantile of the feature's non-zero magnitudes rounded down to a power of ten), or
``auto`` (the default, :func:`auto_scale`): a feature is heavy-tailed when at least half of
its points lie in the lowest 1 % of its range (median - min <= 0.01 x (max - min)), which on
a linear axis squashes them onto the axis, and its largest magnitude is at least 100 times
the 5 % quantile of its non-zero magnitudes (so 0/1 flags and small counts stay linear);
such a feature gets ``log`` when all its values are positive and ``symlog`` otherwise; every
other feature stays ``linear``. Flow features
(byte counts, inter-arrival times, rates) are typically heavy-tailed; the spiral and the
throughput windows are not.

Rendering uses matplotlib's Agg canvas (no display, no pyplot state) and the PNG is written
atomically.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from autospec_cli.errors import ConfigError, SpecError
from autospec_cli.io import atomic_path, check_writable
from autospec_cli.specs.model import SpecSet

MARGIN = 0.05
#: What ``scale`` accepts.
SCALES = ("auto", "linear", "log", "symlog")
#: ``auto``: a feature is heavy-tailed when its median lies in this fraction of its range.
SQUASH = 0.01
#: ``auto``: and its magnitudes span this many powers of ten (from the 5 % quantile of the
#: non-zero magnitudes to the largest), so 0/1 flags and small counts stay linear.
DECADES = 2
#: ``symlog``: the quantile of the non-zero magnitudes that sets ``linthresh``.
LINTHRESH_QUANTILE = 0.05


@dataclass(frozen=True)
class AxisScale:
    """How one axis is drawn: ``kind`` linear, log or symlog (``linthresh`` for symlog)."""

    kind: str
    linthresh: float = 1.0

    def transform(self, v: np.ndarray) -> np.ndarray:
        """Values as positions along the axis (the scale's own coordinate, as matplotlib's)."""
        v = np.asarray(v, dtype=np.float64)
        if self.kind == "log":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log10(v)
        if self.kind == "symlog":  # matplotlib's symlog with base 10 and linscale 1
            c, adj = self.linthresh, 1.0 / (1.0 - 1.0 / 10.0)
            a = np.abs(v)
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.sign(v) * c * (adj + np.log10(a / c))
            return np.where(a <= c, v * adj, out)
        return v

    def inverse(self, t: np.ndarray) -> np.ndarray:
        """Positions along the axis back to values."""
        t = np.asarray(t, dtype=np.float64)
        if self.kind == "log":
            return np.power(10.0, t)
        if self.kind == "symlog":
            c, adj = self.linthresh, 1.0 / (1.0 - 1.0 / 10.0)
            inside = np.abs(t) <= c * adj
            with np.errstate(over="ignore"):
                out = np.sign(t) * c * np.power(10.0, np.abs(t) / c - adj)
            return np.where(inside, t / adj, out)
        return t

    def apply(self, ax: Any, which: str) -> None:
        """Set this scale on ``ax``'s ``which`` axis (``"x"`` or ``"y"``)."""
        setter = ax.set_xscale if which == "x" else ax.set_yscale
        if self.kind == "symlog":
            setter("symlog", linthresh=self.linthresh)
        else:
            setter(self.kind)

    def describe(self) -> str:
        return f"symlog (linthresh {self.linthresh:g})" if self.kind == "symlog" else self.kind


def _finite(col: np.ndarray) -> np.ndarray:
    col = np.asarray(col, dtype=np.float64)
    return col[np.isfinite(col)]


def _linthresh(col: np.ndarray) -> float:
    mags = np.abs(col[col != 0])
    if mags.size == 0:
        return 1.0
    q = float(np.quantile(mags, LINTHRESH_QUANTILE))
    return float(10.0 ** math.floor(math.log10(q)))


def heavy_tailed(col: np.ndarray) -> bool:
    """Whether half the points lie in the lowest 1 % of the range (``SQUASH``) and the
    magnitudes span at least ``DECADES`` powers of ten (module doc)."""
    col = _finite(col)
    if col.size == 0:
        return False
    lo, hi = float(col.min()), float(col.max())
    if not (hi > lo and float(np.median(col)) - lo <= SQUASH * (hi - lo)):
        return False
    mags = np.abs(col[col != 0])
    small = float(np.quantile(mags, LINTHRESH_QUANTILE))
    return float(mags.max()) >= 10.0 ** DECADES * small


def auto_scale(col: np.ndarray) -> AxisScale:
    """The ``auto`` rule of the module doc for one feature's values."""
    col = _finite(col)
    if not heavy_tailed(col):
        return AxisScale("linear")
    if float(col.min()) > 0:
        return AxisScale("log")
    return AxisScale("symlog", _linthresh(col))


def axis_scale(col: np.ndarray, requested: str, name: str = "the feature") -> AxisScale:
    """The scale of a feature's axis for ``requested`` (one of :data:`SCALES`)."""
    if requested not in SCALES:
        raise ConfigError(f"scale must be one of {', '.join(SCALES)}, got {requested!r}",
                          param="scale")
    col = _finite(col)
    if requested == "auto":
        return auto_scale(col)
    if requested == "log" and col.size and float(col.min()) <= 0:
        raise ConfigError(f"a log scale needs positive values but {name} has values down to "
                          f"{float(col.min()):g}; use symlog", param="scale")
    if requested == "symlog":
        return AxisScale("symlog", _linthresh(col))
    return AxisScale(requested)


def axis_limits(col: np.ndarray, scale: AxisScale) -> tuple[float, float]:
    """The data's range on the axis plus a 5 % margin, measured along the drawn axis."""
    col = _finite(col)
    if scale.kind == "log":
        col = col[col > 0]
    if col.size == 0:
        return (1.0, 10.0) if scale.kind == "log" else (0.0, 1.0)
    t = scale.transform(np.array([col.min(), col.max()]))
    lo, hi = float(t[0]), float(t[1])
    pad = (hi - lo) * MARGIN if hi > lo else 0.5
    a, b = scale.inverse(np.array([lo - pad, hi + pad]))
    return float(a), float(b)


def constraint_scores(specset: SpecSet, chosen: np.ndarray, X: np.ndarray,
                      scales: list[AxisScale]) -> np.ndarray:
    """Per feature, the mean over the ``chosen`` specs of 1 - the fraction of the data's
    range, measured along the drawn axis, that their interval covers (module doc). A constant
    feature scores 0; a box that misses the data's range counts as covering all of it."""
    d = X.shape[1]
    scores = np.zeros(d)
    if chosen.size == 0:
        return scores
    lo = np.array([specset.specs[i].lo for i in chosen], dtype=np.float64)
    hi = np.array([specset.specs[i].hi for i in chosen], dtype=np.float64)
    for j, sc in enumerate(scales):
        col = _finite(X[:, j])
        if sc.kind == "log":
            col = col[col > 0]
        if col.size == 0:
            continue
        a, b = float(col.min()), float(col.max())
        ta, tb = (float(v) for v in sc.transform(np.array([a, b])))
        if not tb > ta:
            continue
        lj, hj = np.clip(lo[:, j], a, b), np.clip(hi[:, j], a, b)
        frac = (sc.transform(hj) - sc.transform(lj)) / (tb - ta)
        frac = np.where((lo[:, j] > b) | (hi[:, j] < a) | ~np.isfinite(frac), 1.0, frac)
        scores[j] = float(np.mean(1.0 - np.clip(frac, 0.0, 1.0)))
    return scores


def choose_features(specset: SpecSet, X: np.ndarray, chosen: np.ndarray,
                    scale: str = "auto") -> tuple[tuple[int, int], np.ndarray]:
    """The two features the ``chosen`` specs constrain most, drawn with ``scale``; also every
    feature's score (-inf where ``scale="log"`` cannot draw the feature)."""
    d = X.shape[1]
    names = specset.features
    scales: list[AxisScale] = []
    usable = np.ones(d, dtype=bool)
    for j in range(d):
        try:
            scales.append(axis_scale(X[:, j], scale, names[j]))
        except ConfigError:
            if scale != "log":
                raise
            scales.append(AxisScale("linear"))
            usable[j] = False
    if int(usable.sum()) < 2:
        raise ConfigError(f"a log scale needs positive values, and only {int(usable.sum())} "
                          "of the features have only positive values; use symlog",
                          param="scale")
    scores = np.where(usable, constraint_scores(specset, chosen, X, scales), -np.inf)
    best = np.argsort(-scores, kind="stable")[:2]
    return (int(best[0]), int(best[1])), scores


def plot_specs_2d(
    specset: SpecSet,
    X: np.ndarray,
    y: np.ndarray,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    max_specs: int | None = None,
    features_xy: tuple[int, int] | None = None,
    classes: list[str] | None = None,
    max_points: int = 20_000,
    scale: str = "auto",
    force: bool = False,
) -> dict[str, Any]:
    """Draw the specs' rectangles over the points ``(X, y)`` into the PNG ``path``.

    Returns what was drawn: ``path``, ``specs_drawn``, ``specs_total``, ``points_drawn``,
    ``points_total``, ``features`` (the two feature names), ``chosen`` (``"given"`` or
    ``"most constrained"``), ``scales`` (per axis: linear, log or symlog) and ``linthresh``
    (per axis, symlog only, else None).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    _check_data(specset, X)
    if scale not in SCALES:
        raise ConfigError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}",
                          param="scale")
    check_writable(path, force)
    if max_specs is not None and max_specs < 0:
        raise ConfigError(f"max_specs must be >= 0, got {max_specs}")
    chosen = _chosen_specs(specset, max_specs)
    how = "given"
    if features_xy is not None:
        fx, fy = _given_features(X, features_xy)
    elif X.shape[1] == 2:
        fx, fy = 0, 1
    else:
        (fx, fy), _ = choose_features(specset, X, chosen, scale)
        how = "most constrained"
    names = specset.features
    scales = [axis_scale(X[:, j], scale, names[j]) for j in (fx, fy)]
    limits = [axis_limits(X[:, j], sc) for j, sc in zip((fx, fy), scales, strict=True)]
    rng = np.random.default_rng(0)
    pts = np.arange(X.shape[0])
    if pts.size > max_points:
        pts = np.sort(rng.choice(pts.size, size=max_points, replace=False))
    fig, ax = _figure()
    scales[0].apply(ax, "x")
    scales[1].apply(ax, "y")
    color = _colorer(specset, y, classes or specset.classes)
    ax.scatter(X[pts, fx], X[pts, fy], c=color.points(y[pts]), s=6, alpha=0.5, linewidths=0)
    drawn = _draw_boxes(ax, specset, chosen, (fx, fy), limits, color)
    color.decorate(fig, ax)
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    ax.set_xlabel(_axis_label(names[fx], scales[0]))
    ax.set_ylabel(_axis_label(names[fy], scales[1]))
    ax.set_title(title if title is not None
                 else f"{specset.algorithm or 'specs'}: {drawn} of {len(specset)} specs")
    fig.tight_layout()
    with atomic_path(path, force=force) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    return {"path": str(path), "specs_drawn": drawn, "specs_total": len(specset),
            "points_drawn": int(pts.size), "points_total": int(X.shape[0]),
            "features": [names[fx], names[fy]], "chosen": how,
            "scales": [s.kind for s in scales],
            "linthresh": [s.linthresh if s.kind == "symlog" else None for s in scales]}


def _axis_label(name: str, scale: AxisScale) -> str:
    return name if scale.kind == "linear" else f"{name} ({scale.describe()})"


def _check_data(specset: SpecSet, X: np.ndarray) -> None:
    if X.ndim != 2 or X.shape[1] != specset.d:
        raise SpecError(
            f"the specifications have {specset.d} features but the data has "
            f"{X.shape[1] if X.ndim == 2 else X.shape}; plot on the data they were mined from"
        )
    if X.shape[0] == 0:
        raise ConfigError("no points to plot")
    if X.shape[1] < 2:
        raise ConfigError(f"the data has {X.shape[1]} feature; a 2-D plot needs at least 2")


def _given_features(X: np.ndarray, features_xy: tuple[int, int]) -> tuple[int, int]:
    fx, fy = (int(v) for v in features_xy)
    d = X.shape[1]
    if not (0 <= fx < d and 0 <= fy < d) or fx == fy:
        raise ConfigError(f"features_xy needs two different feature indices in 0..{d - 1}, "
                          f"got {fx},{fy}", param="features_xy")
    return fx, fy


def _chosen_specs(specset: SpecSet, max_specs: int | None) -> np.ndarray:
    support = np.array([s.support for s in specset.specs], dtype=np.int64)
    order = np.argsort(-support, kind="stable")
    return order if max_specs is None else order[:max_specs]


def _figure() -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.5, 6.0))
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _draw_boxes(
    ax: Any, specset: SpecSet, chosen: np.ndarray, xy: tuple[int, int],
    limits: list[tuple[float, float]], color: Any,
) -> int:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    rects, edges = [], []
    (x0, x1), (y0, y1) = limits
    for i in chosen:
        s = specset.specs[i]
        lx, hx = max(s.lo[xy[0]], x0), min(s.hi[xy[0]], x1)
        ly, hy = max(s.lo[xy[1]], y0), min(s.hi[xy[1]], y1)
        if lx > hx or ly > hy:
            continue
        rects.append(Rectangle((lx, ly), hx - lx, hy - ly))
        edges.append(color.spec(s))
    if rects:
        ax.add_collection(PatchCollection(rects, facecolors="none", edgecolors=edges,
                                          linewidths=1.2))
    return len(rects)


def _colorer(specset: SpecSet, y: np.ndarray, classes: list[str] | None) -> Any:
    if specset.task == "classification":
        return _ClassColors(y, classes)
    return _RangeColors(y)


class _ClassColors:
    """One qualitative colour per class, shared by points and spec edges."""

    def __init__(self, y: np.ndarray, classes: list[str] | None) -> None:
        from matplotlib import colormaps

        self.cmap = colormaps["tab10" if self._count(y, classes) <= 10 else "tab20"]
        self.classes = classes
        self.seen = sorted({int(v) for v in np.unique(y)})

    @staticmethod
    def _count(y: np.ndarray, classes: list[str] | None) -> int:
        return len(classes) if classes else (int(y.max()) + 1 if y.size else 1)

    def _of(self, label: int) -> Any:
        return self.cmap(int(label) % self.cmap.N)

    def points(self, y: np.ndarray) -> Any:
        return self.cmap(y.astype(np.int64) % self.cmap.N)

    def spec(self, s: Any) -> Any:
        return self._of(s.label) if s.label is not None else "0.5"

    def decorate(self, fig: Any, ax: Any) -> None:
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], marker="s", linestyle="", color=self._of(c),
                   label=self.classes[c] if self.classes and c < len(self.classes) else str(c))
            for c in self.seen
        ]
        if handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                      fontsize=8, title="class", frameon=False)


class _RangeColors:
    """One sequential colour scale of the target for points and spec ranges."""

    def __init__(self, y: np.ndarray) -> None:
        from matplotlib import colormaps
        from matplotlib.colors import Normalize

        y = y.astype(np.float64)
        self.lo, self.hi = (float(y.min()), float(y.max())) if y.size else (0.0, 1.0)
        self.norm = Normalize(self.lo, self.hi if self.hi > self.lo else self.lo + 1.0)
        self.cmap = colormaps["viridis"]

    def points(self, y: np.ndarray) -> Any:
        return self.cmap(self.norm(y.astype(np.float64)))

    def spec(self, s: Any) -> Any:
        a = s.y_lo if s.y_lo is not None and np.isfinite(s.y_lo) else self.lo
        b = s.y_hi if s.y_hi is not None and np.isfinite(s.y_hi) else self.hi
        return self.cmap(self.norm((a + b) / 2.0))

    def decorate(self, fig: Any, ax: Any) -> None:
        from matplotlib.cm import ScalarMappable

        fig.colorbar(ScalarMappable(norm=self.norm, cmap=self.cmap), ax=ax, label="target")
