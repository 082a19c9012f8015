"""Confidence of a specification (AutoSpec §6.2: keep only the specifications one can trust).

Every generated spec records its *support* ``n`` (the generation points it was mined from)
and its *purity* ``p`` (the share of those points whose label or value satisfies the spec's
own output constraint). A spec mined from three points that all agree is pure but says little;
the *confidence* is therefore the Wilson score lower bound of the purity,

    (p + z²/2n - z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n),

at a two-sided level (95 % by default, z = 1.96): the purity one can claim with that
confidence if the generation points were a random sample of the region. It grows with both
purity and support and is 0 without support. :func:`filter_specs` keeps the specs whose
confidence and support reach given thresholds; :func:`confidence_sweep` scores the kept set
at a series of thresholds (the precision-recall trade-off of filtering).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

from autospec_cli.errors import ConfigError, SpecError
from autospec_cli.specs.model import SpecSet

LEVEL = 0.95


def z_of(level: float) -> float:
    """The two-sided normal quantile of ``level`` (0.95 -> 1.96)."""
    if not 0.0 < level < 1.0:
        raise ConfigError(f"confidence level must be strictly between 0 and 1, got {level}",
                          param="level")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def wilson_lower(n_ok: np.ndarray, n: np.ndarray, level: float = LEVEL) -> np.ndarray:
    """Wilson score lower bounds of ``n_ok / n`` (0 where ``n`` is 0)."""
    z = z_of(level)
    n_ok = np.asarray(n_ok, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    safe = np.maximum(n, 1.0)
    p = n_ok / safe
    centre = p + z * z / (2 * safe)
    spread = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe))
    low = (centre - spread) / (1 + z * z / safe)
    return np.where(n > 0, np.clip(low, 0.0, 1.0), 0.0)


def spec_confidence(specset: SpecSet, level: float = LEVEL) -> np.ndarray:
    """Each spec's Wilson lower bound from its recorded support and purity."""
    missing = [s.id for s in specset.specs if s.purity is None]
    if missing:
        raise SpecError(f"specification {missing[0]!r} records no purity (mined by an older "
                        "version); regenerate the spec set to filter it by confidence")
    support = np.array([s.support for s in specset.specs], dtype=np.float64)
    purity = np.array([s.purity for s in specset.specs], dtype=np.float64)
    return wilson_lower(np.round(purity * support), support, level)


def check_threshold(value: float, name: str, hi: float = 1.0) -> float:
    if math.isnan(value) or not 0.0 <= value <= hi:
        raise ConfigError(f"{name} must be between 0 and {hi:g}, got {value}", param=name)
    return float(value)


def filter_specs(specset: SpecSet, *, min_confidence: float = 0.0, min_support: int = 0,
                 level: float = LEVEL) -> SpecSet:
    """The spec set keeping only specs with confidence and support at the thresholds."""
    check_threshold(min_confidence, "min_confidence")
    if min_support < 0:
        raise ConfigError(f"min_support must be >= 0, got {min_support}", param="min_support")
    conf = spec_confidence(specset, level) if specset.specs else np.zeros(0)
    keep = [s for s, c in zip(specset.specs, conf, strict=True)
            if c >= min_confidence and s.support >= min_support]
    params = dict(specset.params)
    params["filter"] = {"min_confidence": min_confidence, "min_support": min_support,
                        "level": level, "kept": len(keep), "of": len(specset.specs)}
    return SpecSet(task=specset.task, features=list(specset.features),
                   algorithm=specset.algorithm, specs=keep, params=params,
                   dataset=dict(specset.dataset), domain=specset.domain,
                   classes=specset.classes, target_bins=specset.target_bins,
                   feature_kinds=specset.feature_kinds)


def confidence_sweep(specset: SpecSet, X: np.ndarray, y: np.ndarray, *,
                     thresholds: list[float] | None = None, level: float = LEVEL,
                     **evaluate: Any) -> list[dict[str, Any]]:
    """Precision, recall and F1 of the specs kept at each confidence threshold."""
    from autospec_cli.specs.metrics import evaluate_specs

    conf = spec_confidence(specset, level)
    ts = thresholds if thresholds is not None else [round(t, 2) for t in np.linspace(0, 0.95, 20)]
    rows = []
    for t in ts:
        kept = filter_specs(specset, min_confidence=t, level=level)
        m = evaluate_specs(kept, X, y, **evaluate)
        rows.append({"min_confidence": float(t), "specs": len(kept.specs),
                     "kept": m.n_kept, "precision": m.precision, "recall": m.recall,
                     "f1": m.f1, "coverage": m.coverage,
                     "max_confidence": float(conf.max()) if conf.size else 0.0})
    return rows


def plot_sweep(rows: list[dict[str, Any]], path: Any, *, title: str = "",
               force: bool = False) -> None:
    """The precision-recall curve of a sweep (each point labelled by its threshold)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from autospec_cli.io import atomic_path

    fig = Figure(figsize=(5.5, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    r = [row["recall"] for row in rows]
    p = [row["precision"] for row in rows]
    ax.plot(r, p, marker="o")
    for row in rows[:: max(1, len(rows) // 6)]:
        ax.annotate(f"{row['min_confidence']:.2f}", (row["recall"], row["precision"]),
                    fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(title or "precision-recall across confidence thresholds")
    fig.tight_layout()
    with atomic_path(path, force=force) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
