"""Discrete features: integer columns and one-hot (categorical) groups.

Network-flow and intrusion data mix real-valued features with features that can only take
some values: counts, ports, flags and byte totals are integers; a categorical column one-hot
encoded (NSL-KDD's ``protocol_type``, ``service``, ``flag``) is a *group* of 0/1 columns of
which exactly one is 1. A counterexample that sets a one-hot column to 0.101 is not an input
that can occur, so loaders declare these kinds and the rest of the pipeline keeps them:

- :class:`FeatureKinds` (``integer``: feature names; ``onehot``: group name -> its column
  names, in order) travels in ``Dataset.meta["feature_kinds"]``, the NPZ form, every spec
  set (``SpecSet.feature_kinds``) and the exported benchmark's manifest;
- ``export`` rounds integer bounds inward and turns a one-hot group into a disjunction of
  input boxes (:mod:`autospec_cli.vnnlib.discrete`);
- the counterexample check reports whether a witness respects them
  (:mod:`autospec_cli.verify.discrete`).

Detection (:func:`detect_kinds`): a column is *integer* when every finite value is integral
(and there is at least one finite value); columns named
``GROUP=VALUE`` sharing ``GROUP`` form a one-hot group when there are at least two of them,
every value is 0 or 1 and every row has exactly one 1. One-hot columns are not listed as
integer (the group says more). Loaders may declare kinds instead (NSL-KDD does), or restrict
detection to the columns that can be discrete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autospec_cli.errors import InputError

META_KEY = "feature_kinds"
#: integrality tolerance of a witness value: ``|v - round(v)| <= INT_TOL * max(1, |v|)``
INT_TOL = 1e-6


@dataclass
class FeatureKinds:
    """Which features are integers and which form one-hot groups (by feature name)."""

    integer: list[str] = field(default_factory=list)
    onehot: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.integer or self.onehot)

    def to_json(self) -> dict[str, Any]:
        return {"integer": list(self.integer),
                "onehot": {g: list(cols) for g, cols in self.onehot.items()}}

    @classmethod
    def from_json(cls, d: Any) -> FeatureKinds:
        """Read the JSON form back; malformed input raises :class:`InputError`."""
        if d is None:
            return cls()
        try:
            integer = [str(f) for f in d.get("integer", [])]
            onehot = {str(g): [str(c) for c in cols] for g, cols in
                      dict(d.get("onehot", {})).items()}
        except (AttributeError, TypeError, ValueError) as e:
            raise InputError(f"malformed feature_kinds: {e}") from None
        return cls(integer, onehot)

    def check_features(self, features: list[str]) -> None:
        """Every named feature exists, no column is in two places, groups have >= 2 columns."""
        names = set(features)
        seen: set[str] = set()
        for name in self.integer:
            if name not in names:
                raise InputError(f"feature_kinds: integer feature {name!r} is not a feature")
            seen.add(name)
        for g, cols in self.onehot.items():
            if len(cols) < 2:
                raise InputError(f"feature_kinds: one-hot group {g!r} needs at least 2 columns")
            for c in cols:
                if c not in names:
                    raise InputError(f"feature_kinds: one-hot column {c!r} is not a feature")
                if c in seen:
                    raise InputError(f"feature_kinds: column {c!r} is declared twice")
                seen.add(c)

    def restricted(self, features: list[str]) -> FeatureKinds:
        """The kinds of a selection of features: integer ones kept, a one-hot group kept only
        when all its columns are selected (a partial group is no longer one-hot: its columns
        are then integer 0/1 features)."""
        names = set(features)
        integer = [f for f in self.integer if f in names]
        onehot = {}
        for g, cols in self.onehot.items():
            if all(c in names for c in cols):
                onehot[g] = list(cols)
            else:
                integer += [c for c in cols if c in names]
        order = {f: j for j, f in enumerate(features)}
        return FeatureKinds(sorted(integer, key=order.__getitem__), onehot)

    def integer_index(self, features: list[str]) -> np.ndarray:
        """Positions (in ``features``) of the integer features."""
        pos = {f: j for j, f in enumerate(features)}
        return np.array([pos[f] for f in self.integer if f in pos], dtype=np.int64)

    def group_index(self, features: list[str]) -> dict[str, np.ndarray]:
        """Positions (in ``features``) of each one-hot group's columns."""
        pos = {f: j for j, f in enumerate(features)}
        return {g: np.array([pos[c] for c in cols], dtype=np.int64)
                for g, cols in self.onehot.items() if all(c in pos for c in cols)}


def kinds_of(meta: Mapping[str, Any]) -> FeatureKinds:
    """The feature kinds a dataset's ``meta`` declares (empty when none)."""
    return FeatureKinds.from_json(meta.get(META_KEY))


def integral_columns(X: np.ndarray) -> np.ndarray:
    """Boolean mask of the columns whose finite values are all integral (NaN ignored; a column
    without a finite value is not integral)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        return np.zeros(X.shape[-1] if X.ndim == 2 else 0, dtype=bool)
    finite = np.isfinite(X)
    with np.errstate(invalid="ignore"):
        integral = np.where(finite, X == np.round(X), True)
    return np.all(integral, axis=0) & np.any(finite, axis=0)


def onehot_groups(X: np.ndarray, features: list[str], sep: str = "=") -> dict[str, list[str]]:
    """Groups of columns named ``GROUP=VALUE`` that are one-hot in ``X`` (see module doc)."""
    by_group: dict[str, list[int]] = {}
    for j, name in enumerate(features):
        group, s, value = name.partition(sep)
        if s and group and value:
            by_group.setdefault(group, []).append(j)
    out = {}
    for g, idx in by_group.items():
        if len(idx) < 2:
            continue
        block = np.asarray(X, dtype=np.float64)[:, idx]
        if block.size and np.all((block == 0) | (block == 1)) and np.all(block.sum(axis=1) == 1):
            out[g] = [features[j] for j in idx]
    return out


def detect_kinds(X: np.ndarray, features: list[str], *,
                 candidates: Iterable[str] | None = None) -> FeatureKinds:
    """Integer features and one-hot groups found in the data (see the module doc).

    ``candidates`` limits the integer detection to those feature names (a loader that knows
    which columns can be integers); one-hot groups are always detected by name and values.
    """
    groups = onehot_groups(X, features)
    in_group = {c for cols in groups.values() for c in cols}
    allowed = None if candidates is None else set(candidates)
    mask = integral_columns(X)
    integer = [f for j, f in enumerate(features) if mask[j] and f not in in_group
               and (allowed is None or f in allowed)]
    return FeatureKinds(integer, groups)


def discrete_issues(x: np.ndarray, kinds: FeatureKinds, features: list[str],
                    tol: float = INT_TOL) -> list[str]:
    """Why the point ``x`` is not a possible input (empty: it respects every kind).

    A one-hot group must hold exactly one 1 and zeros elsewhere; an integer feature must be
    integral within ``tol`` (relative, see :data:`INT_TOL`).
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    issues = []
    for g, idx in kinds.group_index(features).items():
        block = x[idx]
        ones = np.abs(block - 1.0) <= tol
        zeros = np.abs(block) <= tol
        if ones.sum() != 1 or not np.all(ones | zeros):
            shown = ", ".join(f"{features[j]}={float(x[j]):.4g}"
                              for j in idx[~zeros][:4])
            more = "" if (~zeros).sum() <= 4 else f", ... ({int((~zeros).sum())} non-zero)"
            issues.append(f"one-hot {g}: {int(ones.sum())} column(s) at 1, "
                          f"{int((~(ones | zeros)).sum())} fractional ({shown}{more})")
    ints = kinds.integer_index(features)
    if ints.size:
        v = x[ints]
        bad = np.abs(v - np.round(v)) > tol * np.maximum(1.0, np.abs(v))
        if bad.any():
            shown = ", ".join(f"{features[j]}={float(x[j]):.6g}" for j in ints[bad][:4])
            more = "" if bad.sum() <= 4 else f", ... ({int(bad.sum())} in all)"
            issues.append(f"non-integral integer feature(s): {shown}{more}")
    return issues
