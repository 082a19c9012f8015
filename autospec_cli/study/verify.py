"""The study's robustness verification: properties, verification jobs, verdicts, unstable ReLUs.

The study does not verify anything itself. For every selected image ``x0`` with label ``c``
it writes one VNN-LIB robustness property (the L-inf ball of radius ``eps`` around ``x0``
intersected with the domain, label fixed: :func:`autospec_cli.vnnlib.builders.robustness_property`)
that every trained model shares, so the study folder is one VNN-COMP benchmark
(``onnx/``, ``vnnlib/``, ``instances.csv``, ``manifest.json``; a copy of the properties per
model would take ~80 KB x images x models for MNIST). Each model x property instance is then
decided by the configured backend -- any registered backend or plug-in, with its options --
through the verification run's job kinds (:func:`autospec_cli.verifyrun.jobs.make_jobs`:
``verify.group`` batches a model's properties for backends that batch, ``verify.instance``
otherwise), so the runner re-checks every ``sat`` counterexample in onnxruntime.

Verdicts in the study's words (:func:`study_verdict`): ``unsat`` is *robust*, ``sat`` is *not
robust* (with its confirmed counterexample), anything else (``unknown``, ``timeout``,
``error``) is *unknown*.

The number of *unstable* ReLUs (a pre-activation interval with 0 strictly inside it) is a
measurement, not a verdict: :func:`unstable_relus` counts them per property box from
auto_LiRPA's intermediate bounds (:func:`autospec_cli.verify.backends.lirpa.unstable_relus`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.verify.backends.lirpa import unstable_relus as count
from autospec_cli.verify.base import Instance, Result, Verdict
from autospec_cli.vnnlib.builders import robustness_property
from autospec_cli.vnnlib.property import Property
from autospec_cli.vnnlib.reader import read_vnnlib

ROBUST, UNKNOWN, NOT_ROBUST = "robust", "unknown", "not_robust"
VERDICTS: tuple[str, ...] = (ROBUST, UNKNOWN, NOT_ROBUST)
_WORDS = {Verdict.UNSAT: ROBUST, Verdict.SAT: NOT_ROBUST}


def study_verdict(result: Result | Verdict) -> str:
    """``robust`` (unsat), ``not_robust`` (sat) or ``unknown`` (unknown, timeout, error)."""
    verdict = result.verdict if isinstance(result, Result) else Verdict(result)
    return _WORDS.get(verdict, UNKNOWN)


def image_property(x0: np.ndarray, eps: float, label: int, n_classes: int,
                   domain: tuple[float, float] = (0.0, 1.0)) -> Property:
    """The robustness property of one image (flattened ``x0`` in model units)."""
    x = np.asarray(x0, dtype=np.float64).reshape(-1)
    return robustness_property(x, eps, int(label), n_classes, *domain)


def property_box(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """The input box of a robustness property file (its only case)."""
    case = read_vnnlib(Path(path)).cases[0]
    return case.lo, case.hi


def unstable_relus(model: Any, lo: np.ndarray, hi: np.ndarray, method: str = "CROWN"
                   ) -> np.ndarray:
    """Per box (rows of ``lo``/``hi``): ReLUs whose pre-activation bounds have ``lower < 0 <
    upper``. ``method``: ``IBP`` or ``CROWN`` intermediate bounds (``alpha-CROWN`` counts as
    CROWN, which is what it optimises from)."""
    key = method.strip().lower().replace("_", "-")
    return np.asarray(count(model, lo, hi, "ibp" if key == "ibp" else "crown"), dtype=int)


def study_instances(out: Path, models: Sequence[str], properties: Sequence[str],
                    timeout: float) -> list[Instance]:
    """Models x properties (model slowest), as ``instances.csv`` lists them."""
    return [Instance(out / "onnx" / f"{m}.onnx", out / p, float(timeout)) for m in models
            for p in properties]


def manifest_entries(models: Mapping[str, Mapping[str, Any]], properties: Sequence[str],
                     images: Sequence[int], labels: Sequence[int], timeout: float,
                     factors: Sequence[str]) -> list[dict[str, Any]]:
    """``manifest.json`` instance entries: factor levels of the model, image and label."""
    return [{"id": f"{m}::{Path(p).stem}", "onnx": f"onnx/{m}.onnx", "vnnlib": p,
             "timeout": float(timeout),
             "meta": {"model": m, "image": int(img), "label": int(lab),
                      "factors": {f: t[f] for f in factors}}}
            for m, t in models.items()
            for p, img, lab in zip(properties, images, labels, strict=True)]


__all__ = ["NOT_ROBUST", "ROBUST", "UNKNOWN", "VERDICTS", "image_property", "manifest_entries",
           "property_box", "study_instances", "study_verdict", "unstable_relus"]
