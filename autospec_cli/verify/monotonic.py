"""Counterexamples of monotonicity properties, replayed on the original model.

A ``sat`` answer on a twin network (:mod:`autospec_cli.vnnlib.twin`) is a twin input
``z = (x, d)``; it stands for the pair ``x`` and ``x' = min(x + d, hi)``. The 2.0 form
(``BENCH/2.0/``, the network declared twice) gives the pair ``z = (x, x')`` itself
(``form="pair"``). The runner has already re-checked ``z``; :func:`replay_pair` checks
what the property *means* on the original model in onnxruntime, with no tolerance: both
points in the box ``[lo, hi]`` (rounded to float32, one float32 step inwards where rounding
left the box), ``x <= x'`` componentwise, and the prediction moving against the direction
(``f(x') < f(x)`` for ``increasing``, ``f(x') > f(x)`` for ``decreasing``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.errors import InputError
from autospec_cli.verify.loading import onnx_runner
from autospec_cli.vnnlib.benchmark import confine


@dataclass
class PairCheck:
    """Outcome of replaying a pair; ``drop`` is how far the prediction moved the wrong way."""

    ok: bool
    reason: str
    x: np.ndarray
    x_prime: np.ndarray
    f_x: float
    f_x_prime: float

    @property
    def drop(self) -> float:
        return self.f_x - self.f_x_prime

    def to_json(self) -> dict[str, Any]:
        return {"confirmed": self.ok, "reason": self.reason, "x": self.x.tolist(),
                "x_prime": self.x_prime.tolist(), "f_x": self.f_x, "f_x_prime": self.f_x_prime}


def replay_pair(model: str | os.PathLike[str], z: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                direction: str, form: str = "twin") -> PairCheck:
    """Replay the twin input ``z`` as a pair on ``model`` (see the module docstring); with
    ``form="pair"`` (the VNN-LIB 2.0 query declaring the network twice) ``z`` is ``(x, x')``
    itself."""
    lo = np.asarray(lo, dtype=np.float64).reshape(-1)
    hi = np.asarray(hi, dtype=np.float64).reshape(-1)
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    n = lo.size
    if z.size != 2 * n:
        raise InputError(f"a twin counterexample has {2 * n} values, got {z.size}")
    x = _inside32(z[:n], lo, hi)
    xp = _inside32(z[n:] if form == "pair" else np.minimum(z[:n] + z[n:], hi), lo, hi)
    runner = onnx_runner(model, threads=1)
    y = np.asarray(runner.run(np.stack([x, xp])), dtype=np.float64).reshape(2, -1)[:, 0]
    fx, fxp = float(y[0]), float(y[1])
    x64, xp64 = x.astype(np.float64), xp.astype(np.float64)
    if not (np.all(x64 >= lo) and np.all(xp64 <= hi)):
        ok, reason = False, "the pair leaves the box"
    elif not np.all(x64 <= xp64):
        ok, reason = False, "x <= x' does not hold"
    elif direction == "increasing":
        ok = fxp < fx
        reason = f"f(x') = {fxp!r} < f(x) = {fx!r}" if ok else "f(x') >= f(x)"
    else:
        ok = fxp > fx
        reason = f"f(x') = {fxp!r} > f(x) = {fx!r}" if ok else "f(x') <= f(x)"
    return PairCheck(bool(ok), reason, x64, xp64, fx, fxp)


def _inside32(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``v`` rounded to float32, moved one float32 step back where rounding left the box."""
    v32 = v.astype(np.float32)
    v32 = np.where(v32.astype(np.float64) < lo, np.nextafter(v32, np.float32(np.inf)), v32)
    return np.where(v32.astype(np.float64) > hi, np.nextafter(v32, np.float32(-np.inf)), v32)


def replay_in_benchmark(bench: str | os.PathLike[str], vnnlib: str,
                        z: np.ndarray) -> PairCheck | None:
    """Replay ``z`` for the property file ``vnnlib`` (matched by file name) of an exported
    monotonicity benchmark on its original model; None if it is not such a property."""
    root = Path(bench)
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    for entry in manifest.get("instances", []):
        meta = entry.get("meta", {})
        if (Path(str(entry.get("vnnlib"))).name == Path(vnnlib).name
                and meta.get("kind") == "monotonic"):
            model = confine(root, root / meta["original_model"], "original model")
            return replay_pair(model, z, np.asarray(meta["lo"], float),
                               np.asarray(meta["hi"], float), str(meta["direction"]),
                               form=str(meta.get("form", "twin")))
    return None
