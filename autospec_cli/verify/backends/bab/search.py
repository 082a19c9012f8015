"""Branch and bound over input boxes: the search behind the ``bab`` backend.

One *case* of a property (an input box and the disjunction of unsafe polytopes ``A_k y <= b_k``)
is decided by keeping a stack of sub-boxes that may still contain a counterexample:

1. take up to ``batch`` boxes, bound all rows of all polytopes over them in one call
   (:class:`Bounder`: native float64 CROWN for affine/ReLU chains, auto_LiRPA otherwise);
2. a box is *refuted* when every polytope has a row whose lower bound exceeds its ``b`` by
   more than the safety margin ``tol(b)``; refuted boxes are dropped;
3. the others are *clipped* (:meth:`CaseSearch._clip`): CROWN's linear lower bound
   ``lA x + lbias`` of each row (and a convex combination of a polytope's rows) says where in
   the box the row can still be ``<= b + tol``; the box shrinks to that part (the hull over
   polytopes) and is refuted when it becomes empty -- only points refuted with the full
   safety margin are cut away;
4. the model is run at the centre of every surviving box and at the corner that minimises the
   CROWN bound of its most promising polytope, then at those points after a few signed
   gradient steps inside the box; a point whose output lies in an unsafe polytope is a
   *candidate*, handed to ``confirm`` (the backend replays it in onnxruntime) -- only a
   confirmed candidate ends the search with ``sat``;
5. the other survivors are bisected. ``branching="coef"``: along the input whose width,
   weighted by the magnitude of the bound's linear coefficients, contributes most to the
   bound's looseness; ``"trial"``: both halves along every input are bounded and the input
   whose halves are closest to refuted wins (``2 d`` extra bounds per box, far fewer boxes on
   ACAS Xu property 1, where coefficients point at the narrow inputs); ``"mixed"`` (default):
   each box draws one of the two (trial alone can starve an input that only pays off after
   several splits, as on ACAS Xu property 2). Trial is used only up to ``TRIAL_MAX_INPUTS``
   inputs: its one bound call per step grows with ``2 d`` x the batch, which on a 400-input
   network is hundreds of thousands of boxes, minutes past any deadline between steps.

``unsat`` is returned only when the stack empties. Boxes that can no longer be split (every
side below ``min_width``) without being refuted or yielding a confirmed counterexample make the
answer ``unknown``, never ``unsat``.

Floating point. The native bounds are computed in float64 from the float32 weights (exactly
representable), so their rounding error is ~1e-16 relative; the auto_LiRPA fallback computes
in float32 (~1e-7 relative). A box is refuted only when ``lb > b + tol`` with
``tol = rel_tol * (1 + |b| + |lb|)``; the default ``rel_tol`` (1e-6 native, 1e-5 float32) is
orders of magnitude above the rounding error of either, so rounding cannot produce a false
``unsat``. The price is that a property whose true margin is below ``tol`` is not proved (the
search splits until ``min_width`` and answers ``unknown``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from autospec_cli.errors import ModelError, VerifierError
from autospec_cli.models.interval import interval_bounds, lower_of_rows, needs_intervals
from autospec_cli.models.lirpa_compat import compute_bounds
from autospec_cli.verify.backends.bab import crown
from autospec_cli.verify.falsify import PGDConfig, box_starts, descend
from autospec_cli.vnnlib.property import Case

#: root CROWN passes' worth of time that must be left, per 20 steps, for the uninterruptible
#: alpha-CROWN root (20 steps cost about 10 measured)
ALPHA_ROOT_COST = 25.0
#: steps of the alpha-CROWN root's stages (each on the polytopes the stage before left open)
ALPHA_ROOT_ITERS = (20, 100)

#: ``confirm(x)`` -> the model output if ``x`` is a real counterexample of the case, else None.
ConfirmFn = Callable[[np.ndarray], "np.ndarray | None"]


@dataclass(frozen=True)
class SearchConfig:
    """Knobs of the search (see the module docstring)."""

    batch: int = 1024
    rel_tol: float | None = None  # None: 1e-6 for native float64 bounds, 1e-5 for float32
    min_width: float = 1e-9
    attack_restarts: int = 32
    attack_steps: int = 40
    seed: int = 0
    alpha_steps: int = 0  # optimised lower ReLU slopes on the output bound (0: plain CROWN)
    polish_steps: int = 8  # gradient steps from each box's candidate points (0: none)
    trial_share: float = 0.5  # with "mixed": the share of boxes split by trial
    branching: str = "mixed"  # see CaseSearch._step: "trial", "coef" or "mixed" (half each)
    leaf: str = "none"  # "milp": decide boxes exactly with HiGHS (see CaseSearch._leaves)
    leaf_unstable: int = 16  # boxes with at most this many unstable ReLUs go to the MILP
    leaf_share: float = 0.5  # of the search's time, at most, spent in MILP leaves
    leaf_time: float = 1.0  # seconds per MILP leaf (boxes at min_width: 5x)
    root_alpha: bool = False  # fallback bounds: alpha-CROWN on the whole box after the attack


#: the most inputs for which "trial" and "mixed" branching bound both halves along every
#: input (see the module docstring, step 5); wider boxes are split by coefficients
TRIAL_MAX_INPUTS = 20

#: the attack before branching (``steps`` from ``SearchConfig.attack_steps``): checks every
#: iterate, restarts at step scales 2^-(r mod 5)
ATTACK = PGDConfig(step=0.1, floor=0.005, schedule="linear", scale_cycle=5, early_exit=True)
#: the polishing of candidate points inside their boxes (``steps``: ``polish_steps``)
POLISH = PGDConfig(step=0.25, floor=0.01, schedule="linear", scale_cycle=1, early_exit=False)


@dataclass
class Outcome:
    """What the search found for one case: ``sat`` (with ``x``, ``y``), ``unsat``, ``unknown``
    or ``timeout``; ``stats`` counts boxes and bound calls."""

    verdict: str
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    phase: str = ""
    stats: dict[str, Any] = field(default_factory=dict)


class Bounder:
    """Bounds and forward passes of one model, natively when it is an affine/ReLU chain."""

    def __init__(self, model: torch.nn.Module, n_inputs: int, device: str = "cpu") -> None:
        self.model, self.device = model, device
        layers = crown.extract_affine_relu(model)
        if layers is not None and not self._matches(layers, n_inputs):
            layers = None
        self.layers = None if layers is None else [(W.to(device), b.to(device)) for W, b in layers]
        self.native = self.layers is not None  # the branches below test self.layers itself
        #: bounded by interval arithmetic alone (modules auto_LiRPA has no rule for)
        self.intervals_only = not self.native and needs_intervals(model)
        self.dtype = torch.float64 if self.native else torch.float32

    def _matches(self, layers: crown.Layers, n_inputs: int) -> bool:
        if layers[0][0].shape[1] != n_inputs:
            return False
        x = torch.rand(8, n_inputs, dtype=torch.float64) * 2 - 1
        with torch.no_grad():
            ref = self.model(x.float().to(self.device)).double().cpu().reshape(8, -1)
        mine = crown.forward(layers, x)
        return mine.shape == ref.shape and bool(torch.allclose(mine, ref, rtol=1e-4, atol=1e-4))

    def outputs(self, X: torch.Tensor) -> torch.Tensor:
        """Model outputs (N, n_out) for rows of X (float64 natively, float32 otherwise)."""
        with torch.no_grad():
            if self.layers is not None:  # native
                return crown.forward(self.layers, X.to(torch.float64))
            return self.model(X.to(torch.float32)).reshape(X.shape[0], -1).to(self.dtype)

    def lower(
        self, lo: torch.Tensor, hi: torch.Tensor, C: torch.Tensor, alpha_steps: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor]:
        """``(lb, lA, lbias, scale)`` of ``C y`` per float64 box, with ``C y >= lA x + lbias``
        on the box; ``lA`` and ``lbias`` are None for the fallback. ``scale`` is the magnitude
        the safety margin is relative to; ``alpha_steps``: see :func:`crown.crown_lower`."""
        return self.lower_hidden(lo, hi, C, alpha_steps)[:4]

    def lower_hidden(
        self,
        lo: torch.Tensor,
        hi: torch.Tensor,
        C: torch.Tensor,
        alpha_steps: int = 0,
        prior: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor, torch.Tensor]:
        """:meth:`lower` plus the packed hidden bounds used ((N, 2, H); H = 0 for the
        fallback). ``prior``: hidden bounds valid on boxes containing these (a parent's)."""
        if self.layers is not None:  # native
            if prior is not None and prior.shape[2] == 0:
                prior = None
            with torch.no_grad():
                r = crown.crown_lower(self.layers, lo, hi, C, alpha_steps=alpha_steps, prior=prior)
            hidden = r.hidden if r.hidden is not None else lo.new_zeros(lo.shape[0], 2, 0)
            return r.lb, r.lA, r.lbias, r.lb.abs(), hidden

        # interval bounds: the only ones for step functions and products, and a cheap second
        # opinion beside CROWN otherwise (both are sound, so the larger lower bound wins)
        try:
            with torch.no_grad():
                ylo, yhi = interval_bounds(self.model, lo, hi)
        except ModelError:  # a module without an interval rule: CROWN alone (it has one)
            if self.intervals_only:
                raise
            ylo = torch.full((lo.shape[0], C.shape[1]), -torch.inf, dtype=torch.float64,
                             device=lo.device)
            yhi = -ylo
        lb_t = lower_of_rows(C, ylo, yhi)
        ub_t = -lower_of_rows(-C, ylo, yhi)
        if not self.intervals_only:
            try:
                lb, ub = compute_bounds(  # rounds the float64 boxes outwards to float32 itself
                    self.model,
                    lo.double().cpu().numpy(),
                    hi.double().cpu().numpy(),
                    C=C.cpu().numpy(),
                    method="CROWN",
                    device=self.device,
                )
            except VerifierError:  # auto_LiRPA 0.3 lacks a case (e.g. overlapping max pooling)
                self.intervals_only = True
                return self.lower_hidden(lo, hi, C, alpha_steps, prior)
            lb_t = torch.maximum(lb_t, torch.as_tensor(lb, dtype=torch.float64, device=lo.device))
            ub_t = torch.minimum(ub_t, torch.as_tensor(ub, dtype=torch.float64, device=lo.device))
        lb_t, ub_t = lb_t.to(self.dtype), ub_t.to(self.dtype)
        scale = torch.nan_to_num(lb_t.abs() + ub_t.abs(), posinf=0.0)
        return lb_t, None, None, scale, lo.new_zeros(lo.shape[0], 2, 0)


class _Spec:
    """The stacked rows of a case's polytopes: ``C`` (k, n_out) in the bound dtype, ``b`` (k,)
    in float64, ``group`` (k,): the polytope of each row."""

    def __init__(self, case: Case, dtype: torch.dtype, device: str) -> None:
        polys = [p for p in case.disjuncts]
        self.n_poly = len(polys)
        rows = [p.A for p in polys]
        self.C = torch.as_tensor(np.vstack(rows), dtype=dtype, device=device)
        self.b = torch.as_tensor(
            np.concatenate([p.b for p in polys]), dtype=torch.float64, device=device
        )
        self.group = torch.as_tensor(
            np.concatenate([np.full(len(p.b), i) for i, p in enumerate(polys)]),
            dtype=torch.long,
            device=device,
        )

    def per_poly_max(self, v: torch.Tensor) -> torch.Tensor:
        """(N, k) row values -> (N, n_poly) maximum over each polytope's rows."""
        out = torch.full((v.shape[0], self.n_poly), -torch.inf, dtype=v.dtype, device=v.device)
        return out.scatter_reduce(1, self.group[None].expand_as(v), v, reduce="amax")

    def margin(self, Y: torch.Tensor) -> torch.Tensor:
        """``min_k max_rows (A_k y - b_k)`` per row of Y: <= 0 iff y is unsafe."""
        return self.per_poly_max((Y @ self.C.T).double() - self.b).min(dim=1).values


class OutOfTime(Exception):
    """The deadline passed during the search."""


class CaseSearch:
    """Branch and bound for one case (see the module docstring)."""

    def __init__(
        self,
        bounder: Bounder,
        case: Case,
        config: SearchConfig,
        deadline: float,
        confirm: ConfirmFn,
    ) -> None:
        self.bd, self.case, self.cfg = bounder, case, config
        self.deadline, self.confirm = deadline, confirm
        dev, dt = bounder.device, bounder.dtype
        self.spec = _Spec(case, dt, dev)
        self.lo0 = torch.as_tensor(case.lo, dtype=torch.float64, device=dev)
        self.hi0 = torch.as_tensor(case.hi, dtype=torch.float64, device=dev)
        rel = config.rel_tol if config.rel_tol is not None else (1e-6 if bounder.native else 1e-5)
        self.rel_tol = rel
        self.gen = torch.Generator(device=dev).manual_seed(config.seed)
        self.stats: dict[str, Any] = {"boxes": 0, "bound_calls": 0, "refuted": 0,
                                      "candidates": 0, "max_stack": 0}
        self.leaf_on = config.leaf == "milp" and bounder.layers is not None
        if self.leaf_on:
            self.stats.update(leaf_milps=0, leaf_refuted=0, leaf_seconds=0.0)
        self.t_start = time.monotonic()
        self._root_seconds = 0.0  # the first CROWN pass over the whole box

    def _tol(self, scale: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        """The safety margin a row's lower bound must clear to refute (module docstring):
        ``rel_tol (1 + |b| + scale)``, ``b`` the rows' right-hand sides (default: all)."""
        b = self.spec.b if b is None else b
        return self.rel_tol * (1 + b.abs() + scale.double())

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise OutOfTime

    # -- falsification ------------------------------------------------------------------------

    def _try_points(self, X: torch.Tensor, phase: str) -> Outcome | None:
        """Evaluate rows of X; confirm the most violating candidates in onnxruntime."""
        m = self.spec.margin(self.bd.outputs(X))
        hits = torch.nonzero(m <= 0).flatten()
        if hits.numel() == 0:
            return None
        order = hits[torch.argsort(m[hits])][:8]
        for i in order.tolist():
            self.stats["candidates"] += 1
            x = X[i].double().cpu().numpy()
            y = self.confirm(x)
            if y is not None:
                return Outcome("sat", x, y, phase, self.stats)
        return None

    def attack(self) -> Outcome | None:
        """Projected gradient descent on the margin from the centre of the case's box, random
        starts and its corners when there are at most 64 (:data:`ATTACK`)."""
        R, steps = self.cfg.attack_restarts, self.cfg.attack_steps
        if R <= 0 or steps < 0:
            return None
        lo, hi = self.lo0.to(self.bd.dtype), self.hi0.to(self.bd.dtype)
        x = box_starts(lo, hi, R, generator=self.gen, corners_up_to=6)
        run = descend(
            self._margin_grad,
            x,
            lo,
            hi,
            replace(ATTACK, steps=steps),
            check=lambda z, m: self._try_points(z, "gradient search"),
            tick=self.tick,
        )
        return run.found

    def _polish(self, x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        """A few signed-gradient steps on the margin from ``x``, each row kept in its box
        (:data:`POLISH`)."""
        lo, hi = lo.to(self.bd.dtype), hi.to(self.bd.dtype)
        cfg = replace(POLISH, steps=self.cfg.polish_steps)
        return descend(self._margin_grad, x.to(self.bd.dtype), lo, hi, cfg).x

    def _margin_grad(self, x: torch.Tensor) -> torch.Tensor:
        if self.bd.layers is not None:  # native
            Y = crown.forward(self.bd.layers, x)
        else:
            Y = self.bd.model(x.float()).reshape(x.shape[0], -1).to(x.dtype)
        return self.spec.margin(Y)

    # -- branch and bound ---------------------------------------------------------------------

    def run(self) -> Outcome:
        """Decide the case (``sat``/``unsat``/``unknown``) or raise :class:`OutOfTime`."""
        if self._refuted_at_root():
            return Outcome("unsat", phase="refuted at the root", stats=self.stats)
        found = self.attack()
        if found is not None:
            return found
        if self.cfg.root_alpha and self._refuted_by_alpha_crown():
            return Outcome("unsat", phase="refuted at the root by alpha-CROWN", stats=self.stats)
        stack: list[tuple[torch.Tensor, ...]] = [
            (self.lo0[None], self.hi0[None], self.lo0.new_zeros(1, 2, 0))
        ]
        stuck = 0
        per_box = 0.0  # seconds per box of the last step: keeps a step inside the time left
        while stack:
            self.tick()
            left = self.deadline - time.monotonic()
            n = (
                self.cfg.batch
                if per_box <= 0
                else int(min(self.cfg.batch, max(16, left / (2 * per_box))))
            )
            lo, hi, hb = _pop(stack, n)
            t0 = time.monotonic()
            found, keep, n_stuck = self._step(lo, hi, hb)
            per_box = (time.monotonic() - t0) / lo.shape[0]
            if found is not None:
                return found
            stuck += n_stuck
            if keep[0].shape[0]:
                stack.append(keep)
            self.stats["max_stack"] = max(self.stats["max_stack"], sum(len(s[0]) for s in stack))
        if stuck:
            self.stats["unsplittable"] = stuck
            return Outcome(
                "unknown",
                phase=f"{stuck} boxes below min_width were neither refuted nor falsified",
                stats=self.stats,
            )
        return Outcome("unsat", phase="every sub-box refuted", stats=self.stats)

    def _refuted_at_root(self) -> bool:
        """One bound of the whole box before the attack: a case it refutes needs no search.
        Properties of many small input boxes (VNN-COMP's nn4sys: hundreds of cases, nearly
        all refuted by one CROWN pass) spent 94 % of their time attacking cases whose first
        bound already refuted them (measured: 50 cases of a 1-512-512-1 net, 17.5 s)."""
        self.tick()
        self.stats["boxes"] += 1
        self.stats["bound_calls"] += 1
        t0 = time.monotonic()
        lb, _, _, scale, _ = self.bd.lower_hidden(
            self.lo0[None], self.hi0[None], self.spec.C, self.cfg.alpha_steps,
            prior=self.lo0.new_zeros(1, 2, 0),
        )
        self._root_seconds = time.monotonic() - t0
        tol = self._tol(scale)
        refuted = bool((self.spec.per_poly_max(lb.double() - self.spec.b - tol) > 0).all())
        self.stats["refuted"] += int(refuted)
        return refuted

    def _refuted_by_alpha_crown(self) -> bool:
        """alpha-CROWN (auto_LiRPA) on the whole box, for models without native bounds (e.g.
        Sigmoid networks) and many inputs, where halving boxes cannot reach the depth a
        784-input image needs: optimised slopes prove what one CROWN pass leaves open.
        Stages of :data:`ALPHA_ROOT_ITERS` steps, each on the rows of the polytopes still
        open (measured on VNN-COMP 2021's eran 6x200 Sigmoid net, idx 9629: 20 steps left one
        of 9 labels open, 100 steps refuted it). The optimisation cannot be interrupted, so a
        stage runs only while the time left exceeds :data:`ALPHA_ROOT_COST` root CROWN passes
        per 20 of its steps."""
        if self.bd.layers is not None or self.bd.intervals_only:
            return False
        open_poly = torch.ones(self.spec.n_poly, dtype=torch.bool, device=self.lo0.device)
        lo = self.lo0[None].double().cpu().numpy()
        hi = self.hi0[None].double().cpu().numpy()
        t0 = time.monotonic()
        try:
            for iters in ALPHA_ROOT_ITERS:
                self.tick()
                cost = ALPHA_ROOT_COST * self._root_seconds * iters / 20
                if self.deadline - time.monotonic() < cost:
                    return False
                rows = open_poly[self.spec.group]
                try:
                    lb, _ = compute_bounds(
                        self.bd.model, lo, hi, C=self.spec.C[rows].cpu().numpy(),
                        method="alpha-CROWN", alpha_iterations=iters, device=self.bd.device,
                        bound_upper=False,
                    )
                except VerifierError:
                    return False
                self.stats["bound_calls"] += 1
                lb_t = torch.as_tensor(lb[0], dtype=torch.float64, device=self.lo0.device)
                b = self.spec.b[rows]
                slack = torch.full_like(self.spec.b, -torch.inf)
                slack[rows] = lb_t - b - self._tol(lb_t.abs(), b)
                open_poly &= ~(self.spec.per_poly_max(slack[None])[0] > 0)
                if not bool(open_poly.any()):
                    self.stats["refuted"] += 1
                    return True
            return False
        finally:
            self.stats["alpha_root_seconds"] = round(time.monotonic() - t0, 3)

    def _step(
        self, lo: torch.Tensor, hi: torch.Tensor, hb: torch.Tensor
    ) -> tuple[Outcome | None, tuple[torch.Tensor, ...], int]:
        """Bound one batch (``hb``: hidden bounds inherited from the parents, (N, 2, H));
        return a confirmed counterexample or the split survivors ``(lo, hi, hb)``."""
        self.stats["boxes"] += lo.shape[0]
        self.stats["bound_calls"] += 1
        lb, lA, lbias, scale, hb = self.bd.lower_hidden(
            lo, hi, self.spec.C, self.cfg.alpha_steps, prior=hb
        )
        tol = self._tol(scale)
        slack = lb.double() - self.spec.b - tol
        if lA is not None and lbias is not None:
            lo, hi, slack = self._clip(lo, hi, lA, lbias, tol)
        poly_best = self.spec.per_poly_max(slack)  # > 0: polytope refuted on this box
        alive = (poly_best <= 0).any(dim=1)
        self.stats["refuted"] += int((~alive).sum())
        if not bool(alive.any()):
            return None, (lo[:0], hi[:0], hb[:0]), 0
        lo, hi, poly_best, slack = lo[alive], hi[alive], poly_best[alive], slack[alive]
        hb = hb[alive]
        lA = lA[alive] if lA is not None else None
        X = self._candidates(lo, hi, poly_best, slack, lA)
        found = self._try_points(X, "bounds-guided sampling")
        if found is None and self.cfg.polish_steps > 0:
            X = self._polish(X, torch.cat([lo, lo]), torch.cat([hi, hi]))
            found = self._try_points(X, "bounds-guided gradient search")
        if found is not None:
            return found, (lo[:0], hi[:0], hb[:0]), 0
        dim = self._split_dim(lo, hi, poly_best, slack, lA)
        if self.cfg.branching != "coef" and lA is not None and lo.shape[1] <= TRIAL_MAX_INPUTS:
            pick = torch.ones(lo.shape[0], dtype=torch.bool, device=lo.device)
            if self.cfg.branching == "mixed":
                u = torch.rand(lo.shape[0], generator=self.gen, device=lo.device)
                pick = u < self.cfg.trial_share
            if bool(pick.any()):
                dim[pick] = self._trial_dim(lo[pick], hi[pick], hb[pick])
        width = (hi - lo).gather(1, dim[:, None])[:, 0]
        ok = width > self.cfg.min_width * (1 + (self.hi0 - self.lo0).max())
        if self.leaf_on:
            found, done = self._leaves(lo, hi, hb, ok)
            if found is not None:
                return found, (lo[:0], hi[:0], hb[:0]), 0
            lo, hi, hb, dim, ok = lo[~done], hi[~done], hb[~done], dim[~done], ok[~done]
        lo, hi, hb, dim = lo[ok], hi[ok], hb[ok], dim[ok]
        return None, (*_bisect(lo, hi, dim), torch.cat([hb, hb])), int((~ok).sum())

    def _leaves(
        self, lo: torch.Tensor, hi: torch.Tensor, hb: torch.Tensor, splittable: torch.Tensor
    ) -> tuple[Outcome | None, torch.Tensor]:
        """Decide surviving boxes exactly by MILP (:func:`milp.decide`): every box that can no
        longer be split, and -- fewest unstable ReLUs first, while the time spent in MILPs
        stays within ``leaf_share`` of the search's -- boxes with at most ``leaf_unstable``
        unstable ReLUs. Returns a confirmed counterexample, or the mask of refuted boxes
        (the others are split as usual). The boxes' hidden bounds ``hb`` come from CROWN on
        them or a box containing them, so the MILP over them holds every input of the box."""
        from autospec_cli.verify.backends.bab import milp

        done = torch.zeros(lo.shape[0], dtype=torch.bool, device=lo.device)
        if hb.shape[2] == 0:
            return None, done
        unstable = ((hb[:, 0] < 0) & (hb[:, 1] > 0)).sum(dim=1)
        small = unstable <= self.cfg.leaf_unstable
        pick = (~splittable) | small
        if not bool(pick.any()):
            return None, done
        order = torch.nonzero(pick).flatten()
        order = order[torch.argsort(unstable[order] + (splittable[order].long() << 20))]
        assert self.bd.layers is not None
        polys = [(p.A, p.b) for p in self.case.disjuncts]
        lo_n, hi_n, hb_n = lo.cpu().numpy(), hi.cpu().numpy(), hb.cpu().numpy()
        for i in order.tolist():
            now = time.monotonic()
            left = self.deadline - now
            spent = float(self.stats["leaf_seconds"])
            if left <= 0.05:
                break
            if bool(splittable[i]) and spent > self.cfg.leaf_share * (now - self.t_start):
                break
            limit = self.cfg.leaf_time * (1 if bool(splittable[i]) else 5)
            hit: list[np.ndarray] = []

            def confirm(x: np.ndarray, hit: list[np.ndarray] = hit) -> np.ndarray | None:
                y = self.confirm(x)
                if y is not None:
                    hit[:] = [x, y]
                return y

            dec = milp.decide(self.bd.layers, lo_n[i], hi_n[i], hb_n[i, 0], hb_n[i, 1], polys,
                              time_limit=min(limit, left), confirm=confirm)
            self.stats["leaf_milps"] += 1
            self.stats["leaf_seconds"] = spent + time.monotonic() - now
            self.stats["candidates"] += len(dec.points)
            if hit:
                return Outcome("sat", hit[0], hit[1], "MILP leaf", self.stats), done
            if dec.verdict == "refuted":
                done[i] = True
                self.stats["leaf_refuted"] += 1
                self.stats["refuted"] += 1
        return None, done

    def _clip(
        self,
        lo: torch.Tensor,
        hi: torch.Tensor,
        lA: torch.Tensor,
        lbias: torch.Tensor,
        tol: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Shrink each box to the part where every linear lower bound may still be unsafe.

        Row ``r`` of polytope ``p`` can only be unsafe where ``lA_r x + lbias_r <= b_r + tol_r``
        (elsewhere ``C_r y > b_r + tol_r``: refuted with the full safety margin). Along input
        ``j`` with ``a = lA_rj > 0`` that needs ``x_j <= lo_j + (b_r + tol_r - lb_r) / a``
        (symmetrically for ``a < 0``), ``lb_r`` the row's minimum over the box. A polytope
        keeps the intersection of its rows' boxes, a box the hull of its polytopes' boxes;
        the new minima are recomputed on the smaller box and the clip repeated. Returns the
        clipped boxes and their slacks (``> 0``: row refuted; empty boxes get ``+inf``).
        """
        spec = self.spec
        A = lA.double()
        thr = spec.b + tol  # (N, k)
        gone = torch.zeros(lo.shape[0], dtype=torch.bool, device=lo.device)
        for _ in range(3):
            slack = crown.concretize(A, lbias, (hi + lo) / 2, (hi - lo) / 2) - thr
            gap = (-slack).clamp(min=0)[:, :, None]  # (N, k, 1)
            step = gap / A.abs().clamp(min=1e-300)
            row_hi = torch.where(A > 0, torch.minimum(hi[:, None], lo[:, None] + step), hi[:, None])
            row_lo = torch.where(A < 0, torch.maximum(lo[:, None], hi[:, None] - step), lo[:, None])
            dead = slack > 0  # (N, k): this row refutes its polytope on the box
            new_lo = torch.full_like(lo, torch.inf)
            new_hi = torch.full_like(hi, -torch.inf)
            for p in range(spec.n_poly):
                rows = spec.group == p
                p_lo = row_lo[:, rows].max(dim=1).values
                p_hi = row_hi[:, rows].min(dim=1).values
                p_dead = dead[:, rows].any(dim=1)[:, None] | (p_lo > p_hi).any(dim=1, keepdim=True)
                if int(rows.sum()) > 1:  # a combination of the rows is a valid row too
                    a, f = _combine_rows(A[:, rows], lbias[:, rows] - thr[:, rows], lo, hi)
                    step = (-f).clamp(min=0)[:, None] / a.abs().clamp(min=1e-300)
                    p_hi = torch.where(a > 0, torch.minimum(p_hi, lo + step), p_hi)
                    p_lo = torch.where(a < 0, torch.maximum(p_lo, hi - step), p_lo)
                    p_dead = p_dead | (f > 0)[:, None] | (p_lo > p_hi).any(dim=1, keepdim=True)
                new_lo = torch.where(p_dead, new_lo, torch.minimum(new_lo, p_lo))
                new_hi = torch.where(p_dead, new_hi, torch.maximum(new_hi, p_hi))
            gone = gone | (new_lo > new_hi).any(dim=1)
            lo = torch.where(gone[:, None], lo, new_lo)
            hi = torch.where(gone[:, None], hi, new_hi)
            if bool(gone.all()):
                break
        lb = crown.concretize(A, lbias, (hi + lo) / 2, (hi - lo) / 2)
        slack = torch.where(gone[:, None], torch.full_like(lb, torch.inf), lb - thr)
        return lo, hi, slack

    def _target_rows(self, poly_best: torch.Tensor, slack: torch.Tensor) -> torch.Tensor:
        """Per box, the row that is closest to refuting the least refuted polytope."""
        worst_poly = poly_best.argmin(dim=1)  # the polytope most likely to hold a counterexample
        in_poly = self.spec.group[None] == worst_poly[:, None]
        masked = torch.where(in_poly, slack, torch.full_like(slack, -torch.inf))
        return masked.argmax(dim=1)

    def _candidates(
        self,
        lo: torch.Tensor,
        hi: torch.Tensor,
        poly_best: torch.Tensor,
        slack: torch.Tensor,
        lA: torch.Tensor | None,
    ) -> torch.Tensor:
        centre = (lo + hi) / 2
        if lA is None:
            u = torch.rand(lo.shape, generator=self.gen, device=lo.device, dtype=lo.dtype)
            return torch.cat([centre, lo + (hi - lo) * u])
        rows = self._target_rows(poly_best, slack)
        a = lA[torch.arange(lA.shape[0], device=lA.device), rows].to(lo.dtype)
        corner = torch.where(a > 0, lo, hi)  # minimises the row's linear lower bound
        return torch.cat([centre, corner])

    def _trial_dim(self, lo: torch.Tensor, hi: torch.Tensor, hb: torch.Tensor) -> torch.Tensor:
        """Input to bisect per box: the one whose worse half has the best bound.

        Both halves along every input are bounded (``2 d`` bound calls' worth of boxes,
        starting from the parent's hidden bounds ``hb``, so only neurons the parent left
        unstable are refined); a half's score is its least refuted polytope's best row slack
        ``lb - b``. (Skipping the refinement here is 4x cheaper but makes the halves' scores
        nearly equal, and the choice degenerates into splitting already tiny inputs.)
        """
        n, d = lo.shape
        mid = (lo + hi) / 2
        eye = torch.eye(d, dtype=torch.bool, device=lo.device)[:, None]  # (d, 1, d)
        lo_c = torch.cat([lo[None].expand(d, -1, -1), torch.where(eye, mid, lo)])  # (2d, n, d)
        hi_c = torch.cat([torch.where(eye, mid, hi), hi[None].expand(d, -1, -1)])
        prior = hb[None].expand(2 * d, -1, -1, -1).reshape(-1, *hb.shape[1:])
        lb = self.bd.lower_hidden(
            lo_c.reshape(-1, d), hi_c.reshape(-1, d), self.spec.C, prior=prior
        )[0]
        score = self.spec.per_poly_max(lb.double() - self.spec.b).min(dim=1).values
        score = score.reshape(2, d, n)
        both = (score[0].clamp(max=0) + score[1].clamp(max=0)).T  # (n, d)
        width = hi - lo
        key = torch.where(width > 0, both, torch.full_like(both, -torch.inf))
        return key.argmax(dim=1)

    def _split_dim(
        self,
        lo: torch.Tensor,
        hi: torch.Tensor,
        poly_best: torch.Tensor,
        slack: torch.Tensor,
        lA: torch.Tensor | None,
    ) -> torch.Tensor:
        """Input to bisect per box: width × |coefficient| (width relative to the case box
        without coefficients)."""
        width = hi - lo
        if lA is None:
            return (width / (self.hi0 - self.lo0).clamp(min=1e-30)).argmax(dim=1)
        rows = self._target_rows(poly_best, slack)
        a = lA[torch.arange(lA.shape[0], device=lA.device), rows].abs().to(lo.dtype)
        score = a * width
        score = torch.where(width > 0, score + 1e-12 * width, torch.full_like(score, -1.0))
        return score.argmax(dim=1)


def _combine_rows(
    A: torch.Tensor, c: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, iters: int = 12
) -> tuple[torch.Tensor, torch.Tensor]:
    """A convex combination of the linear rows ``A_j x + c_j`` (A: (N, r, d), c: (N, r)) with
    a large minimum over each box: ``(a, f)``, the combined row's coefficients and minimum.

    If every row must be ``<= 0`` then so must the combination, so ``f > 0`` refutes the box
    (the LP dual of "no point of the box satisfies all rows"). The weights are found by a few
    multiplicative-weight steps on the rows' values at the combination's minimising corner.
    """
    n, r, _ = A.shape
    lam = torch.full((n, r), 1.0 / r, dtype=A.dtype, device=A.device)
    best_a, best_f = A[:, 0], torch.full((n,), -torch.inf, dtype=A.dtype, device=A.device)
    for _ in range(iters):
        a = (lam[:, :, None] * A).sum(dim=1)
        x = torch.where(a > 0, lo, hi)
        g = (A @ x[:, :, None])[..., 0] + c  # each row's value at the minimiser
        f = (lam * g).sum(dim=1)
        better = f > best_f
        best_a = torch.where(better[:, None], a, best_a)
        best_f = torch.where(better, f, best_f)
        scale = g.abs().max(dim=1, keepdim=True).values.clamp(min=1e-300)
        lam = lam * torch.exp(2.0 * g / scale)
        lam = lam / lam.sum(dim=1, keepdim=True)
    return best_a, best_f


def _pop(stack: list[tuple[torch.Tensor, ...]], n: int) -> tuple[torch.Tensor, ...]:
    """Up to ``n`` boxes (with what travels with them) from the top of the stack (depth first
    keeps the stack small)."""
    parts: list[tuple[torch.Tensor, ...]] = []
    got = 0
    while stack and got < n:
        top = stack.pop()
        take = min(n - got, top[0].shape[0])
        if take < top[0].shape[0]:
            stack.append(tuple(t[:-take] for t in top))
            top = tuple(t[-take:] for t in top)
        parts.append(top)
        got += take
    return tuple(torch.cat(ts) for ts in zip(*parts, strict=True))


def _bisect(
    lo: torch.Tensor, hi: torch.Tensor, dim: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split each box in two halves along ``dim``."""
    idx = torch.arange(lo.shape[0], device=lo.device)
    mid = (lo[idx, dim] + hi[idx, dim]) / 2
    hi_a, lo_b = hi.clone(), lo.clone()
    hi_a[idx, dim] = mid
    lo_b[idx, dim] = mid
    return torch.cat([lo, lo_b]), torch.cat([hi_a, hi])
