"""Specifications drawn over data in two dimensions (like AutoSpec Figures 2-4).

Each spec's box is drawn as an unfilled rectangle over the points: for classification the
edge takes the colour of the spec's label and the points the colour of their class; for
regression points and edges share one colour scale of the target (an edge at the midpoint
of the spec's range ``[y_lo, y_hi]``, an unbounded side replaced by the data's target
bound). Unbounded box sides (±inf) are clipped to the plot limits, which are the data's
range on the two features plus a 5 % margin; a box entirely outside them is not drawn.
With more than two features, ``features_xy`` picks two and every box is drawn as its
projection onto them. ``max_specs`` draws the specs with the largest support first;
``max_points`` draws a fixed random sample of the points (the limits use all of them).
Rendering uses matplotlib's Agg canvas (no display, no pyplot state) and the PNG is written
atomically.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from autospec_cli.errors import ConfigError, SpecError
from autospec_cli.io import atomic_path, check_writable
from autospec_cli.specs.model import SpecSet

MARGIN = 0.05


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
    force: bool = False,
) -> dict[str, Any]:
    """Draw the specs' rectangles over the points ``(X, y)`` into the PNG ``path``.

    Returns what was drawn: ``path``, ``specs_drawn``, ``specs_total``, ``points_drawn``,
    ``points_total`` and ``features`` (the two feature names).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    fx, fy = _axes_features(specset, X, features_xy)
    check_writable(path, force)
    if max_specs is not None and max_specs < 0:
        raise ConfigError(f"max_specs must be >= 0, got {max_specs}")
    limits = _limits(X[:, [fx, fy]])
    chosen = _chosen_specs(specset, max_specs)
    rng = np.random.default_rng(0)
    pts = np.arange(X.shape[0])
    if pts.size > max_points:
        pts = np.sort(rng.choice(pts.size, size=max_points, replace=False))
    fig, ax = _figure()
    color = _colorer(specset, y, classes or specset.classes)
    ax.scatter(X[pts, fx], X[pts, fy], c=color.points(y[pts]), s=6, alpha=0.5, linewidths=0)
    drawn = _draw_boxes(ax, specset, chosen, (fx, fy), limits, color)
    color.decorate(fig, ax)
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    names = specset.features
    ax.set_xlabel(names[fx])
    ax.set_ylabel(names[fy])
    ax.set_title(title if title is not None
                 else f"{specset.algorithm or 'specs'}: {drawn} of {len(specset)} specs")
    with atomic_path(path, force=force) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    return {"path": str(path), "specs_drawn": drawn, "specs_total": len(specset),
            "points_drawn": int(pts.size), "points_total": int(X.shape[0]),
            "features": [names[fx], names[fy]]}


def _axes_features(
    specset: SpecSet, X: np.ndarray, features_xy: tuple[int, int] | None
) -> tuple[int, int]:
    if X.ndim != 2 or X.shape[1] != specset.d:
        raise SpecError(
            f"the specifications have {specset.d} features but the data has "
            f"{X.shape[1] if X.ndim == 2 else X.shape}; plot on the data they were mined from"
        )
    if X.shape[0] == 0:
        raise ConfigError("no points to plot")
    if features_xy is None:
        if X.shape[1] != 2:
            raise ConfigError(
                f"the data has {X.shape[1]} features; a 2-D plot needs 2: pick two with "
                "features_xy=(I, J)",
                param="features_xy",
            )
        return 0, 1
    fx, fy = (int(v) for v in features_xy)
    d = X.shape[1]
    if not (0 <= fx < d and 0 <= fy < d) or fx == fy:
        raise ConfigError(f"features_xy needs two different feature indices in 0..{d - 1}, "
                          f"got {fx},{fy}", param="features_xy")
    return fx, fy


def _limits(P: np.ndarray) -> list[tuple[float, float]]:
    out = []
    for j in range(2):
        col = P[:, j][np.isfinite(P[:, j])]
        lo, hi = (float(col.min()), float(col.max())) if col.size else (0.0, 1.0)
        pad = (hi - lo) * MARGIN if hi > lo else 0.5
        out.append((lo - pad, hi + pad))
    return out


def _chosen_specs(specset: SpecSet, max_specs: int | None) -> np.ndarray:
    support = np.array([s.support for s in specset.specs], dtype=np.int64)
    order = np.argsort(-support, kind="stable")
    return order if max_specs is None else order[:max_specs]


def _figure() -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 6.0))
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
            ax.legend(handles=handles, loc="best", fontsize=8, title="class")


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
