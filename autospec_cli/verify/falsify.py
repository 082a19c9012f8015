"""Falsification: signed-gradient search for counterexamples inside input boxes.

A *margin* function maps a batch of inputs ``x`` (N, n) to one number per row that is ``<= 0``
exactly where the row violates the specification (for a case of a property:
``min_k max_rows (A_k y - b_k)``, see :func:`case_margins`). Falsifying means driving the
margin down to ``<= 0`` without leaving the box. Every gradient falsifier of the package runs
the one loop here, :func:`descend` (projected gradient descent with signed steps, often
called PGD or iterated FGSM); what differs between callers is a :class:`PGDConfig`:

* ``steps`` gradient steps; the step of iterate ``t`` is a fraction of each input's range,
  ``step * decay(t) + floor`` with ``decay`` ``1 - t / steps`` (``schedule="linear"``) or
  ``(1 + cos(pi t / steps)) / 2`` (``"cosine"``);
* restarts are the rows of the starting batch; with ``scale_cycle = c`` row ``r`` takes steps
  ``2^-(r mod c)`` times as large, so coarse and fine searches run side by side (``c = 1``:
  all rows alike);
* ``early_exit``: the caller's ``check`` sees every iterate that has a row with margin ``<= 0``
  and may stop the search (e.g. once onnxruntime confirms the point); it always sees the
  last iterate;
* ``track_best``: also return, per row, the iterate with the smallest margin seen.

The caller supplies the margin (any differentiable torch function), the starting points
(:func:`box_starts` draws the usual ones: centre, uniform points, corners of small boxes),
the box (one box for every row, or one per row), an optional ``check`` that turns a
promising iterate into a result (confirming it elsewhere), and an optional ``tick`` that
raises when the caller's deadline has passed (it runs before every margin evaluation).
Example -- a robustness attack on a classifier with label ``c``::

    def margin(x):
        y = model(x)
        return y[:, c] - y.masked_fill(onehot, -inf).max(dim=1).values

    x0 = box_starts(lo, hi, 32, generator=torch.Generator().manual_seed(0))
    run = descend(margin, x0, lo, hi, PGDConfig(steps=40, track_best=True))
    hits = run.best_x[run.best_margin <= 0]   # candidates: replay them in onnxruntime

Users: the ``attack`` backend (cosine schedule, one batch of restarts per case),
``bab``'s attack before branching and its polishing of candidate points inside every box
(linear schedules; see :mod:`autospec_cli.verify.backends.bab.search`).

The numpy helpers :func:`case_margins` (margins of outputs for a case) and
:func:`snap_float32` (round points to float32 without leaving the box) serve the replay of
candidates in onnxruntime.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np

from autospec_cli.errors import VerifierError
from autospec_cli.vnnlib.property import Case

if TYPE_CHECKING:  # torch is imported where it is used: importing this module stays cheap
    import torch

__all__ = [
    "Descent", "MarginFn", "PGDConfig", "box_starts", "case_margins", "descend",
    "restart_scales", "snap_float32", "torch_case_margin",
]

T = TypeVar("T")

#: ``margin(x)``: one value per row of ``x``, ``<= 0`` iff the row violates the specification.
MarginFn = Callable[["torch.Tensor"], "torch.Tensor"]

SCHEDULES = ("cosine", "linear")


@dataclass(frozen=True)
class PGDConfig:
    """How :func:`descend` steps (see the module docstring)."""

    steps: int = 100
    step: float = 0.1  # first step, as a fraction of each input's range
    floor: float = 0.0  # added to every step (same unit)
    schedule: str = "cosine"  # "cosine" or "linear" decay of ``step`` over the steps
    scale_cycle: int = 5  # row r steps 2^-(r mod scale_cycle) as far (1: all rows alike)
    early_exit: bool = True  # let ``check`` see every iterate with a violating row
    track_best: bool = False  # keep each row's iterate with the smallest margin

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise VerifierError(f"falsify: steps must be >= 0, not {self.steps}")
        if self.schedule not in SCHEDULES:
            raise VerifierError(
                f"falsify: schedule {self.schedule!r} is not one of {', '.join(SCHEDULES)}"
            )
        if self.scale_cycle < 1:
            raise VerifierError(f"falsify: scale_cycle must be >= 1, not {self.scale_cycle}")

    def rate(self, t: int) -> float:
        """The step (fraction of the range) taken from iterate ``t`` (0 <= t < steps)."""
        if self.schedule == "cosine":
            decay = 0.5 * (1 + math.cos(math.pi * t / self.steps))
        else:
            decay = 1 - t / self.steps
        return self.step * decay + self.floor


@dataclass
class Descent(Generic[T]):
    """What :func:`descend` ended with: the last iterate ``x`` (detached), what ``check``
    returned when it stopped the search (``found``, else None), the gradient ``steps`` taken,
    and with ``track_best`` each row's best iterate and its margin."""

    x: torch.Tensor
    found: T | None = None
    steps: int = 0
    best_x: torch.Tensor | None = None
    best_margin: torch.Tensor | None = None


def restart_scales(n: int, cycle: int, like: torch.Tensor) -> torch.Tensor:
    """(n, 1) step multipliers ``2^-(r mod cycle)``, in ``like``'s dtype and device."""
    import torch

    return torch.tensor(
        [0.5 ** (r % cycle) for r in range(n)], dtype=like.dtype, device=like.device
    )[:, None]


def box_starts(
    lo: torch.Tensor,
    hi: torch.Tensor,
    n_random: int,
    *,
    generator: torch.Generator | None = None,
    centre: bool = True,
    corners_up_to: int = 6,
) -> torch.Tensor:
    """Starting points in the box ``[lo, hi]`` (1-d tensors): the centre (first, with
    ``centre``), ``n_random`` uniform points drawn with ``generator``, then all ``2^d`` corners
    when the box has ``d <= corners_up_to`` inputs."""
    import torch

    d = lo.numel()
    u = torch.rand(n_random, d, generator=generator, device=lo.device, dtype=lo.dtype)
    if d <= corners_up_to:
        shift = torch.arange(d, device=lo.device)
        bits = torch.arange(2**d, device=lo.device)[:, None] >> shift
        u = torch.cat([u, (bits & 1).to(lo.dtype)])
    points = lo + (hi - lo) * u
    return torch.cat([((lo + hi) / 2)[None], points]) if centre else points


def descend(
    margin: MarginFn,
    x: torch.Tensor,
    lo: torch.Tensor,
    hi: torch.Tensor,
    config: PGDConfig,
    *,
    check: Callable[[torch.Tensor, torch.Tensor], T | None] | None = None,
    tick: Callable[[], None] | None = None,
) -> Descent[T]:
    """Signed-gradient descent on ``margin`` from the rows of ``x``, projected onto the box.

    ``lo``/``hi`` broadcast against ``x`` (one box for all rows, or one per row) and share its
    dtype and device. Each of ``config.steps`` steps moves every row by
    ``rate(t) * scale_r * (hi - lo)`` against the sign of the margin's gradient and clips it
    into the box. ``check(x, margin)`` (both detached) is called on every iterate with a row
    whose margin is ``<= 0`` (when ``config.early_exit``) and on the last iterate; a non-None
    return ends the search and is returned as ``found``. ``tick()`` runs before every margin
    evaluation and may raise to abandon the search. Without ``check`` and ``track_best`` the
    last iterate is not evaluated.
    """
    import torch

    cfg = config
    width = hi - lo
    if cfg.scale_cycle == 1:
        scale = width
    else:
        scale = restart_scales(x.shape[0], cfg.scale_cycle, x) * width
    best_x = best_m = None
    if cfg.track_best:
        best_x = x.detach().clone()
        best_m = torch.full((x.shape[0],), torch.inf, dtype=x.dtype, device=x.device)
    for t in range(cfg.steps):
        if tick is not None:
            tick()
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            m = margin(x)
        if cfg.track_best:
            best_x, best_m = _keep_best(x.detach(), m.detach(), best_x, best_m)
        if check is not None and cfg.early_exit and bool((m <= 0).any()):
            found = check(x.detach(), m.detach())
            if found is not None:
                return Descent(x.detach(), found, t, best_x, best_m)
        (grad,) = torch.autograd.grad(m.sum(), x)
        x = torch.minimum(torch.maximum(x.detach() - cfg.rate(t) * scale * grad.sign(), lo), hi)
    x = x.detach()
    found = None
    if check is not None or cfg.track_best:
        if tick is not None:
            tick()
        with torch.no_grad():
            m = margin(x)
        if cfg.track_best:
            best_x, best_m = _keep_best(x, m, best_x, best_m)
        if check is not None:
            found = check(x, m)
    return Descent(x, found, cfg.steps, best_x, best_m)


def _keep_best(
    x: torch.Tensor, m: torch.Tensor, best_x: torch.Tensor | None, best_m: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    assert best_x is not None and best_m is not None
    better = m < best_m
    return torch.where(better[:, None], x, best_x), torch.where(better, m, best_m)


def torch_case_margin(case: Case, dtype: torch.dtype, device: str | torch.device) -> MarginFn:
    """A margin function of the outputs ``y`` (N, ...) for ``case``:
    ``min_k max_rows (A_k y - b_k)`` in ``dtype`` (``-inf`` for an empty polytope)."""
    import torch

    polys = [
        (
            torch.as_tensor(p.A, dtype=dtype, device=device),
            torch.as_tensor(p.b, dtype=dtype, device=device),
        )
        for p in case.disjuncts
    ]

    def margin(Y: torch.Tensor) -> torch.Tensor:
        best = None
        for A, b in polys:
            if A.shape[0] == 0:
                m = torch.full((Y.shape[0],), -float("inf"), device=Y.device)
            else:
                m = (Y.reshape(Y.shape[0], -1) @ A.T - b).max(dim=1).values
            best = m if best is None else torch.minimum(best, m)
        assert best is not None
        return best

    return margin


def case_margins(case: Case, Y: np.ndarray) -> np.ndarray:
    """``min_k max_rows (A_k y - b_k)`` per row of ``Y``: <= 0 iff ``y`` is unsafe for ``case``."""
    Y = np.atleast_2d(Y)
    best = np.full(Y.shape[0], np.inf)
    for p in case.disjuncts:
        m = np.full(Y.shape[0], -np.inf) if p.A.shape[0] == 0 else np.max(Y @ p.A.T - p.b, axis=1)
        best = np.minimum(best, m)
    return best


def snap_float32(X: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Round to float32 and nudge entries that rounding pushed out of ``[lo, hi]`` back in."""
    X32 = np.clip(X, lo, hi).astype(np.float32)
    for _ in range(2):
        below = X32.astype(np.float64) < lo
        above = X32.astype(np.float64) > hi
        if not (below.any() or above.any()):
            break
        X32 = np.where(below, np.nextafter(X32, np.float32(np.inf)), X32)
        X32 = np.where(above, np.nextafter(X32, np.float32(-np.inf)), X32)
    return X32.astype(np.float64)
