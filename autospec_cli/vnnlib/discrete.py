"""Input boxes of discrete features: integer bounds rounded inward, one-hot groups enumerated.

A spec's box ``lo <= x <= hi`` (closed with the data domain) says nothing about which values a
feature can take. For the features a dataset declares discrete (:mod:`autospec_cli.data.kinds`)
:func:`discretize_box` keeps only inputs that can occur:

- an *integer* feature's bounds are rounded inward (``ceil(lo)``, ``floor(hi)``); a bound pair
  with no integer between them makes the box empty (the spec cannot be violated by a real
  input, and the property is dropped from the export with that reason). VNN-LIB cannot say
  "x is an integer", so a feature left with two or more integers is still searched over the
  reals between them: the property is marked ``integer_relaxed``;
- a *one-hot* group's columns are 0/1, and exactly one is 1. A category is *allowed* when its
  column may be 1 and every other column of the group may be 0. A group with one allowed
  category is fixed to it. Groups with several are enumerated: the box becomes a disjunction
  of boxes (VNN-LIB cases), one per combination of allowed categories (that category's column
  = 1, the others 0), as long as the number of combinations stays at most ``limit``
  (:data:`ONEHOT_LIMIT`, 64 by default). Groups are enumerated from the fewest allowed
  categories up; a group that would push the product past the limit keeps the relaxed box
  (its allowed columns in ``[0, 1]``, the others 0) and the property is marked ``relaxed``.
  No allowed category makes the box empty.

Every box written is therefore a superset of the occurring inputs of the spec's box (sound:
``unsat`` still proves the spec on every occurring input), and exactly that set when nothing
is relaxed and no integer feature spans several integers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autospec_cli.data.kinds import FeatureKinds

#: Default cap on the number of boxes one property's one-hot groups may enumerate.
ONEHOT_LIMIT = 64


@dataclass
class DiscreteBoxes:
    """What :func:`discretize_box` made of one box.

    ``boxes``: the input boxes (``(lo, hi)`` pairs; none when the box is ``empty``, with
    ``reason``); ``rounded``: indices of integer features whose bounds moved; ``enumerated`` /
    ``relaxed_groups``: one-hot groups written as cases / kept as a relaxed box;
    ``fixed_groups``: groups with one allowed category; ``integer_relaxed``: some integer
    feature spans two or more integers (integrality is not expressed).
    """

    boxes: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    reason: str = ""
    rounded: list[int] = field(default_factory=list)
    enumerated: list[str] = field(default_factory=list)
    relaxed_groups: list[str] = field(default_factory=list)
    fixed_groups: list[str] = field(default_factory=list)
    integer_relaxed: bool = False

    @property
    def empty(self) -> bool:
        return not self.boxes

    @property
    def relaxed(self) -> bool:
        """A one-hot group is kept as a relaxed ``[0, 1]`` box (above the limit)."""
        return bool(self.relaxed_groups)

    def to_json(self) -> dict[str, Any]:
        return {"cases": len(self.boxes), "rounded_features": list(self.rounded),
                "onehot_enumerated": list(self.enumerated),
                "onehot_fixed": list(self.fixed_groups),
                "onehot_relaxed": list(self.relaxed_groups),
                "integer_relaxed": self.integer_relaxed}


def discretize_box(lo: np.ndarray, hi: np.ndarray, kinds: FeatureKinds, features: list[str],
                   *, limit: int = ONEHOT_LIMIT) -> DiscreteBoxes:
    """The boxes of the occurring inputs of ``[lo, hi]`` (finite bounds; see the module doc)."""
    if limit < 1:
        raise ValueError("the one-hot limit must be at least 1")
    lo = np.array(lo, dtype=np.float64).reshape(-1)
    hi = np.array(hi, dtype=np.float64).reshape(-1)
    out = DiscreteBoxes()
    ints = kinds.integer_index(features)
    if ints.size:
        new_lo, new_hi = np.ceil(lo[ints]), np.floor(hi[ints])
        moved = (new_lo != lo[ints]) | (new_hi != hi[ints])
        out.rounded = sorted(int(j) for j in ints[moved])
        bad = np.flatnonzero(new_lo > new_hi)
        if bad.size:
            j = int(ints[bad[0]])
            out.reason = (f"integer feature {features[j]!r} has no integer in "
                          f"[{lo[j]!r}, {hi[j]!r}]")
            return out
        lo[ints], hi[ints] = new_lo, new_hi
        out.integer_relaxed = bool(np.any(new_hi - new_lo >= 1))
    choices: dict[str, list[int]] = {}
    for g, idx in kinds.group_index(features).items():
        g_lo = np.maximum(np.ceil(lo[idx]), 0.0)
        g_hi = np.minimum(np.floor(hi[idx]), 1.0)
        forced = idx[g_lo >= 1]
        can_be_one = g_hi >= 1
        can_be_zero = g_lo <= 0
        allowed = [int(idx[k]) for k in range(idx.size)
                   if can_be_one[k] and np.all(np.delete(can_be_zero, k))]
        if forced.size > 1 or not allowed:
            out.reason = f"one-hot group {g!r} allows no category in this box"
            return out
        lo[idx], hi[idx] = 0.0, 0.0
        hi[allowed] = 1.0
        if len(allowed) == 1:
            lo[allowed[0]] = 1.0
            out.fixed_groups.append(g)
        else:
            choices[g] = allowed
    product = 1
    for g in sorted(choices, key=lambda g: (len(choices[g]), g)):
        if product * len(choices[g]) <= limit:
            product *= len(choices[g])
            out.enumerated.append(g)
        else:
            out.relaxed_groups.append(g)
    for combo in itertools.product(*(choices[g] for g in out.enumerated)):
        b_lo, b_hi = lo.copy(), hi.copy()
        for g, k in zip(out.enumerated, combo, strict=True):
            b_lo[choices[g]], b_hi[choices[g]] = 0.0, 0.0
            b_lo[k], b_hi[k] = 1.0, 1.0
        out.boxes.append((b_lo, b_hi))
    return out
