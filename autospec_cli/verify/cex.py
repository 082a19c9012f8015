"""Counterexample checking as VNN-COMP scores it, and the VNN-COMP counterexample format.

A ``sat`` answer is only as good as its counterexample. :func:`check_counterexample` replays
``x`` in onnxruntime and applies the VNN-COMP 2025/26 rules:

* the outputs the tool reported (when it reported any) must match onnxruntime's outputs within
  a relative ``1e-3`` (infinity norm of the difference over the infinity norm of the reported
  outputs; an absolute difference when the reported outputs are all below ``1e-6``);
* ``x`` must lie in the input box of one case of the property and onnxruntime's output must
  satisfy one unsafe disjunct of *that* case, both within an absolute ``1e-4``.

VNN-COMP checks the output constraint on the reported ``y``; we check it on the model's output,
which is stricter and is what "the network violates its specification" means. Models and
properties given as paths come from the process-wide caches of :mod:`autospec_cli.verify.loading`
(the backend that found the counterexample has usually loaded them already).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from autospec_cli.errors import VerifierError
from autospec_cli.verify.base import Counterexample
from autospec_cli.verify.loading import load_property, onnx_runner
from autospec_cli.vnnlib.property import Property

ATOL = 1e-4  # box membership and output constraint
RTOL = 1e-3  # reported outputs against onnxruntime's


class ModelRunner(Protocol):
    """What the check needs from a model: sizes and a batched forward pass."""

    n_inputs: int
    n_outputs: int

    def run(self, X: np.ndarray) -> np.ndarray: ...


@dataclass
class CexCheck:
    """Outcome of a counterexample check; ``reason`` says why it failed (or how it passed)."""

    ok: bool
    reason: str
    y_model: np.ndarray | None = None
    exact: bool = False  # also holds with zero tolerance and outputs matching exactly
    case: int | None = None  # index of the property case the counterexample falls in
    rel_error: float | None = None

    def __bool__(self) -> bool:
        return self.ok


def _runner(model: ModelRunner | str | os.PathLike[str]) -> ModelRunner:
    if isinstance(model, (str, os.PathLike)):
        # one thread: a check runs a single point, and a cached session with a thread pool of
        # its own slows down everything else; ``bab`` holds this very session already
        return onnx_runner(model, threads=1)
    return model


def _property(prop: Property | str | os.PathLike[str], runner: ModelRunner) -> Property:
    if isinstance(prop, Property):
        return prop
    return load_property(prop, n_inputs=runner.n_inputs, n_outputs=runner.n_outputs)


def relative_error(y_model: np.ndarray, y_reported: np.ndarray) -> float:
    """VNN-COMP's output mismatch: ``|y_model - y|_inf / |y|_inf``
    (absolute when ``|y|`` < 1e-6)."""
    diff = float(np.max(np.abs(y_model - y_reported))) if y_model.size else 0.0
    norm = float(np.max(np.abs(y_reported))) if y_reported.size else 0.0
    return diff / norm if norm >= 1e-6 else diff


def check_counterexample(
    model: ModelRunner | str | os.PathLike[str],
    prop: Property | str | os.PathLike[str],
    x: Any,
    y_reported: Any = None,
    *,
    atol: float = ATOL,
    rtol: float = RTOL,
) -> CexCheck:
    """Replay ``x`` in onnxruntime and check it violates ``prop`` (VNN-COMP tolerances).

    ``model`` is an ``OnnxRunner`` (or anything with ``n_inputs``, ``n_outputs``, ``run``) or the
    path of an ONNX file; ``prop`` a :class:`Property` or a VNN-LIB path. ``y_reported`` is the
    output the tool claimed (``None`` or empty: not checked).
    """
    runner = _runner(model)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size != runner.n_inputs:
        return CexCheck(
            False, f"counterexample has {x.size} inputs, the model takes {runner.n_inputs}"
        )
    if not np.all(np.isfinite(x)):
        return CexCheck(False, "counterexample input contains NaN or infinity")
    p = _property(prop, runner)
    y_model = np.asarray(runner.run(x.reshape(1, -1)), dtype=np.float64).reshape(-1)
    rel = None
    if y_reported is not None and np.size(y_reported) > 0:
        y_rep = np.asarray(y_reported, dtype=np.float64).reshape(-1)
        if y_rep.size != y_model.size:
            return CexCheck(
                False,
                f"counterexample has {y_rep.size} outputs, the model gives {y_model.size}",
                y_model,
            )
        rel = relative_error(y_model, y_rep)
        if not rel <= rtol:
            return CexCheck(
                False,
                f"reported outputs differ from onnxruntime's (relative error {rel:.3g} > {rtol:g})",
                y_model,
                rel_error=rel,
            )
    if not np.all(np.isfinite(y_model)):
        return CexCheck(False, "model output is NaN or infinite at the counterexample", y_model)
    in_box = False
    for i, case in enumerate(p.cases):
        if not case.contains(x, atol)[0]:
            continue
        in_box = True
        if case.unsafe(y_model, atol)[0]:
            exact = bool(case.contains(x)[0] and case.unsafe(y_model)[0] and not rel)
            how = "exactly" if exact else f"within tolerance {atol:g}"
            return CexCheck(True, f"violates case {i} {how}", y_model, exact, i, rel)
    if not in_box:
        return CexCheck(
            False,
            f"input lies outside every input box (tolerance {atol:g})",
            y_model,
            rel_error=rel,
        )
    return CexCheck(
        False,
        f"model output satisfies no unsafe constraint (tolerance {atol:g})",
        y_model,
        rel_error=rel,
    )


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf(?:inity)?|nan"
_ENTRY = re.compile(rf"\(\s*(?:=\s*)?([XY])_(\d+)\s+({_NUM})\s*\)", re.IGNORECASE)


def parse_vnncomp_counterexample(
    text: str, n_inputs: int | None = None, n_outputs: int | None = None
) -> Counterexample:
    """Parse ``((X_0 v) ... (Y_0 v) ...)`` (also ``(= X_0 v)`` entries and a leading verdict line).

    Entries may come in any order and on any number of lines; indices must run 0..n-1 without
    gaps. With ``n_inputs``/``n_outputs`` the counts are checked; the ``Y`` part may be absent
    (``y`` is then empty). Raises :class:`VerifierError` on anything else.
    """
    values: dict[str, dict[int, float]] = {"X": {}, "Y": {}}
    for m in _ENTRY.finditer(text):
        kind, idx, num = m.group(1).upper(), int(m.group(2)), float(m.group(3))
        if idx in values[kind]:
            raise VerifierError(f"counterexample: {kind}_{idx} given twice")
        values[kind][idx] = num
    rest = _ENTRY.sub(" ", text)
    rest = re.sub(r"^\s*(sat|violated)\s*$", " ", rest, flags=re.IGNORECASE | re.MULTILINE)
    leftover = re.sub(r"[()\s]|\band\b", "", rest)
    if leftover:
        raise VerifierError(f"counterexample: unexpected text {leftover[:40]!r}")
    if not values["X"]:
        raise VerifierError("counterexample: no (X_i value) entries found")
    arrays = {}
    for kind, expected in (("X", n_inputs), ("Y", n_outputs)):
        entries = values[kind]
        if entries and sorted(entries) != list(range(len(entries))):
            raise VerifierError(f"counterexample: {kind} indices are not 0..{len(entries) - 1}")
        if entries and expected is not None and len(entries) != expected:
            raise VerifierError(
                f"counterexample: {len(entries)} {kind} values, expected {expected}"
            )
        arrays[kind] = np.array([entries[i] for i in range(len(entries))], dtype=np.float64)
    return Counterexample(x=arrays["X"], y=arrays["Y"])
