"""Human-defined throughput specifications (the baseline of AutoSpec §5.2 / Appendix B).

For throughput prediction: the features are the ``k`` past values of one throughput series,
oldest first (``x_1 = ul_brate[t-k] .. x_k = ul_brate[t-1]``), and the target is the next
value ``y = ul_brate[t]``. The paper states the rules in words; this module's formalisation:

Throughput range and bins.
    ``T_lo = min(0, min of all past values and targets)``, ``T_hi = max of them``: ``[0, max]``
    for throughput, which is never negative. It is cut into ``n_bins`` (10) equal bins
    ``B_i = [e_i, e_{i+1})`` (the last one closed), written as closed boxes
    ``[e_i, nextafter(e_{i+1}, -inf)]`` like grid cells. ``bin(v)`` is the bin holding ``v``.

Trend.
    ``s(x)`` is the slope of the least-squares line through ``(j, x_j)``, ``j = 0..k-1``
    (throughput units per step); with ``tau_abs = tau * (T_hi - T_lo)`` a window is
    *increasing* if ``s > tau_abs``, *decreasing* if ``s < -tau_abs`` and *stable* otherwise.

Rules (each yields one specification per bin that holds at least one generation window;
``support`` = the number of those windows; ids name the rule and the bin):

``level`` (``human-level-<i>``)
    every past value lies in bin ``i`` => the next value lies in bin ``i``. Box: ``B_i`` on
    every feature; output ``[e_i, e_{i+1}]``.
``increase`` (``human-increase-<i>``)
    increasing trend and the last value in bin ``i`` => ``y >= x_k`` (the rise goes on).
    Box: the extremities (per-feature min and max) of those windows. Output: the range the
    rule allows over the box, ``[lo_k, T_hi]`` (``lo_k`` = smallest last value in the box;
    the open top is closed with the throughput range so every output range is finite).
``decrease`` (``human-decrease-<i>``)
    decreasing trend, last value in bin ``i`` => ``y <= x_k``. Box: extremities; output
    ``[T_lo, hi_k]``.
``stable`` (``human-stable-<i>``)
    stable trend, last value in bin ``i`` => the next value stays within the range of the
    past values, ``min_j x_j <= y <= max_j x_j``. Box: extremities; output over the box
    ``[min_j lo_j, max_j hi_j]``.

A window can satisfy a level rule and a trend rule, so specifications overlap (the metrics
handle overlaps). The output constraint is the rule's, not Algorithm 1's. Windows of fewer
than two values are refused.

Labelled form (§5.2: the target cut into bins, :mod:`autospec_cli.data.bins`). On
classification data whose labels are bins of the throughput (``target_bins`` given to
``fit``), every rule names a bin, as the paper's human specifications do; the bins are the
target's (``n_bins`` is not used) and past values are binned with the same edges (values
beyond them go to the end bins):

``level`` (``human-level-<i>``)
    every past value in bin ``i`` => label ``i``; box ``B_i`` on every feature.
``increase`` / ``decrease`` (``human-increase-<i>-to-<j>``)
    increasing (decreasing) trend, last value in bin ``i``, and the least-squares line
    through the window extrapolated one step (its value at step ``k``) in bin ``j`` =>
    label ``j``. Box: the extremities of those windows.
``stable`` (``human-stable-<i>``)
    stable trend, last value (the recent level) in bin ``i`` => label ``i``. Box: the
    extremities of those windows.
Other classification data (no bins) is refused: these are throughput rules.
Feature names ``col[t-i]`` (the throughput loader's) are checked: one series, oldest first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from autospec_cli.errors import ConfigError
from autospec_cli.params import param
from autospec_cli.specs.generators.base import Boxes, SpecGenerator
from autospec_cli.specs.generators.cluster import group_extremities
from autospec_cli.specs.generators.grid import cell_boxes, cell_codes, grid_edges

RULES: tuple[str, ...] = ("level", "increase", "decrease", "stable")
_WINDOW_NAME = re.compile(r"^(?P<series>.*)\[t-(?P<lag>\d+)\]$")


@dataclass(kw_only=True, eq=False)
class HumanGenerator(SpecGenerator):
    """Rule-based throughput specifications: level bins and increase/decrease/stable trends."""

    name = "human"
    tasks = ("regression", "classification")
    n_bins: int = param(10, "throughput bins", min=1, max=10_000)
    tau: float = param(
        0.01, "trend slope threshold, a fraction of the throughput range per step",
        min=0.0, max=1.0)
    rules: tuple[str, ...] = param(
        RULES, "rules to apply, comma-separated: " + ", ".join(RULES), type=str)

    def rule_list(self) -> list[str]:
        """``rules`` as a list (a comma-separated string is accepted too)."""
        if isinstance(self.rules, str):
            return [r.strip() for r in self.rules.split(",") if r.strip()]
        if not isinstance(self.rules, (list, tuple)):
            raise ConfigError(f"rules must be a list of {', '.join(RULES)}; got {self.rules!r}")
        return [str(r) for r in self.rules]

    def _validate(self, n: int, d: int) -> None:
        self._check_declared("n_bins", "tau")
        rules = self.rule_list()
        unknown = [r for r in rules if r not in RULES]
        if not rules or unknown:
            raise ConfigError(
                f"rules must be a non-empty list of {', '.join(RULES)}; got {self.rules!r}"
            )
        if d < 2:
            raise ConfigError(
                f"human rules need windows of at least 2 past values, got {d} feature(s)"
            )

    def _boxes(self, X: np.ndarray, y: np.ndarray, task: str, features: list[str] | None) -> Boxes:
        _check_window_names(features)
        if task == "classification":
            return self._labelled_boxes(X)
        t_lo, t_hi = min(0.0, float(X.min()), float(y.min())), max(float(X.max()), float(y.max()))
        edges = grid_edges(np.array([[t_lo], [t_hi]]), int(self.n_bins))
        bins = cell_codes(X, np.repeat(edges, X.shape[1], axis=0)).astype(np.int64)
        rules = self.rule_list()
        parts = [
            _level_rules(X, bins, edges) if rule == "level"
            else _trend_rules(X, bins, rule, float(self.tau) * (t_hi - t_lo), (t_lo, t_hi))
            for rule in RULES if rule in rules
        ]
        return _concat(parts, X.shape[1])

    def _labelled_boxes(self, X: np.ndarray) -> Boxes:
        """The rules' labelled form: each names the bin it predicts (module notes)."""
        edges = getattr(self, "target_bins_", None)
        if edges is None:
            raise ConfigError("human rules on classification data need labels that are bins of "
                              "the throughput; load the data with target_bins")
        n = edges.size - 1
        row_edges = edges[None, :]
        bins = np.clip(np.searchsorted(edges, X, side="right") - 1, 0, n - 1).astype(np.int64)
        tau_abs = float(self.tau) * float(edges[-1] - edges[0])
        rules = self.rule_list()
        parts = []
        for rule in RULES:
            if rule not in rules:
                continue
            if rule == "level":
                part = _level_rules(X, bins, row_edges)
                part.label = np.array([int(i.rsplit("-", 1)[1]) for i in part.ids or []],
                                      dtype=np.int64)
                part.y_lo = part.y_hi = None
            else:
                part = _labelled_trend_rules(X, bins, edges, rule, tau_abs)
            parts.append(part)
        return _concat(parts, X.shape[1])


def window_slopes(X: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row against the steps ``0..k-1``."""
    k = X.shape[1]
    steps = np.arange(k, dtype=np.float64) - (k - 1) / 2.0
    return (X - X.mean(axis=1, keepdims=True)) @ steps / float(steps @ steps)


def _level_rules(X: np.ndarray, bins: np.ndarray, edges: np.ndarray) -> Boxes:
    same = np.all(bins == bins[:, :1], axis=1)
    used, assign = np.unique(bins[same, 0], return_inverse=True)
    d = X.shape[1]
    lo, hi = cell_boxes(used[:, None], edges)
    full = np.full(X.shape[0], -1, dtype=np.int64)
    full[same] = assign.reshape(-1)
    boxes = Boxes.from_assignment(np.repeat(lo, d, axis=1), np.repeat(hi, d, axis=1), full)
    boxes.y_lo, boxes.y_hi = edges[0, used], edges[0, used + 1]
    boxes.ids = [f"human-level-{b}" for b in used.tolist()]
    return boxes


def _trend_rules(
    X: np.ndarray, bins: np.ndarray, rule: str, tau_abs: float, t_range: tuple[float, float]
) -> Boxes:
    s = window_slopes(X)
    sel = s > tau_abs if rule == "increase" else s < -tau_abs if rule == "decrease" \
        else np.abs(s) <= tau_abs
    used, assign = np.unique(bins[sel, -1], return_inverse=True)
    assign = assign.reshape(-1)
    lo, hi = group_extremities(X[sel], assign, used.size)
    full = np.full(X.shape[0], -1, dtype=np.int64)
    full[sel] = assign
    boxes = Boxes.from_assignment(lo, hi, full)
    if rule == "increase":
        boxes.y_lo, boxes.y_hi = lo[:, -1], np.full(used.size, t_range[1])
    elif rule == "decrease":
        boxes.y_lo, boxes.y_hi = np.full(used.size, t_range[0]), hi[:, -1]
    else:
        boxes.y_lo, boxes.y_hi = lo.min(axis=1), hi.max(axis=1)
    boxes.ids = [f"human-{rule}-{b}" for b in used.tolist()]
    return boxes


def _labelled_trend_rules(
    X: np.ndarray, bins: np.ndarray, edges: np.ndarray, rule: str, tau_abs: float
) -> Boxes:
    """Trend rules naming a bin: the extrapolated bin (increase/decrease), the last one
    (stable); one box per (last-value bin, predicted bin) holding a generation window."""
    s = window_slopes(X)
    k = X.shape[1]
    n = edges.size - 1
    if rule == "stable":
        sel = np.abs(s) <= tau_abs
        pred = bins[:, -1]
    else:
        sel = s > tau_abs if rule == "increase" else s < -tau_abs
        ahead = X.mean(axis=1) + s * (k + 1) / 2.0  # the fitted line at step k
        pred = np.clip(np.searchsorted(edges, ahead, side="right") - 1, 0, n - 1)
    keys = bins[sel, -1] * n + pred[sel]
    used, assign = np.unique(keys, return_inverse=True)
    assign = assign.reshape(-1)
    lo, hi = group_extremities(X[sel], assign, used.size)
    full = np.full(X.shape[0], -1, dtype=np.int64)
    full[sel] = assign
    boxes = Boxes.from_assignment(lo, hi, full)
    boxes.label = (used % n).astype(np.int64)
    last = (used // n).tolist()
    boxes.ids = ([f"human-stable-{i}" for i in last] if rule == "stable" else
                 [f"human-{rule}-{i}-to-{j}" for i, j in zip(last, boxes.label.tolist(),
                                                             strict=True)])
    return boxes


def _concat(parts: list[Boxes], d: int) -> Boxes:
    offsets = np.cumsum([0] + [p.m for p in parts])
    cat = np.concatenate
    labelled = bool(parts) and parts[0].label is not None
    return Boxes(
        lo=cat([p.lo for p in parts]) if parts else np.empty((0, d)),
        hi=cat([p.hi for p in parts]) if parts else np.empty((0, d)),
        owner=cat([p.owner + o for p, o in zip(parts, offsets[:-1], strict=True)]).astype(np.int64),
        member=cat([p.member for p in parts]).astype(np.int64),
        label=cat([p.label for p in parts]) if labelled else None,
        y_lo=None if labelled else cat([p.y_lo for p in parts]),
        y_hi=None if labelled else cat([p.y_hi for p in parts]),
        ids=[i for p in parts for i in (p.ids or [])],
    )


def _check_window_names(features: list[str] | None) -> None:
    """Names like ``ul_brate[t-4] .. ul_brate[t-1]``: one series, oldest first, if used."""
    if not features:
        return
    parsed = [_WINDOW_NAME.match(f) for f in features]
    if not all(parsed):
        return  # other names: the columns are taken as past values, oldest first
    series = sorted({p["series"] for p in parsed if p})
    if len(series) > 1:
        raise ConfigError(
            f"human rules need windows of one throughput series, got {', '.join(series)}; "
            "load the data with only the target series as input"
        )
    lags = [int(p["lag"]) for p in parsed if p]
    if lags != sorted(lags, reverse=True) or len(set(lags)) != len(lags):
        raise ConfigError("human rules need the past values oldest first (col[t-k] .. col[t-1])")
