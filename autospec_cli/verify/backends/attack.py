"""``attack``: a falsifier that looks for counterexamples; it never proves a property.

For every case of the property (an input box and a disjunction of unsafe polytopes
``A_k y <= b_k``) it tries, within the instance's time limit:

1. the centre, the corners of the box (all ``2^n`` for ``n <= 10`` inputs, random corners
   otherwise) and ``samples`` uniform random points, evaluated in onnxruntime;
2. projected gradient descent with restarts through the torch conversion of the model
   (:func:`autospec_cli.verify.loading.load_torch_model`), minimising the margin
   ``min_k max_rows (A_k y - b_k)`` -- a point is a counterexample iff its margin is <= 0.
   Restarts (one batch) start from the best sampled points and from random points; the
   signed-gradient step is a fraction of each input's range -- ``step_size`` times
   ``2^-(r mod 5)`` for restart ``r``, so coarse and fine searches run side by side --
   decaying over the ``steps`` on a cosine schedule (:data:`PGD`, run by
   :func:`autospec_cli.verify.falsify.descend`).

Every candidate is confirmed in onnxruntime before ``sat`` is returned; the counterexample's
``x`` is the float32 point actually run (nudged by one ulp where rounding left the box) and
``y`` is onnxruntime's output for it. Answers: ``sat``; ``unknown`` when the budget is spent;
``timeout`` when the time limit cut the search short. Deterministic for a ``seed`` on CPU.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from autospec_cli.errors import VerifierError
from autospec_cli.verify.base import Counterexample, Instance, Parameter, Result, Verdict, Verifier
from autospec_cli.verify.falsify import (
    PGDConfig,
    case_margins,
    descend,
    snap_float32,
    torch_case_margin,
)
from autospec_cli.verify.loading import load_property, load_torch_model, onnx_runner
from autospec_cli.vnnlib.property import Case, Property

__all__ = ["PGD", "AttackVerifier", "case_margins", "cuda_status", "snap_float32"]

EXHAUSTIVE_CORNERS = 10  # all 2^n corners up to this many inputs
CHUNK = 4096  # rows per onnxruntime call
#: the gradient search's schedule; ``steps`` and ``step`` (and ``floor``, 1 % of it) come
#: from the options ``steps`` and ``step_size``
PGD = PGDConfig(schedule="cosine", scale_cycle=5, early_exit=True)


def cuda_status() -> tuple[bool, str]:
    """Can onnxruntime and torch both run on a CUDA GPU here?"""
    import onnxruntime as ort
    import torch

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False, "onnxruntime has no CUDA execution provider (install onnxruntime-gpu)"
    if not torch.cuda.is_available():
        return False, "torch sees no CUDA GPU"
    return True, ""


class _OutOfTime(Exception):
    pass


@dataclass
class _Search:
    """State of one instance's search: model handles, RNG, deadline and counters."""

    runner: Any
    rng: np.random.Generator
    deadline: float
    evaluations: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise _OutOfTime

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """onnxruntime outputs for rows of X (chunked), checking the clock between chunks."""
        out = []
        for s in range(0, X.shape[0], CHUNK):
            self.tick()
            out.append(np.asarray(self.runner.run(X[s : s + CHUNK]), dtype=np.float64))
        self.evaluations += X.shape[0]
        return np.concatenate(out, axis=0).reshape(X.shape[0], -1)


class AttackVerifier(Verifier):
    """Falsifier: random sampling, box corners and PGD; confirmed in onnxruntime. Never unsat."""

    name: ClassVar[str] = "attack"
    complete: ClassVar[bool] = False
    finds_sat: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Parameter]] = {
        "samples": Parameter(int, 2048, "uniform random points per case (plus centre and corners)",
                             min=0),
        "restarts": Parameter(
            int, 32, "PGD restarts per case, run as one batch (0 disables gradient search)", min=0
        ),
        "steps": Parameter(int, 100, "PGD steps per restart", min=0),
        "step_size": Parameter(float, 0.1, "initial PGD step as a fraction of each input's range"),
        "seed": Parameter(int, 0, "random seed (the search is deterministic for a seed on CPU)"),
        "device": Parameter(str, "cpu", "where to run the model", choices=("cpu", "cuda")),
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.options["device"] == "cuda":
            ok, why = cuda_status()
            if not ok:
                raise VerifierError(
                    f"attack: device=cuda is not usable here: {why}; use device=cpu"
                )

    def verify_instance(self, instance: Instance) -> Result:
        start = time.monotonic()
        runner = onnx_runner(instance.onnx, device=self.options["device"])
        prop = load_property(
            instance.vnnlib, n_inputs=runner.n_inputs, n_outputs=runner.n_outputs
        )
        search = _Search(
            runner, np.random.default_rng(self.options["seed"]), start + instance.timeout
        )
        notes: list[str] = []
        try:
            found, starts = self._sample_all(prop, search)
            if found is None and self.options["restarts"] > 0 and self.options["steps"] > 0:
                found = self._pgd_all(instance, prop, starts, search, notes)
        except _OutOfTime:
            return Result(
                Verdict.TIMEOUT,
                message="time limit reached before a counterexample was found",
                extra={"evaluations": search.evaluations},
            )
        extra = {"evaluations": search.evaluations}
        if found is None:
            msg = "no counterexample found" + (f"; {'; '.join(notes)}" if notes else "")
            return Result(Verdict.UNKNOWN, message=msg, extra=extra)
        cex, phase = found
        return Result(
            Verdict.SAT,
            counterexample=cex,
            message=f"counterexample found by {phase}",
            extra={**extra, "phase": phase},
        )

    def refine(self, instance: Instance, x0: np.ndarray, budget: float) -> Counterexample | None:
        """Search near ``x0`` (e.g. another tool's rounded counterexample) for an exact one.

        ``x0`` is clipped into each case box that contains it within 1e-4 and replayed; if that
        is not a violation, gradient search starts from it (plus ``restarts - 1`` random
        points). Returns a confirmed counterexample or None within ``budget`` seconds.
        """
        device = self.options["device"]
        runner = onnx_runner(instance.onnx, device=device)
        prop = load_property(
            instance.vnnlib, n_inputs=runner.n_inputs, n_outputs=runner.n_outputs
        )
        search = _Search(
            runner, np.random.default_rng(self.options["seed"]), time.monotonic() + budget
        )
        x0 = np.asarray(x0, dtype=np.float64).reshape(1, -1)
        try:
            for case in prop.cases:
                if not case.contains(x0, 1e-4)[0]:
                    continue
                X = snap_float32(x0, case.lo, case.hi)
                Y = search.evaluate(X)
                if case_margins(case, Y)[0] <= 0:
                    return Counterexample(x=X[0].copy(), y=Y[0].copy())
                model = load_torch_model(instance.onnx, device=device)
                found = self._pgd_case(model, case, X, search)
                if found is not None:
                    return found
        except _OutOfTime:
            return None
        return None

    # -- phase 1: centre, corners, uniform samples -------------------------------------------

    def _candidates(self, case: Case, rng: np.random.Generator) -> np.ndarray:
        lo, hi = case.lo, case.hi
        n = lo.size
        pts = [(lo + hi) / 2]
        if n <= EXHAUSTIVE_CORNERS:
            bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
        else:
            bits = rng.integers(0, 2, size=(max(1, self.options["samples"] // 4), n))
        pts.extend(np.where(bits == 1, hi, lo))
        if self.options["samples"]:
            pts.extend(lo + (hi - lo) * rng.random((self.options["samples"], n)))
        return np.asarray(pts, dtype=np.float64)

    def _sample_all(
        self, prop: Property, search: _Search
    ) -> tuple[tuple[Counterexample, str] | None, list[np.ndarray]]:
        """Try the candidates of every case; also return each case's best points (PGD starts)."""
        starts: list[np.ndarray] = []
        for case in prop.cases:
            X = snap_float32(self._candidates(case, search.rng), case.lo, case.hi)
            Y = search.evaluate(X)
            m = case_margins(case, Y)
            hit = np.flatnonzero(m <= 0)
            if hit.size:
                k = hit[np.argmin(m[hit])]
                return (Counterexample(x=X[k].copy(), y=Y[k].copy()), "sampling"), starts
            order = np.argsort(m, kind="stable")
            starts.append(X[order[: math.ceil(self.options["restarts"] / 2)]])
        return None, starts

    # -- phase 2: projected gradient descent -------------------------------------------------

    def _pgd_all(
        self,
        instance: Instance,
        prop: Property,
        starts: list[np.ndarray],
        search: _Search,
        notes: list[str],
    ) -> tuple[Counterexample, str] | None:
        try:
            model = load_torch_model(instance.onnx, device=self.options["device"])
        except Exception as e:  # unsupported operator: sampling only
            notes.append(
                f"gradient search skipped ({type(e).__name__}: {' '.join(str(e).split())[:120]})"
            )
            return None
        for case, best in zip(prop.cases, starts, strict=True):
            found = self._pgd_case(model, case, best, search)
            if found is not None:
                return found, "gradient search"
        return None

    def _pgd_case(
        self, model: Any, case: Case, best: np.ndarray, search: _Search
    ) -> Counterexample | None:
        import torch

        device = self.options["device"]
        lo, hi = case.lo, case.hi
        R = self.options["restarts"]
        rand = lo + (hi - lo) * search.rng.random((max(0, R - best.shape[0]), lo.size))
        X0 = np.concatenate([best, rand], axis=0)[:R]
        tlo = torch.as_tensor(lo, dtype=torch.float32, device=device)
        thi = torch.as_tensor(hi, dtype=torch.float32, device=device)
        out_margin = torch_case_margin(case, torch.float32, device)
        x = torch.as_tensor(X0, dtype=torch.float32, device=device)
        step = self.options["step_size"]
        cfg = replace(PGD, steps=self.options["steps"], step=step, floor=0.01 * step)
        run = descend(
            lambda z: out_margin(model(z)),
            x,
            tlo,
            thi,
            cfg,
            check=lambda z, m: self._confirm(z, m, case, search),
            tick=search.tick,
        )
        return run.found

    def _confirm(self, x: Any, margin: Any, case: Case, search: _Search) -> Counterexample | None:
        """Replay the most promising rows in onnxruntime; return the first real violation."""
        order = margin.argsort().cpu().numpy()[: max(1, min(8, margin.numel()))]
        X = snap_float32(x.cpu().numpy().astype(np.float64)[order], case.lo, case.hi)
        Y = search.evaluate(X)
        m = case_margins(case, Y)
        hit = np.flatnonzero(m <= 0)
        if hit.size == 0:
            return None
        return Counterexample(x=X[hit[0]].copy(), y=Y[hit[0]].copy())

