"""The specification-generator contract and AutoSpec Algorithm 1 (output constraints).

A generator follows the scikit-learn estimator contract: keyword-only hyperparameters are
stored unchanged by the constructor (no validation there), ``fit(X, y, *, task, features)``
validates them, learns, sets ``specs_`` and returns the generator, and ``get_params()``
returns what reproduces it. Results are deterministic for a given ``random_state``.

A subclass only partitions the generation points into boxes (:meth:`SpecGenerator._boxes`);
the base class validates the input and turns every box into a :class:`Spec` with the output
constraint of AutoSpec Algorithm 1, computed from the generation points the box was mined
from (its *members*):

- classification: the majority label of the members (ties go to the smallest label);
- regression: ``[mean - std, mean + std]`` of the members' targets (population std, ddof 0);
- ``support`` is the number of members, ``purity`` the share of members whose label or value
  satisfies the spec's output constraint, ``confidence`` its Wilson 95 % lower bound
  (:mod:`autospec_cli.specs.confidence`, AutoSpec §6.2).

Members are given as a sparse relation (``owner[j]`` is the box of generation point
``member[j]``) so that one point may belong to several boxes (human rules) or to none, and a
million boxes are handled with a few vectorised passes.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from autospec_cli.data.dataset import TASKS
from autospec_cli.errors import ConfigError, InputError
from autospec_cli.io import to_jsonable
from autospec_cli.params import Parameter, declared
from autospec_cli.specs.confidence import wilson_lower
from autospec_cli.specs.model import Spec


@dataclass
class Boxes:
    """What a generator mined: ``m`` boxes ``lo, hi`` (m, d) and their members.

    ``owner`` and ``member`` (same length) relate boxes to generation-point indices.
    ``label`` (m,) or ``y_lo, y_hi`` (m,) override Algorithm 1 when a generator defines its own
    output constraint (human rules); ``ids`` overrides the default ``<name>-<i>`` identifiers.
    ``direction`` (m,) makes monotonicity specs instead (``--algo monotonic``); their purity is
    ``agreeing / comparable`` (pairs of members, :mod:`autospec_cli.specs.monotonic`).
    """

    lo: np.ndarray
    hi: np.ndarray
    owner: np.ndarray
    member: np.ndarray
    label: np.ndarray | None = None
    y_lo: np.ndarray | None = None
    y_hi: np.ndarray | None = None
    ids: list[str] | None = None
    direction: list[str] | None = None
    agreeing: np.ndarray | None = None
    comparable: np.ndarray | None = None

    @classmethod
    def from_assignment(cls, lo: np.ndarray, hi: np.ndarray, assign: np.ndarray) -> Boxes:
        """Boxes where generation point ``i`` belongs to box ``assign[i]`` (-1: to none)."""
        assign = np.asarray(assign, dtype=np.int64)
        member = np.flatnonzero(assign >= 0)
        return cls(lo=lo, hi=hi, owner=assign[member], member=member)

    @property
    def m(self) -> int:
        return int(self.lo.shape[0])


class _Declared:
    """``cls.parameters``: the declared :class:`Parameter` of every hyperparameter field."""

    def __get__(self, obj: object, owner: type) -> dict[str, Parameter]:
        return declared(owner) if dataclasses.is_dataclass(owner) else {}


@dataclass(eq=False)
class SpecGenerator:
    """Base class of every specification generator (subclasses are keyword-only dataclasses).

    Class attributes: ``name`` (registry name), ``tasks`` (the tasks it supports) and
    ``requires`` (heavy modules it imports when it first fits, such as scikit-learn: loaded
    by :meth:`load_dependencies` so a caller can keep import time out of a timed run).
    Hyperparameters are dataclass fields, best declared with
    :func:`autospec_cli.params.param` (default, help, bounds in one place); ``parameters``
    maps each to its :class:`~autospec_cli.params.Parameter` (inferred from the default for a
    plain field), which parses ``--opt name=value`` and feeds help and ``autospec plugins``.
    Learned attributes after :meth:`fit`: ``specs_``, ``n_features_in_``, ``feature_names_in_``,
    ``target_bins_`` (the bin edges of a labelled target, or None).
    """

    name: ClassVar[str] = "base"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    parameters: ClassVar[dict[str, Parameter]] = _Declared()  # type: ignore[assignment]
    requires: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def load_dependencies(cls) -> None:
        """Import the modules in ``requires`` now (they stay loaded for :meth:`fit`)."""
        for module in cls.requires:
            importlib.import_module(module)

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, as given to the constructor (JSON-friendly)."""
        return {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def fit(
        self, X: np.ndarray, y: np.ndarray, *, task: str, features: list[str] | None = None,
        target_bins: np.ndarray | None = None,
    ) -> SpecGenerator:
        """Mine specifications from generation points ``X`` (n, d) with targets ``y`` (n,).

        ``target_bins`` (classification only): the edges of the bins when the labels are bins
        of a real-valued target (:mod:`autospec_cli.data.bins`); label ``i`` is the interval
        ``[edges[i], edges[i+1]]``. Generators that reason about values (the human rules) use
        it; the others ignore it. It is available to :meth:`_boxes` as ``self.target_bins_``.
        """
        if task not in TASKS:
            raise ConfigError(f"unknown task {task!r}; use classification or regression")
        if task not in self.tasks:
            raise ConfigError(
                f"generator {self.name!r} does not support {task}; "
                f"it supports {', '.join(self.tasks)}"
            )
        X, y = check_xy(X, y, task)
        if features is not None and len(features) != X.shape[1]:
            raise InputError(f"{X.shape[1]} feature columns but {len(features)} feature names")
        if target_bins is not None and task != "classification":
            raise ConfigError("target_bins apply to classification labels only")
        self.target_bins_ = None if target_bins is None else np.asarray(target_bins, float)
        self._validate(X.shape[0], X.shape[1])
        boxes = self._boxes(X, y, task, None if features is None else list(features))
        self.specs_ = build_specs(boxes, y, task, self.name)
        self.n_features_in_ = int(X.shape[1])
        self.feature_names_in_ = None if features is None else list(features)
        return self

    def _check_declared(self, *names: str) -> None:
        """Check hyperparameters against the bounds or choices of their declarations."""
        for name in names:
            p, value = self.parameters[name], getattr(self, name)
            if p.type is int and p.min is not None:
                check_int(name, value, int(p.min), None if p.max is None else int(p.max))
            elif p.type is float and p.min is not None:
                check_float(name, value, p.min, math.inf if p.max is None else p.max)
            elif p.choices is not None:
                check_choice(name, value, tuple(p.choices))

    # -- to implement -------------------------------------------------------------------
    def _validate(self, n: int, d: int) -> None:
        """Check the hyperparameters against the data size; raise :class:`ConfigError`."""

    def _boxes(self, X: np.ndarray, y: np.ndarray, task: str, features: list[str] | None) -> Boxes:
        raise NotImplementedError


def check_xy(X: Any, y: Any, task: str) -> tuple[np.ndarray, np.ndarray]:
    """Generation data as float64 ``X`` (n, d) and ``y`` (n,): int64 labels or float64."""
    try:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
    except (TypeError, ValueError) as e:
        raise InputError(f"generation data is not numeric: {e}") from None
    if X.ndim != 2:
        raise InputError(f"generation features must be a 2-D table, got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise InputError(f"generation data is empty (shape {X.shape}); give at least one point")
    if y.shape != (X.shape[0],):
        raise InputError(f"{X.shape[0]} generation points but targets of shape {y.shape}")
    if not np.all(np.isfinite(X)):
        bad = np.flatnonzero(~np.all(np.isfinite(X), axis=1))
        raise InputError(
            f"generation features hold NaN or infinity ({bad.size} rows, first row {bad[0]}); "
            "drop or impute them first (nan_policy drop)",
            param="nan_policy",
        )
    if task == "classification":
        return X, _labels(y)
    try:
        y = y.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError("regression targets must be numbers") from None
    if not np.all(np.isfinite(y)):
        raise InputError("regression targets hold NaN or infinity; drop those rows first")
    return X, y


def _labels(y: np.ndarray) -> np.ndarray:
    if y.dtype.kind in "iub":
        labels = y.astype(np.int64)
    elif y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        labels = y.astype(np.int64)
    else:
        raise InputError("classification targets must be integer class indices")
    if labels.min() < 0:
        raise InputError("classification targets must be class indices >= 0")
    return labels


def build_specs(boxes: Boxes, y: np.ndarray, task: str, name: str) -> list[Spec]:
    """One :class:`Spec` per box, with Algorithm 1 outputs unless the boxes carry their own."""
    m = boxes.m
    support = np.bincount(boxes.owner, minlength=m).astype(np.int64)
    ids = boxes.ids if boxes.ids is not None else _default_ids(name, m)
    lo, hi = boxes.lo, boxes.hi
    if boxes.direction is not None:
        agree = np.asarray(boxes.agreeing, dtype=np.int64)
        comp = np.asarray(boxes.comparable, dtype=np.int64)
        share = np.where(comp > 0, agree / np.maximum(comp, 1), 0.0)
        bound = wilson_lower(agree, comp)
        return [
            Spec(id=ids[i], lo=lo[i], hi=hi[i], support=int(support[i]),
                 purity=float(share[i]), confidence=float(bound[i]), kind="monotonic",
                 direction=boxes.direction[i])
            for i in range(m)
        ]
    if task == "classification":
        labels = boxes.label if boxes.label is not None else majority_labels(boxes, y, support)
        ok = y[boxes.member] == labels[boxes.owner]
        purity, conf = _purity(boxes, ok, support)
        return [
            Spec(id=ids[i], lo=lo[i], hi=hi[i], label=int(labels[i]), support=int(support[i]),
                 purity=purity[i], confidence=conf[i])
            for i in range(m)
        ]
    if boxes.y_lo is not None and boxes.y_hi is not None:
        y_lo, y_hi = boxes.y_lo, boxes.y_hi
    else:
        y_lo, y_hi = mean_std_ranges(boxes, y, support)
    ym = y[boxes.member]
    purity, conf = _purity(boxes, (ym >= y_lo[boxes.owner]) & (ym <= y_hi[boxes.owner]), support)
    return [
        Spec(id=ids[i], lo=lo[i], hi=hi[i], y_lo=float(y_lo[i]), y_hi=float(y_hi[i]),
             support=int(support[i]), purity=purity[i], confidence=conf[i])
        for i in range(m)
    ]


def _purity(boxes: Boxes, ok: np.ndarray, support: np.ndarray) -> tuple[list[float], list[float]]:
    """Share of each box's members satisfying its output constraint, and its Wilson bound."""
    n_ok = np.bincount(boxes.owner[ok], minlength=boxes.m)
    purity = np.where(support > 0, n_ok / np.maximum(support, 1), 0.0)
    return purity.tolist(), wilson_lower(n_ok, support).tolist()


def majority_labels(boxes: Boxes, y: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Algorithm 1, classification: each box's most frequent member label (ties: smallest)."""
    _require_members(support)
    n_classes = int(y.max()) + 1 if y.size else 1
    keys, counts = np.unique(boxes.owner * n_classes + y[boxes.member], return_counts=True)
    box, label = keys // n_classes, keys % n_classes
    order = np.lexsort((label, -counts, box))
    first = np.ones(order.size, dtype=bool)
    first[1:] = box[order][1:] != box[order][:-1]
    out = np.empty(boxes.m, dtype=np.int64)
    out[box[order][first]] = label[order][first]
    return out


def mean_std_ranges(
    boxes: Boxes, y: np.ndarray, support: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm 1, regression: ``mean -/+ std`` of each box's member targets (two-pass)."""
    _require_members(support)
    ym = y[boxes.member]
    mean = np.bincount(boxes.owner, weights=ym, minlength=boxes.m) / support
    dev = ym - mean[boxes.owner]
    std = np.sqrt(np.bincount(boxes.owner, weights=dev * dev, minlength=boxes.m) / support)
    return mean - std, mean + std


def _require_members(support: np.ndarray) -> None:
    if support.size and support.min() == 0:
        raise AssertionError("a box without generation points reached Algorithm 1")


def _default_ids(name: str, m: int) -> list[str]:
    width = len(str(max(m - 1, 0)))
    return [f"{name}-{i:0{width}d}" for i in range(m)]


# -- hyperparameter checks (used by subclasses in ``_validate``) ------------------------------
def check_int(name: str, value: Any, lo: int, hi: int | None = None, why: str = "") -> int:
    """An integer hyperparameter in ``[lo, hi]``; :class:`ConfigError` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    n = int(value)  # exact for any Integral (numpy integers too)
    if n < lo or (hi is not None and n > hi):
        rng = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise ConfigError(f"{name} must be {rng}{why}, got {value}")
    return n


def check_float(name: str, value: Any, lo: float, hi: float = math.inf) -> float:
    """A finite real hyperparameter in ``[lo, hi]``; :class:`ConfigError` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    x = float(value)  # the value returned is the one range-checked
    if not lo <= x <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return x


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def check_seed(value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
        raise ConfigError(f"random_state must be an integer or None, got {value!r}")
