"""L-inf robustness of one model on a set of images: bounds, unstable ReLUs, then an attack.

For every image ``x0`` with label ``c`` the input box is ``[x0 - eps, x0 + eps]`` clipped to the
domain; the specification matrix has one row ``y_c - y_j`` per ``j != c`` and the image is
*robust* when every row's lower bound is > 0. Bound methods (``IBP``, ``CROWN``,
``alpha-CROWN`` through auto_LiRPA, :func:`autospec_cli.models.lirpa_compat.compute_bounds`)
are tried in the given order on what is still undecided; the attack runs right after the
first method, so the (slower) later methods only see instances no attack could break. The
number of *unstable* ReLUs (a pre-activation interval containing 0 strictly inside it) is
read from the intermediate bounds of the first method's call. The attack (:func:`attack`)
tries random points including both box bounds, then projected gradient descent; a candidate
only counts once onnxruntime confirms it
(:func:`autospec_cli.verify.cex.check_counterexample`), and the instance becomes *not robust*.

Times: with ``batch = 1`` each instance is bounded alone and its time is its own; with
``batch > 1`` a bound call's time is shared equally among its instances (amortised).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from autospec_cli.vnnlib.builders import robustness_property

ROBUST, UNKNOWN, NOT_ROBUST = "robust", "unknown", "not_robust"
VERDICTS: tuple[str, ...] = (ROBUST, UNKNOWN, NOT_ROBUST)


@dataclass(frozen=True)
class AttackConfig:
    """Budget of the falsification step."""

    samples: int = 64
    restarts: int = 8
    steps: int = 40
    seed: int = 0


@dataclass
class InstanceResult:
    """One model x image verdict; ``cex`` is the confirmed counterexample when not robust."""

    index: int
    label: int
    verdict: str
    time: float
    unstable: int
    margin: float  # the smallest lower bound of y_c - y_j (> 0: robust)
    decided_by: str
    cex: np.ndarray | None = None
    cex_y: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"image": self.index, "label": self.label, "verdict": self.verdict,
                "time": self.time, "unstable": self.unstable, "margin": self.margin,
                "decided_by": self.decided_by}


def spec_matrix(labels: Sequence[int], n_classes: int) -> np.ndarray:
    """``(N, n_classes - 1, n_classes)``: rows ``e_c - e_j`` for every ``j != c``."""
    C = np.zeros((len(labels), n_classes - 1, n_classes), dtype=np.float32)
    for i, c in enumerate(labels):
        others = [j for j in range(n_classes) if j != int(c)]
        C[i, np.arange(n_classes - 1), int(c)] = 1.0
        C[i, np.arange(n_classes - 1), others] = -1.0
    return C


def boxes(X: np.ndarray, eps: float, domain: tuple[float, float] = (0.0, 1.0)
          ) -> tuple[np.ndarray, np.ndarray]:
    """The L-inf boxes around the rows of ``X`` (flattened), clipped to ``domain``."""
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    return np.clip(X - eps, *domain), np.clip(X + eps, *domain)


def _bound_nodes(bm: Any) -> list[Any]:
    return list(bm.nodes()) if hasattr(bm, "nodes") else list(bm._modules.values())


def unstable_relus(model: torch.nn.Module, n_inputs: int) -> np.ndarray | None:
    """Per-instance count of unstable ReLUs from the bounds of the model's last bound call
    (``lower < 0 < upper`` of every ReLU's input); None when they are not available."""
    from autospec_cli.models.lirpa_compat import bound_input_shape, bounded_module

    bm = bounded_module(model, bound_input_shape(model, n_inputs))
    total = None
    for node in _bound_nodes(bm):
        if type(node).__name__ != "BoundRelu":
            continue
        pre = node.inputs[0]
        lo, hi = getattr(pre, "lower", None), getattr(pre, "upper", None)
        if lo is None or hi is None:
            return None
        n = ((lo < 0) & (hi > 0)).reshape(len(lo), -1).sum(dim=1).cpu().numpy()
        total = n if total is None else total + n
    return total


def _margins(model: torch.nn.Module, X: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``min_{j != c} (y_c - y_j)`` per row (<= 0: misclassified or tied)."""
    Y = model(X)
    return Y.gather(1, labels[:, None])[:, 0] - _max_other(Y, labels)


def _max_other(Y: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    mask = torch.nn.functional.one_hot(labels, Y.shape[1]).bool()
    return Y.masked_fill(mask, float("-inf")).max(dim=1).values


def _random_points(lo: np.ndarray, hi: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``lo``, ``hi``, ``k // 2`` random corners and the rest uniform points of one box."""
    pts = [lo[None], hi[None]]
    n_corner = max(0, k // 2)
    if n_corner:
        pts.append(np.where(rng.random((n_corner, lo.size)) < 0.5, lo, hi))
    if k - n_corner > 0:
        pts.append(lo + rng.random((k - n_corner, lo.size)) * (hi - lo))
    return np.concatenate(pts)


def attack(model: torch.nn.Module, lo: np.ndarray, hi: np.ndarray, labels: Sequence[int],
           cfg: AttackConfig) -> list[np.ndarray | None]:
    """A candidate counterexample (float64, in the box) per box, or None; not yet confirmed."""
    rng = np.random.default_rng(cfg.seed)
    found: list[np.ndarray | None] = [None] * len(lo)
    lab = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    with torch.no_grad():
        for i in range(len(lo)):
            P = _random_points(lo[i], hi[i], cfg.samples, rng)
            m = _margins(model, torch.as_tensor(P, dtype=torch.float32), lab[i].repeat(len(P)))
            j = int(torch.argmin(m))
            if float(m[j]) <= 0:
                found[i] = P[j]
    todo = [i for i in range(len(lo)) if found[i] is None]
    if todo and cfg.restarts and cfg.steps:
        for i, x in zip(todo, _pgd(model, lo[todo], hi[todo], lab[todo], cfg, rng), strict=True):
            found[i] = x
    return found


def _pgd(model: torch.nn.Module, lo: np.ndarray, hi: np.ndarray, labels: torch.Tensor,
         cfg: AttackConfig, rng: np.random.Generator) -> list[np.ndarray | None]:
    """Signed-gradient descent on the margin, ``restarts`` random starts per box, batched."""
    R, n = cfg.restarts, len(lo)
    lo_t = torch.as_tensor(np.repeat(lo, R, axis=0), dtype=torch.float32)
    hi_t = torch.as_tensor(np.repeat(hi, R, axis=0), dtype=torch.float32)
    lab = labels.repeat_interleave(R)
    x = lo_t + torch.as_tensor(rng.random(lo_t.shape), dtype=torch.float32) * (hi_t - lo_t)
    width = hi_t - lo_t
    best_x, best_m = x.clone(), torch.full((len(x),), float("inf"))
    for step in range(cfg.steps):
        x.requires_grad_(True)
        m = _margins(model, x, lab)
        (g,) = torch.autograd.grad(m.sum(), x)
        with torch.no_grad():
            better = m < best_m
            best_m = torch.where(better, m.detach(), best_m)
            best_x[better] = x.detach()[better]
            size = 0.25 * (0.5 * (1 + np.cos(np.pi * step / cfg.steps))) + 0.01
            x = torch.minimum(torch.maximum(x - size * width * g.sign(), lo_t), hi_t)
    with torch.no_grad():
        m = _margins(model, x, lab)
        better = m < best_m
        best_m = torch.where(better, m, best_m)
        best_x[better] = x[better]
    out: list[np.ndarray | None] = []
    bm, bx = best_m.reshape(n, R), best_x.reshape(n, R, -1)
    for i in range(n):
        j = int(torch.argmin(bm[i]))
        out.append(bx[i, j].double().numpy() if float(bm[i, j]) <= 0 else None)
    return out


def _confirm(runner: Any, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, x0: np.ndarray,
             eps: float, label: int, domain: tuple[float, float]) -> tuple[bool, np.ndarray | None]:
    from autospec_cli.verify.backends.attack import snap_float32
    from autospec_cli.verify.cex import check_counterexample

    xs = snap_float32(x[None], lo[None], hi[None])[0]
    prop = robustness_property(x0, eps, label, runner.n_outputs, *domain)
    chk = check_counterexample(runner, prop, xs)
    return bool(chk.ok), (xs if chk.ok else None)


def verify_images(model: torch.nn.Module, runner: Any, X: np.ndarray, labels: Sequence[int],
                  indices: Sequence[int], *, eps: float, methods: Sequence[str] = ("CROWN",),
                  domain: tuple[float, float] = (0.0, 1.0), batch: int = 1,
                  attack_cfg: AttackConfig | None = None, progress: Any = None
                  ) -> list[InstanceResult]:
    """Verify every row of ``X`` (model inputs) against its label (see the module docstring).

    ``model``: the torch form of the ONNX model (bounds and attack), ``runner``: its
    onnxruntime runner (counterexample confirmation). ``indices`` name the images in results.
    """
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    out: list[InstanceResult] = []
    for s in range(0, len(X), batch):
        sl = slice(s, s + batch)
        out += _verify_chunk(model, runner, X[sl], list(labels[sl]), list(indices[sl]), eps,
                             methods, domain, attack_cfg or AttackConfig())
        if progress is not None:
            progress("verify", min(len(X), s + batch), len(X))
    return out


def _bound(model: torch.nn.Module, lo: np.ndarray, hi: np.ndarray, C: np.ndarray,
           method: str) -> np.ndarray:
    from autospec_cli.models.lirpa_compat import compute_bounds

    lb, _ = compute_bounds(model, lo, hi, C, method)
    return lb.min(axis=1)


def _attack_step(model: torch.nn.Module, runner: Any, X: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray, labels: list[int], results: list[InstanceResult],
                 todo: list[int], eps: float, domain: tuple[float, float],
                 acfg: AttackConfig) -> None:
    seed = acfg.seed + results[todo[0]].index
    cands = attack(model, lo[todo], hi[todo], [labels[i] for i in todo],
                   AttackConfig(acfg.samples, acfg.restarts, acfg.steps, seed))
    for i, x in zip(todo, cands, strict=True):
        if x is None:
            continue
        ok, xs = _confirm(runner, x, lo[i], hi[i], X[i], eps, labels[i], domain)
        if ok and xs is not None:
            r = results[i]
            r.verdict, r.decided_by, r.cex = NOT_ROBUST, "attack", xs
            r.cex_y = np.asarray(runner.run(xs[None]), dtype=np.float64)[0]


def _verify_chunk(model: torch.nn.Module, runner: Any, X: np.ndarray, labels: list[int],
                  indices: list[int], eps: float, methods: Sequence[str],
                  domain: tuple[float, float], acfg: AttackConfig) -> list[InstanceResult]:
    """First bound method on all, attack what it leaves, then the other methods on the rest."""
    n = len(X)
    lo, hi = boxes(X, eps, domain)
    C = spec_matrix(labels, runner.n_outputs)
    times = np.zeros(n)
    t0 = time.perf_counter()
    margin = _bound(model, lo, hi, C, methods[0])
    counts = unstable_relus(model, X.shape[1])
    times += (time.perf_counter() - t0) / n
    results = [InstanceResult(int(indices[i]), int(labels[i]),
                              ROBUST if margin[i] > 0 else UNKNOWN, 0.0,
                              -1 if counts is None else int(counts[i]), float(margin[i]),
                              methods[0] if margin[i] > 0 else "") for i in range(n)]
    todo = [i for i in range(n) if results[i].verdict == UNKNOWN]
    if todo:
        t0 = time.perf_counter()
        _attack_step(model, runner, X, lo, hi, labels, results, todo, eps, domain, acfg)
        times[todo] += (time.perf_counter() - t0) / len(todo)
    for method in methods[1:]:
        todo = [i for i in range(n) if results[i].verdict == UNKNOWN]
        if not todo:
            break
        t0 = time.perf_counter()
        m = _bound(model, lo[todo], hi[todo], C[todo], method)
        times[todo] += (time.perf_counter() - t0) / len(todo)
        for i, v in zip(todo, m, strict=True):
            results[i].margin = max(results[i].margin, float(v))
            if v > 0:
                results[i].verdict, results[i].decided_by = ROBUST, method
    for r, t in zip(results, times, strict=True):
        r.time = float(t)
    return results


__all__ = ["NOT_ROBUST", "ROBUST", "UNKNOWN", "VERDICTS", "AttackConfig", "InstanceResult",
           "attack", "boxes", "spec_matrix", "unstable_relus", "verify_images"]
