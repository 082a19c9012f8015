"""Does a counterexample respect the discrete features? And can it be repaired?

A benchmark exported from a spec set with feature kinds (:mod:`autospec_cli.data.kinds`)
names them in its manifest (``feature_kinds``, with the feature names under ``spec_set``).
Export keeps one-hot groups exact where it can and rounds integer bounds, but VNN-LIB cannot
say "integer", and a one-hot group above the enumeration limit is relaxed to ``[0, 1]``
boxes; a verifier then may return a witness no real input has (an integer feature at 12.5,
a one-hot group at 0.101 in three columns). :func:`check_witness` reports that
(``discrete_ok``) and, when the model and property are at hand, tries a cheap repair: integer
features rounded to the nearest integer, each one-hot group set to its largest column, then
replayed in onnxruntime with the VNN-COMP check
(:func:`~autospec_cli.verify.cex.check_counterexample`).
A repaired witness is reported only if it is still a confirmed counterexample.

:func:`annotate_results` does this for every ``sat`` result of a run over such a benchmark and
records it in the result's ``extra`` (``discrete_ok``, ``discrete_issues``, ``repaired``),
which the results folder's ``summary.json`` and ``autospec verify`` print.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.data.kinds import FeatureKinds, discrete_issues
from autospec_cli.verify.base import Instance, Result, Verdict
from autospec_cli.verify.cex import ModelRunner, check_counterexample
from autospec_cli.vnnlib.property import Property


@dataclass
class DiscreteCheck:
    """``ok``: the witness respects every discrete feature (``issues`` says where not);
    ``repaired``: a discrete witness that is still a confirmed counterexample (or None, with
    ``repair`` saying why not)."""

    ok: bool
    issues: list[str]
    repaired: np.ndarray | None = None
    repaired_y: np.ndarray | None = None
    repair: str = ""

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"discrete_ok": self.ok, "discrete_issues": list(self.issues)}
        if not self.ok:
            d["repaired"] = None if self.repaired is None else {
                "x": self.repaired.tolist(),
                "y": None if self.repaired_y is None else self.repaired_y.tolist()}
            d["repair"] = self.repair
        return d


def repair_witness(x: np.ndarray, kinds: FeatureKinds, features: list[str]) -> np.ndarray:
    """``x`` with integer features rounded and each one-hot group set to its largest column."""
    z = np.array(x, dtype=np.float64).reshape(-1)
    ints = kinds.integer_index(features)
    z[ints] = np.round(z[ints])
    for idx in kinds.group_index(features).values():
        k = idx[int(np.argmax(z[idx]))]
        z[idx] = 0.0
        z[k] = 1.0
    return z


def check_witness(x: Any, kinds: FeatureKinds, features: list[str], *,
                  model: ModelRunner | str | os.PathLike[str] | None = None,
                  prop: Property | str | os.PathLike[str] | None = None) -> DiscreteCheck:
    """Check ``x`` against the discrete features; repair it when ``model`` and ``prop`` are
    given (see the module doc)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    issues = discrete_issues(x, kinds, features)
    if not issues:
        return DiscreteCheck(True, [])
    if model is None or prop is None:
        return DiscreteCheck(False, issues, repair="not attempted")
    z = repair_witness(x, kinds, features)
    check = check_counterexample(model, prop, z)
    if not check.ok:
        return DiscreteCheck(False, issues, repair=f"rounded witness is no counterexample: "
                                                   f"{check.reason}")
    left = discrete_issues(z, kinds, features)
    if left:  # cannot happen for a rounded point; kept as a guard
        return DiscreteCheck(False, issues, repair=f"rounded witness still: {left[0]}")
    return DiscreteCheck(False, issues, z, check.y_model, f"confirmed: {check.reason}")


def manifest_kinds(manifest: Mapping[str, Any] | None) -> tuple[FeatureKinds, list[str]] | None:
    """The feature kinds and feature names a benchmark manifest declares, or None."""
    if not manifest or not manifest.get("feature_kinds"):
        return None
    features = [str(f) for f in (manifest.get("spec_set") or {}).get("features", [])]
    kinds = FeatureKinds.from_json(manifest["feature_kinds"])
    if not kinds or not features:
        return None
    return kinds, features


def annotate_results(instances: Sequence[Instance], results: Sequence[Result],
                     manifest: Mapping[str, Any] | None) -> list[Result]:
    """Every ``sat`` result with its discreteness check in ``extra`` (see the module doc);
    the others, and all results of a benchmark without feature kinds, unchanged."""
    found = manifest_kinds(manifest)
    if found is None:
        return list(results)
    kinds, features = found
    relaxed = {Path(str(e.get("vnnlib"))).name: e.get("meta", {})
               for e in (manifest or {}).get("instances", [])}
    out = []
    for inst, r in zip(instances, results, strict=True):
        if r.verdict is not Verdict.SAT or r.counterexample is None:
            out.append(r)
            continue
        if len(r.counterexample.x) != len(features):
            out.append(r)
            continue
        check = check_witness(r.counterexample.x, kinds, features, model=inst.onnx,
                              prop=inst.vnnlib)
        meta = relaxed.get(Path(inst.vnnlib).name, {})
        extra = {**r.extra, **check.to_json(),
                 "relaxed": bool(meta.get("relaxed", False)),
                 "integer_relaxed": bool(meta.get("integer_relaxed", False))}
        out.append(replace(r, extra=extra))
    return out
