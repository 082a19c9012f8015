"""Specifications: an input hyperrectangle plus an output constraint, with provenance.

JSON form (versioned): ``{"version": 1, "task", "features", "algorithm", "params",
"dataset": {"sha256", ...}, "domain": {"lo", "hi"} | null, "classes": [...] | null,
"target_bins": {"edges": [...]} | null, "specs": [{"id", "lo", "hi", "label" | "y_lo","y_hi",
"support"}]}``. A monotonicity spec (``"kind": "monotonic"``) has ``"direction"``
(``increasing``: for every pair ``x <= x'`` componentwise in the box, ``f(x') >= f(x)``;
``decreasing``: ``f(x') <= f(x)``) instead of an output constraint; a spec without ``kind``
(every file written before monotonicity specs existed) is a reachability spec.
``target_bins`` marks a labelled (binned) regression target (:mod:`autospec_cli.data.bins`):
label ``i`` stands for the interval ``[edges[i], edges[i+1]]`` of the real-valued output,
which is what ``export`` writes for a regressor.
``feature_kinds`` (optional) names the integer features and one-hot groups of the data the
set was mined from (:mod:`autospec_cli.data.kinds`); ``export`` keeps them discrete.
Unbounded box sides are written as null and read back as -inf / +inf. Floats are written
with ``repr`` precision, so a spec set round-trips exactly.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.data.kinds import FeatureKinds
from autospec_cli.errors import InputError, SpecError
from autospec_cli.io import atomic_write_text

FORMAT_VERSION = 1
KINDS = ("reach", "monotonic")
DIRECTIONS = ("increasing", "decreasing")


@dataclass
class Spec:
    """One specification: ``lo <= x <= hi`` implies the output constraint.

    Classification: the model predicts ``label``. Regression: ``y_lo <= y <= y_hi``.
    Monotonicity (``kind == "monotonic"``): the model's output is monotone in ``direction``
    over pairs ``x <= x'`` of the box; ``purity`` is then the share of the comparable
    generation pairs in the box that agree with the direction.
    ``support`` is the number of generation points the box was mined from, ``purity`` the
    share of them satisfying the output constraint and ``confidence`` the Wilson 95 % lower
    bound of that share (:mod:`autospec_cli.specs.confidence`); older files lack the last two.
    """

    id: str
    lo: np.ndarray
    hi: np.ndarray
    label: int | None = None
    y_lo: float | None = None
    y_hi: float | None = None
    support: int = 0
    purity: float | None = None
    confidence: float | None = None
    kind: str = "reach"
    direction: str | None = None

    def __post_init__(self) -> None:
        self.lo = np.asarray(self.lo, dtype=np.float64)
        self.hi = np.asarray(self.hi, dtype=np.float64)

    @property
    def is_classification(self) -> bool:
        return self.label is not None

    @property
    def is_monotonic(self) -> bool:
        return self.kind == "monotonic"

    def contains(self, X: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows of ``X`` inside the closed box."""
        return np.all((X >= self.lo) & (X <= self.hi), axis=1)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "lo": _enc(self.lo), "hi": _enc(self.hi)}
        if self.is_monotonic:
            d["kind"] = self.kind
            d["direction"] = self.direction
        elif self.label is not None:
            d["label"] = int(self.label)
        else:
            d["y_lo"] = _enc_f(self.y_lo)
            d["y_hi"] = _enc_f(self.y_hi)
        d["support"] = int(self.support)
        if self.purity is not None:
            d["purity"] = float(self.purity)
        if self.confidence is not None:
            d["confidence"] = float(self.confidence)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], n_features: int | None = None) -> Spec:
        try:
            lo = _dec(d["lo"], -math.inf)
            hi = _dec(d["hi"], math.inf)
            spec = cls(
                id=str(d["id"]), lo=lo, hi=hi,
                label=None if d.get("label") is None else int(d["label"]),
                y_lo=_dec_f(d.get("y_lo"), -math.inf) if "y_lo" in d else None,
                y_hi=_dec_f(d.get("y_hi"), math.inf) if "y_hi" in d else None,
                support=int(d.get("support", 0)),
                purity=None if d.get("purity") is None else float(d["purity"]),
                confidence=None if d.get("confidence") is None else float(d["confidence"]),
                kind=str(d.get("kind", "reach")),
                direction=None if d.get("direction") is None else str(d["direction"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise SpecError(f"malformed specification {d.get('id', '?')!r}: {e}") from None
        if spec.lo.shape != spec.hi.shape or spec.lo.ndim != 1:
            raise SpecError(
                f"specification {spec.id!r}: lo and hi must be lists of the same length")
        if n_features is not None and spec.lo.shape[0] != n_features:
            raise SpecError(
                f"specification {spec.id!r} has {spec.lo.shape[0]} features, expected {n_features}"
            )
        if spec.kind not in KINDS:
            raise SpecError(f"specification {spec.id!r} has unknown kind {spec.kind!r}; "
                            f"expected {' or '.join(KINDS)}")
        if spec.is_monotonic:
            if spec.direction not in DIRECTIONS:
                raise SpecError(f"monotonicity specification {spec.id!r} needs a direction "
                                f"({' or '.join(DIRECTIONS)}), got {spec.direction!r}")
        elif spec.label is None and (spec.y_lo is None or spec.y_hi is None):
            raise SpecError(f"specification {spec.id!r} has neither a label nor y_lo/y_hi")
        _check_values(spec)
        return spec


def _check_values(spec: Spec) -> None:
    """No NaN, ``lo <= hi`` and ``y_lo <= y_hi``: an empty or undefined box is a broken file."""
    bad = np.flatnonzero(np.isnan(spec.lo) | np.isnan(spec.hi) | (spec.lo > spec.hi))
    if bad.size:
        i = int(bad[0])
        raise SpecError(f"specification {spec.id!r} has an empty or NaN box at feature {i} "
                        f"(lo {float(spec.lo[i])!r}, hi {float(spec.hi[i])!r}); "
                        "regenerate or fix the file")
    if spec.is_monotonic:
        return
    if spec.label is None and not (spec.y_lo <= spec.y_hi):  # type: ignore[operator]
        raise SpecError(f"specification {spec.id!r} has an empty or NaN output range "
                        f"[{spec.y_lo!r}, {spec.y_hi!r}]")
    if spec.label is not None and spec.label < 0:
        raise SpecError(f"specification {spec.id!r} has a negative label {spec.label}")


@dataclass
class SpecSet:
    """A set of specifications mined from one dataset by one algorithm."""

    task: str
    features: list[str]
    algorithm: str
    specs: list[Spec]
    params: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    domain: tuple[np.ndarray, np.ndarray] | None = None
    classes: list[str] | None = None
    target_bins: np.ndarray | None = None
    feature_kinds: FeatureKinds | None = None
    version: int = FORMAT_VERSION

    @property
    def d(self) -> int:
        return len(self.features)

    @property
    def is_monotonic(self) -> bool:
        """Every spec is a monotonicity spec (what ``--algo monotonic`` mines)."""
        return bool(self.specs) and all(s.is_monotonic for s in self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """All boxes as arrays ``LO, HI`` of shape (m, d)."""
        if not self.specs:
            return np.zeros((0, self.d)), np.zeros((0, self.d))
        return np.stack([s.lo for s in self.specs]), np.stack([s.hi for s in self.specs])

    def outputs(self) -> np.ndarray:
        """Labels (m,) int for classification, or ranges (m, 2) for regression."""
        if self.task == "classification":
            return np.array([s.label for s in self.specs], dtype=np.int64)
        return np.array([[s.y_lo, s.y_hi] for s in self.specs], dtype=np.float64).reshape(-1, 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "task": self.task,
            "features": list(self.features),
            "algorithm": self.algorithm,
            "params": self.params,
            "dataset": self.dataset,
            "domain": None if self.domain is None
            else {"lo": _enc(self.domain[0]), "hi": _enc(self.domain[1])},
            "classes": self.classes,
            "target_bins": None if self.target_bins is None
            else {"edges": [float(v) for v in self.target_bins]},
            "specs": [s.to_json() for s in self.specs],
            **({"feature_kinds": self.feature_kinds.to_json()} if self.feature_kinds else {}),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SpecSet:
        if not isinstance(d, dict) or "specs" not in d:
            raise SpecError("not a specification set: no 'specs' list")
        version = d.get("version")
        if version != FORMAT_VERSION:
            raise SpecError(f"unsupported specification format version {version!r} "
                            f"(expected {FORMAT_VERSION})")
        features = [str(f) for f in d.get("features", [])]
        task = d.get("task")
        if task not in ("classification", "regression"):
            raise SpecError(f"specification set has unknown task {task!r}")
        dom = d.get("domain")
        domain = None
        if dom is not None:
            try:
                domain = (_dec(dom["lo"], -math.inf), _dec(dom["hi"], math.inf))
            except (KeyError, TypeError, ValueError) as e:
                raise SpecError(f"malformed domain of the specification set: {e}") from None
            lengths = {len(np.atleast_1d(domain[0])), len(np.atleast_1d(domain[1]))}
            if lengths != {len(features)}:
                raise SpecError(f"the domain of the specification set has {sorted(lengths)} "
                                f"bound(s) for {len(features)} features")
        if not isinstance(d["specs"], list):
            raise SpecError("not a specification set: 'specs' is not a list")
        specs = [Spec.from_json(s, len(features)) for s in d["specs"]]
        return cls(
            task=task, features=features, algorithm=str(d.get("algorithm", "")), specs=specs,
            params=dict(d.get("params") or {}), dataset=dict(d.get("dataset") or {}),
            domain=domain, classes=d.get("classes"),
            target_bins=_target_bins(d.get("target_bins"), task, specs), version=version,
            feature_kinds=_feature_kinds(d.get("feature_kinds"), features),
        )

    def save(self, path: str | os.PathLike[str], *, force: bool = False) -> Path:
        text = json.dumps(self.to_json(), indent=1, allow_nan=False)
        return atomic_write_text(path, text + "\n", force=force)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SpecSet:
        p = Path(path)
        if not p.is_file():
            raise SpecError(f"specification file {p} does not exist")
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise SpecError(f"{p} is not valid JSON: {e}") from None
        return cls.from_json(d)


def _target_bins(value: Any, task: str, specs: list[Spec]) -> np.ndarray | None:
    """The bin edges of a labelled spec set: increasing, finite, one bin per label used."""
    if value is None:
        return None
    try:
        edges = np.asarray([float(v) for v in value["edges"]], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as e:
        raise SpecError(f"malformed target_bins of the specification set: {e}") from None
    if (task != "classification" or edges.size < 3 or not np.all(np.isfinite(edges))
            or np.any(np.diff(edges) <= 0)):
        raise SpecError("target_bins must be at least 3 finite increasing edges of a "
                        "classification spec set")
    bad = [s for s in specs if s.label is not None and s.label >= edges.size - 1]
    if bad:
        raise SpecError(f"specification {bad[0].id!r} names bin {bad[0].label} but there are "
                        f"only {edges.size - 1} bins")
    return edges


def _feature_kinds(value: Any, features: list[str]) -> FeatureKinds | None:
    """The integer / one-hot features of a spec set, checked against its feature names."""
    if value is None:
        return None
    try:
        kinds = FeatureKinds.from_json(value)
        kinds.check_features(features)
    except InputError as e:
        raise SpecError(f"specification set: {e}") from None
    return kinds or None


def _enc_f(v: float | None) -> float | None:
    if v is None or not math.isfinite(v):
        return None
    return float(v)


def _dec_f(v: Any, inf: float) -> float:
    return inf if v is None else float(v)


def _enc(a: np.ndarray) -> list[float | None]:
    return [_enc_f(float(v)) for v in np.asarray(a, dtype=np.float64)]


def _dec(values: list[Any], inf: float) -> np.ndarray:
    if not isinstance(values, list):
        raise TypeError("expected a list")
    return np.array([inf if v is None else float(v) for v in values], dtype=np.float64)
