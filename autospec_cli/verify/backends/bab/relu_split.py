"""Branch and bound over ReLU activations: complete verification for many-input ReLU networks.

Input splitting (:mod:`autospec_cli.verify.backends.bab.search`) halves boxes, which cannot
work for 784 inputs. Here the box stays whole and the *activations* are split: a subdomain is
the part of the case's box where chosen unstable ReLUs are active (``z >= 0``) or inactive
(``z <= 0``); see :mod:`autospec_cli.verify.backends.bab.relu_bounds` for its bounds.

Which to use, measured on one core (2026-12-07): on a 784-input MNIST MLP (2x256, eps 0.03,
20 s) this search decided 10 of 10 properties where input splitting decided 7; on ACAS Xu
(5 inputs, property 1) it decided none of 6 in 20 s (9,000-11,000 subdomains each) where input
splitting needs well under a second. Input splitting for a handful of inputs, activation
splitting for many, as alpha-beta-CROWN does (its threshold: 20 inputs).

One case (input box, disjunction of unsafe polytopes ``A_k y <= b_k``) is decided as follows.

1. A projected-gradient attack on the case's margin from random starts (``sat`` as soon as
   ``confirm`` accepts a point).
2. Root: CROWN bounds of every hidden neuron over the box, then alpha-CROWN (``root_iters``)
   on all rows of all polytopes; if that leaves a row open, the hidden bounds are recomputed
   with alpha-CROWN (``root_hidden_iters`` per layer, within ``root_hidden_share`` of the time
   left: costly on deep nets, and what keeps their later layers from drowning in unstable
   neurons) and the rows bounded again. A polytope is *refuted* on a subdomain
   when one of its rows has ``lb > b + tol``; the case is ``unsat`` when every polytope is
   refuted on all of the box. Polytopes are independent (each must be refuted everywhere),
   so each polytope the root leaves open gets its own search with only its rows -- on a
   robustness property only the few hard labels are searched, each with one row.
3. The search keeps a stack of subdomains (split decisions plus alpha and beta warm starts)
   and pops ``batch`` of them at a time (depth first: the live set stays small). One batched
   pass bounds them all: intermediate bounds are the root's tightened by the splits, alpha and
   beta start from the parent's and get ``iters`` Adam steps (beta-CROWN: the split
   constraints enter through multipliers ``beta >= 0``; the search stops early once every
   subdomain of the batch is refuted).
4. Each subdomain left open is probed: its bound's minimising input (a box corner) and that
   point after ``polish_steps`` signed-gradient steps on the case's margin are candidates,
   handed to ``confirm``.
5. It is then split on one unstable neuron. ``branching="babsr"``: the neuron with the
   largest BaBSR-style score, ``|min(lam, 0)| * u (-l) / (u - l)`` -- the bound the upper
   relaxation's intercept costs at that neuron, weighted by the multiplier ``lam`` of its
   activation in the backward pass -- plus a small ``|lam| (u - l)`` term that ranks neurons
   whose multiplier is positive. ``"fsb"`` (default; filtered smart branching): the top
   ``fsb_candidates`` neurons by that score are each tried, both children bounded with the
   parent's multipliers (one pass, no optimisation), and the neuron whose worse child has the
   best bound wins. The score alone misjudges neurons whose multiplier is positive (splitting
   them removes the lower relaxation, which it does not price); a few cheap trial bounds fix
   most of that for ~10 % of a step's cost.

6. A subdomain with no unstable neuron left is a linear piece of the network: a linear
   program gives the split multipliers that make its bound exact (checked by the sound bound,
   see :mod:`autospec_cli.verify.backends.bab.relu_leaf`) and its minimiser as a candidate.

Verdicts: ``sat`` only with a point ``confirm`` accepted; ``unsat`` only when every subdomain
of every polytope was refuted; ``unknown`` when the live subdomains exceed ``max_live`` or a
linear piece stays open after its linear program (its minimum lies within the margin of
``b``, or the candidate did not replay); ``timeout`` at the deadline.

Soundness under rounding: every bound is computed in float64 from float32 weights, and the
bounds module adds up ``scale``, the magnitude of the terms each bound sums. A row counts as
refuted only when ``lb > b + rel_tol (1 + |b| + scale)`` with ``rel_tol = 1e-6``, about nine
orders of magnitude above float64's rounding of such sums (the argument and a measurement on
a 9-layer net are in :mod:`autospec_cli.verify.backends.bab.relu_bounds`). Hidden bounds are
widened outwards the same way, split subdomains only *restrict* the input set (bounds valid
on the box are valid on them), and any multipliers in range give valid bounds, so neither the
optimisation nor the branching nor the LP on leaves can produce an unsound refutation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from autospec_cli.errors import ConfigError
from autospec_cli.verify.backends.bab import relu_bounds as rb
from autospec_cli.verify.backends.bab.crown import Layers, extract_affine_relu, forward
from autospec_cli.verify.backends.bab.relu_leaf import as_tensor, leaf_multipliers
from autospec_cli.verify.backends.bab.search import ConfirmFn, Outcome
from autospec_cli.verify.falsify import PGDConfig, descend
from autospec_cli.vnnlib.property import Case

BRANCHING = ("fsb", "babsr")


@dataclass(frozen=True)
class ReluSplitConfig:
    """Knobs of the activation-splitting search (see the module docstring)."""

    batch: int = 64  # subdomains bounded per pass
    root_iters: int = 50  # alpha-CROWN steps at the root
    root_hidden_iters: int = 20  # alpha-CROWN steps per hidden layer's bounds (if needed)
    root_hidden_share: float = 0.3  # of the time left, at most, for those steps
    iters: int = 10  # alpha/beta steps per batch of subdomains
    lr_alpha: float = 0.1
    lr_beta: float = 0.05
    beta: bool = True  # False: splits only tighten the intermediate bounds
    refine: bool = False  # bound the layers after a split again, per subdomain (see docs)
    branching: str = "fsb"  # "fsb" or "babsr"
    fsb_candidates: int = 3
    max_live: int = 20_000  # live subdomains before the search gives up with unknown
    rel_tol: float = 1e-6  # refutation margin, relative to 1 + |b| + scale
    attack_restarts: int = 16
    attack_steps: int = 50
    polish_steps: int = 5
    seed: int = 0
    leaf: str = "none"  # "milp": a polytope the search leaves undecided gets a MILP (HiGHS)
    milp_refine: str = "none"  # "lp"/"milp": tighten the root's hidden bounds with HiGHS
    milp_refine_time: float = 0.25  # share of the time left (values > 1: seconds)

    def check(self) -> None:
        """Raise :class:`ConfigError` for values the search cannot use."""
        if self.branching not in BRANCHING:
            raise ConfigError(f"relu split: branching must be one of {', '.join(BRANCHING)}")
        if self.batch < 1 or self.max_live < 1 or self.fsb_candidates < 1:
            raise ConfigError("relu split: batch, max_live and fsb_candidates must be >= 1")
        counts = (self.root_iters, self.root_hidden_iters, self.iters, self.attack_restarts)
        if min(*counts, self.polish_steps, self.attack_steps) < 0:
            raise ConfigError("relu split: iteration and restart counts must be >= 0")
        if self.leaf not in ("none", "milp") or self.milp_refine not in ("none", "lp", "milp"):
            raise ConfigError("relu split: leaf must be none or milp, milp_refine none, lp or milp")
        if not 0 <= self.root_hidden_share <= 1:
            raise ConfigError("relu split: root_hidden_share must be in [0, 1]")
        if self.rel_tol <= 0:
            raise ConfigError("relu split: rel_tol must be > 0 (it covers rounding)")


class _OutOfTime(Exception):
    pass


class _Found(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


@dataclass
class _Chunk:
    """Subdomains waiting to be bounded: split signs (n, H) int8, warm starts (n, m, H)."""

    sign: torch.Tensor
    alpha: torch.Tensor
    beta: torch.Tensor

    def __len__(self) -> int:
        return int(self.sign.shape[0])


def relu_chain(model: torch.nn.Module, n_inputs: int) -> Layers | None:
    """The float64 affine/ReLU layers of ``model`` (see :func:`crown.extract_affine_relu`), or
    None when it is not such a chain or the layers do not reproduce its outputs.

    A network that ends in a ReLU (the eran MNIST nets do) gets an identity layer after it,
    so that ReLU becomes a hidden layer like the others.
    """
    layers = extract_affine_relu(model)
    net = getattr(model, "net", model)
    if layers is None and isinstance(net, torch.nn.Sequential) and len(net) > 1:
        if isinstance(net[-1], torch.nn.ReLU):
            inner = extract_affine_relu(torch.nn.Sequential(*list(net)[:-1]),
                                        getattr(model, "net_input_shape", None))
            if inner is not None:
                n = inner[-1][0].shape[0]
                eye = torch.eye(n, dtype=torch.float64)
                layers = [*inner, (eye, torch.zeros(n, dtype=torch.float64))]
    if layers is None or layers[0][0].shape[1] != n_inputs:
        return None
    x = torch.rand(8, n_inputs, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model(x.float()).double().reshape(8, -1)
    mine = forward(layers, x)
    if mine.shape != ref.shape or not bool(torch.allclose(mine, ref, rtol=1e-4, atol=1e-4)):
        return None
    return layers


def relu_split_search(
    layers: Layers,
    case: Case,
    *,
    deadline: float,
    confirm: ConfirmFn,
    config: ReluSplitConfig | None = None,
    network: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> Outcome:
    """Decide one case on the affine/ReLU chain ``layers`` (float64, see
    :func:`crown.extract_affine_relu`) by activation splitting; ``deadline`` in
    ``time.monotonic()`` seconds; ``confirm(x)`` returns the model's output if ``x`` is a real
    counterexample (the caller replays it, e.g. in onnxruntime), else None. ``network``: the
    same function as ``layers`` for the attacks' forward passes (float64 rows in and out),
    e.g. the model with its convolutions, which is far cheaper than their dense expansion."""
    cfg = config or ReluSplitConfig()
    cfg.check()
    search = _Search(layers, case, cfg, deadline, confirm, network)
    try:
        return search.run()
    except _Found as found:
        return found.outcome
    except _OutOfTime:
        return Outcome("timeout", phase="deadline reached", stats=search.stats)


class _Search:
    def __init__(
        self, layers: Layers, case: Case, cfg: ReluSplitConfig, deadline: float, confirm: ConfirmFn,
        network: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.layers, self.case, self.cfg = layers, case, cfg
        self.network = network or (lambda X: forward(layers, X))
        self.deadline, self.confirm = deadline, confirm
        dt = torch.float64
        self.lo = torch.as_tensor(case.lo, dtype=dt)
        self.hi = torch.as_tensor(case.hi, dtype=dt)
        self.polys = [
            (torch.as_tensor(p.A, dtype=dt), torch.as_tensor(p.b, dtype=dt)) for p in case.disjuncts
        ]
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.root_lo: torch.Tensor = self.lo.new_zeros(0)  # set by _root
        self.root_up: torch.Tensor = self.lo.new_zeros(0)
        self.stats: dict[str, float | int] = {
            "subdomains": 0,
            "refuted": 0,
            "candidates": 0,
            "max_live": 0,
            "exhausted": 0,
            "bound_seconds": 0.0,
        }

    # -- time and counterexamples ------------------------------------------------------------

    def _tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise _OutOfTime

    def margin(self, Y: torch.Tensor) -> torch.Tensor:
        """``min_k max_rows (A_k y - b_k)`` per row of Y: <= 0 iff y is unsafe."""
        per = [(Y @ A.T - b).max(dim=1).values for A, b in self.polys]
        return torch.stack(per, 1).min(dim=1).values

    def _try(self, X: torch.Tensor, phase: str) -> None:
        """Hand the most violating unsafe rows of X to ``confirm``; raise _Found on success."""
        with torch.no_grad():
            m = self.margin(self.network(X))
        hits = torch.nonzero(m <= 0).flatten()
        for i in hits[torch.argsort(m[hits])][:8].tolist():
            self.stats["candidates"] += 1
            x = X[i].numpy().copy()
            y = self.confirm(x)
            if y is not None:
                raise _Found(Outcome("sat", x, np.asarray(y), phase, self.stats))

    def _descend(self, X: torch.Tensor, steps: int, size: float) -> torch.Tensor:
        """Signed-gradient descent on the margin from the rows of X, kept in the box: steps of
        ``size`` of the box width decaying linearly, plus 0.002, alike for every row."""
        cfg = PGDConfig(steps=steps, step=size, floor=0.002, schedule="linear", scale_cycle=1,
                        early_exit=False)
        return descend(lambda x: self.margin(self.network(x)), X, self.lo, self.hi,
                       cfg).x

    def attack(self) -> None:
        """Projected gradient descent from the centre and random points of the box."""
        R = self.cfg.attack_restarts
        if R <= 0:
            return
        d = self.lo.numel()
        u = torch.rand(R, d, generator=self.gen, dtype=torch.float64)
        X = torch.cat([((self.lo + self.hi) / 2)[None], self.lo + (self.hi - self.lo) * u])
        self._try(X, "gradient search")
        chunk = 10
        for start in range(0, self.cfg.attack_steps, chunk):
            self._tick()
            X = self._descend(X, min(chunk, self.cfg.attack_steps - start), 0.1)
            self._try(X, "gradient search")

    # -- branch and bound --------------------------------------------------------------------

    def _tol(self, b: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return self.cfg.rel_tol * (1 + b.abs() + scale)

    def run(self) -> Outcome:
        self.attack()
        self._tick()
        C = torch.cat([A for A, _ in self.polys])
        b = torch.cat([b for _, b in self.polys])
        root = self._root(C, b, 0)
        open_polys = self._open_polytopes(root, b)
        if open_polys and self.cfg.root_hidden_iters > 0 and len(self.layers) > 2:
            # tighter hidden bounds, only where they are needed
            root = self._root(C, b, self.cfg.root_hidden_iters)
            open_polys = self._open_polytopes(root, b)
        if open_polys and self.cfg.milp_refine != "none" and len(self.layers) > 2:
            self._milp_refine()
            root = self._root_bound(C, b)
            open_polys = self._open_polytopes(root, b)
        self._try(root.minimisers(self.lo, self.hi)[0], "root bound minimiser")
        self.stats["root_open_polytopes"] = len(open_polys)
        undecided: list[str] = []
        at_rows = np.cumsum([0] + [A.shape[0] for A, _ in self.polys])
        for _, p in sorted(open_polys):
            rows = slice(int(at_rows[p]), int(at_rows[p + 1]))
            warm_a, warm_b = root.alpha[:, rows].float(), root.beta[:, rows].float()
            verdict = self._search_polytope(p, warm_a, warm_b)
            if verdict != "unsat" and self.cfg.leaf == "milp":
                verdict = self._milp_polytope(p, verdict)
            if verdict != "unsat":
                undecided.append(f"polytope {p}: {verdict}")
        if undecided:
            return Outcome("unknown", phase="; ".join(undecided), stats=self.stats)
        return Outcome("unsat", phase="every activation subdomain refuted", stats=self.stats)

    def _milp_refine(self) -> None:
        """Tighten the root's hidden bounds of unstable neurons by LP/MILP (HiGHS) within
        ``milp_refine_time``; :func:`milp.tighten` keeps only tighter (widened) bounds."""
        from autospec_cli.verify.backends.bab import milp

        now = time.monotonic()
        share = self.cfg.milp_refine_time
        budget = share if share > 1 else share * max(self.deadline - now, 0.0)
        before = int(((self.root_lo < 0) & (self.root_up > 0)).sum())
        low, up, rep = milp.tighten(
            self.layers, self.lo.numpy(), self.hi.numpy(), self.root_lo.numpy(),
            self.root_up.numpy(), mode=self.cfg.milp_refine, deadline=now + budget,
        )
        self.root_lo = torch.maximum(self.root_lo, torch.as_tensor(low))
        self.root_up = torch.minimum(self.root_up, torch.as_tensor(up))
        after = int(((self.root_lo < 0) & (self.root_up > 0)).sum())
        self.stats.update(milp_refine_solves=rep.solves, milp_refine_seconds=round(rep.seconds, 2),
                          milp_refine_layers=rep.layers_done, root_unstable_before_milp=before,
                          root_unstable=after)

    def _milp_polytope(self, p: int, why: str) -> str:
        """Decide polytope ``p`` over the whole box by MILP (the search left it ``why``) with
        the time left: ``unsat`` when refuted (raises :class:`_Found` on a confirmed
        counterexample), else ``why`` with the MILP's reason."""
        from autospec_cli.verify.backends.bab import milp

        left = self.deadline - time.monotonic()
        if left <= 0.5:
            return why
        A, b = self.polys[p]
        hit: list[np.ndarray] = []

        def confirm(x: np.ndarray) -> np.ndarray | None:
            y = self.confirm(x)
            if y is not None:
                hit[:] = [x, np.asarray(y)]
            return y

        t0 = time.monotonic()
        dec = milp.decide(self.layers, self.lo.numpy(), self.hi.numpy(), self.root_lo.numpy(),
                          self.root_up.numpy(), [(A.numpy(), b.numpy())], time_limit=left,
                          confirm=confirm)
        self.stats["milp_seconds"] = float(self.stats.get("milp_seconds", 0.0)) + (
            time.monotonic() - t0)
        self.stats["candidates"] += len(dec.points)
        if hit:
            raise _Found(Outcome("sat", hit[0], hit[1], "MILP", self.stats))
        if dec.verdict == "refuted":
            self.stats["milp_refuted"] = int(self.stats.get("milp_refuted", 0)) + 1
            return "unsat"
        self._tick()
        return f"{why}; MILP: {dec.why}"

    def _open_polytopes(self, root: rb.Bound, b: torch.Tensor) -> list[tuple[float, int]]:
        """``(best row slack, polytope)`` of the polytopes the root bound leaves open."""
        slack = (root.lb - b - self._tol(b, root.scale))[0]
        out, at = [], 0
        for p, (A, _) in enumerate(self.polys):
            best = float(slack[at : at + A.shape[0]].max())
            if best <= 0:
                out.append((best, p))
            at += A.shape[0]
        return out

    def _root(self, C: torch.Tensor, b: torch.Tensor, hidden_iters: int) -> rb.Bound:
        """Hidden bounds over the box (alpha-CROWN with ``hidden_iters`` steps, within a
        ``root_hidden_share`` of the time left) and alpha-CROWN on every row."""
        t0 = time.monotonic()
        cap = t0 + self.cfg.root_hidden_share * max(self.deadline - t0, 0.0)
        self.root_lo, self.root_up = rb.intermediate_bounds(
            self.layers,
            self.lo,
            self.hi,
            alpha_iters=hidden_iters,
            lr_alpha=self.cfg.lr_alpha,
            deadline=cap,
        )
        self.stats["root_unstable"] = int(((self.root_lo < 0) & (self.root_up > 0)).sum())
        self.stats["root_hidden_iters"] = hidden_iters
        self.stats["bound_seconds"] += time.monotonic() - t0
        return self._root_bound(C, b)

    def _root_bound(self, C: torch.Tensor, b: torch.Tensor) -> rb.Bound:
        """alpha-CROWN on every row over the whole box with the root's hidden bounds."""
        t0 = time.monotonic()
        sign = torch.zeros(1, self.root_lo.numel(), dtype=torch.int8)
        root = rb.subdomain_lower(
            self.layers,
            self.lo,
            self.hi,
            C,
            self.root_lo[None],
            self.root_up[None],
            sign,
            iters=self.cfg.root_iters,
            lr_alpha=self.cfg.lr_alpha,
            stop_above=b[None],
            deadline=self.deadline,
            stop_rows="all",  # rows of different polytopes: each must be refuted
        )
        self.stats["bound_seconds"] += time.monotonic() - t0
        return root

    def _search_polytope(self, p: int, alpha: torch.Tensor, beta: torch.Tensor) -> str:
        """``unsat`` when polytope ``p`` is refuted on every subdomain, else why not."""
        C, b = self.polys[p]
        H = self.root_lo.numel()
        if H == 0:
            return "no hidden neuron to split"
        stack = [_Chunk(torch.zeros(1, H, dtype=torch.int8), alpha, beta)]
        while stack:
            self._tick()
            live = sum(len(c) for c in stack)
            self.stats["max_live"] = max(int(self.stats["max_live"]), live)
            if live > self.cfg.max_live:
                return f"more than {self.cfg.max_live} live subdomains"
            batch = _pop(stack, self.cfg.batch)
            children, exhausted = self._step(C, b, batch)
            if exhausted:
                self.stats["exhausted"] += exhausted
                return f"{exhausted} subdomains with every neuron split stayed open"
            if len(children):
                stack.append(children)
        return "unsat"

    def _step(self, C: torch.Tensor, b: torch.Tensor, batch: _Chunk) -> tuple[_Chunk, int]:
        """Bound, probe and split one batch; return the children and the open leaves."""
        cfg = self.cfg
        t0 = time.monotonic()
        low, up = rb.split_bounds(self.root_lo, self.root_up, batch.sign)
        if cfg.refine:
            low, up, void = rb.refine_bounds(self.layers, self.lo, self.hi, low, up, batch.sign)
            if bool(void.any()):
                self.stats["infeasible"] = int(self.stats.get("infeasible", 0)) + int(void.sum())
                self.stats["refuted"] += int(void.sum())
                keep = ~void
                batch = _Chunk(batch.sign[keep], batch.alpha[keep], batch.beta[keep])
                low, up = low[keep], up[keep]
                if not len(batch):
                    return batch, 0
        bd = rb.subdomain_lower(
            self.layers,
            self.lo,
            self.hi,
            C,
            low,
            up,
            batch.sign,
            batch.alpha,
            batch.beta,
            iters=cfg.iters,
            lr_alpha=cfg.lr_alpha,
            lr_beta=cfg.lr_beta,
            use_beta=cfg.beta,
            stop_above=b[None],
            deadline=self.deadline,
        )
        self.stats["bound_seconds"] += time.monotonic() - t0
        self.stats["subdomains"] += len(batch)
        slack = bd.lb - b - self._tol(b, bd.scale)  # (n, m); > 0: row refutes
        open_ = ~(slack > 0).any(dim=1)
        self.stats["refuted"] += int((~open_).sum())
        empty = _Chunk(batch.sign[:0], batch.alpha[:0], batch.beta[:0])
        if not bool(open_.any()):
            return empty, 0
        idx = torch.nonzero(open_).flatten()
        row = slack[idx].argmax(dim=1)  # the row closest to refuting its subdomain
        corners = bd.minimisers(self.lo, self.hi)[idx, row]
        self._try(corners, "bound minimiser")
        if cfg.polish_steps:
            self._try(self._descend(corners, cfg.polish_steps, 0.05), "gradient search from bound")
        sign, low, up = batch.sign[idx], low[idx], up[idx]
        alpha, beta = bd.alpha[idx], bd.beta[idx]
        unstable = (low < 0) & (up > 0)
        can = unstable.any(dim=1)
        if not bool(can.all()):
            left = self._decide_leaves(C, b, sign[~can], low[~can])
            if left:
                return empty, left
            sign, low, up, alpha, beta = sign[can], low[can], up[can], alpha[can], beta[can]
            idx, row = idx[can], row[can]
            if not bool(can.any()):
                return empty, 0
        lam = rb.relaxation_coefficients(
            self.layers, self.lo, self.hi, C, low, up, sign, alpha, beta
        )
        lam = lam[torch.arange(idx.numel()), row]  # (n, H)
        score = _babsr_score(lam, low, up)
        if cfg.branching == "fsb" and cfg.fsb_candidates > 1:
            neuron = self._fsb(C, b, score, sign, alpha, beta)
        else:
            neuron = score.argmax(dim=1)
        return _children(sign, alpha, beta, neuron), 0

    def _decide_leaves(
        self, C: torch.Tensor, b: torch.Tensor, sign: torch.Tensor, low: torch.Tensor
    ) -> int:
        """Refute or falsify fully split subdomains exactly (LP multipliers, checked by the
        sound bound; LP minimisers replayed); return how many stay open."""
        open_leaves = 0
        for i in range(sign.shape[0]):
            self._tick()
            self.stats["leaf_lps"] = int(self.stats.get("leaf_lps", 0)) + 1
            beta, points = leaf_multipliers(
                self.layers,
                self.lo.numpy(),
                self.hi.numpy(),
                C.numpy(),
                b.numpy(),
                sign[i].numpy(),
                low[i].numpy(),
            )
            if points:
                self._try(torch.as_tensor(np.stack(points)), "linear program on a leaf")
            if beta is None:
                open_leaves += 1
                continue
            lo_i, up_i = rb.split_bounds(self.root_lo, self.root_up, sign[i : i + 1])
            bd = rb.subdomain_lower(
                self.layers, self.lo, self.hi, C, lo_i, up_i, sign[i : i + 1], beta=as_tensor(beta)
            )
            if not bool((bd.lb - b - self._tol(b, bd.scale) > 0).any()):
                open_leaves += 1
            else:
                self.stats["refuted"] += 1
        return open_leaves

    def _fsb(
        self,
        C: torch.Tensor,
        b: torch.Tensor,
        score: torch.Tensor,
        sign: torch.Tensor,
        alpha: torch.Tensor,
        beta: torch.Tensor,
    ) -> torch.Tensor:
        """Filtered smart branching: bound both children of the top-k neurons by score (one
        pass with the parent's multipliers) and keep the neuron whose worse child is best."""
        n = sign.shape[0]
        k = min(self.cfg.fsb_candidates, sign.shape[1])
        top = score.topk(k, dim=1)
        cand = top.indices  # (n, k)
        rep = lambda t: t.repeat_interleave(k, 0).repeat(2, *([1] * (t.dim() - 1)))  # noqa: E731
        flat = cand.reshape(-1).repeat(2)
        val = torch.cat([torch.ones(n * k), -torch.ones(n * k)]).to(torch.int8)
        s = rep(sign).clone()
        s[torch.arange(2 * n * k), flat] = val
        low, up = rb.split_bounds(self.root_lo, self.root_up, s)
        bd = rb.subdomain_lower(
            self.layers,
            self.lo,
            self.hi,
            C,
            low,
            up,
            s,
            rep(alpha),
            rep(beta),
            use_beta=self.cfg.beta,
        )
        best = (bd.lb - b).max(dim=1).values.reshape(2, n, k)
        worse = torch.minimum(best[0], best[1])
        worse = torch.where(top.values > -torch.inf, worse, torch.full_like(worse, -torch.inf))
        pick = worse.argmax(dim=1)
        return cand[torch.arange(n), pick]


def _babsr_score(lam: torch.Tensor, low: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """(n, H) branching score; ``-inf`` on neurons that are not unstable."""
    unstable = (low < 0) & (up > 0)
    width = torch.where(unstable, up - low, torch.ones_like(up))
    height = torch.where(unstable, up * (-low) / width, torch.zeros_like(up))
    score = (-lam.clamp(max=0)) * height + 1e-3 * lam.abs() * width
    score = score + 1e-12 * width  # a tie-break that still prefers unstable neurons
    return torch.where(unstable, score, torch.full_like(score, -torch.inf))


def _children(
    sign: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, neuron: torch.Tensor
) -> _Chunk:
    """Both children of each subdomain: ``neuron`` active, then inactive."""
    n = sign.shape[0]
    rows = torch.arange(n)
    act, ina = sign.clone(), sign.clone()
    act[rows, neuron] = 1
    ina[rows, neuron] = -1
    a, bt = alpha.float(), beta.float()
    return _Chunk(torch.cat([act, ina]), torch.cat([a, a]), torch.cat([bt, bt]))


def _pop(stack: list[_Chunk], n: int) -> _Chunk:
    """Up to ``n`` subdomains from the top of the stack."""
    parts: list[_Chunk] = []
    got = 0
    while stack and got < n:
        top = stack.pop()
        take = min(n - got, len(top))
        if take < len(top):
            stack.append(_Chunk(top.sign[:-take], top.alpha[:-take], top.beta[:-take]))
            top = _Chunk(top.sign[-take:], top.alpha[-take:], top.beta[-take:])
        parts.append(top)
        got += take
    return _Chunk(
        torch.cat([p.sign for p in parts]),
        torch.cat([p.alpha for p in parts]),
        torch.cat([p.beta for p in parts]),
    )
