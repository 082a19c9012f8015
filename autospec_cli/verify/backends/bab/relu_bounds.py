"""Batched float64 bounds of ReLU networks on activation-split subdomains (alpha/beta-CROWN).

The network is the affine/ReLU chain of :func:`crown.extract_affine_relu`:
``z_k = W_k a_{k-1} + b_k`` (``a_0 = x`` in a box), ``a_k = relu(z_k)`` for the hidden layers
and ``y = z_L``. Hidden neurons are numbered layer after layer (``H`` of them in all) and every
per-neuron tensor here is *packed* along that axis.

A *subdomain* is the set ``D`` of inputs of the box whose hidden pre-activations obey split
decisions ``sign`` (``+1``: ``z_i >= 0``, ``-1``: ``z_i <= 0``, ``0``: free). It comes with
pre-activation bounds ``l <= z <= u`` valid on ``D``; a split tightens them (``l_i = 0`` for
``+1``, ``u_i = 0`` for ``-1``), which makes the split neuron's relaxation exact.

:func:`subdomain_lower` bounds ``C y`` from below on a batch of subdomains by one backward
linear pass (CROWN; Zhang et al., NeurIPS 2018) in which

* an unstable ReLU (``l < 0 < u``) is bounded above by its chord and below by ``alpha z`` with
  any ``alpha`` in [0, 1] (alpha-CROWN; Xu et al., ICLR 2021): ``alpha`` is optimised by
  projected gradient ascent on the bound, per subdomain, output row and neuron;
* every split constraint enters with a Lagrange multiplier ``beta >= 0`` (beta-CROWN; Wang et
  al., NeurIPS 2021): with ``g_i = -sign_i z_i <= 0`` on ``D``, ``min_D f >= min f + sum beta_i
  g_i`` over the relaxed set, so the coefficient of ``z_i`` in the backward pass gets
  ``- beta_i sign_i``. Without the multipliers the split would only tighten ``l``/``u``; with
  them the linear constraint ``sign_i z_i(x) >= 0`` itself cuts the input set.

Why any ``alpha`` in [0, 1] and any ``beta >= 0`` give a sound bound: for ``x`` in ``D`` every
``z_k(x)`` lies in ``[l_k, u_k]`` (bounds valid on ``D``), where the relaxation holds, and the
Lagrangian term is ``<= 0``; the backward pass is a chain of such inequalities. The
optimisation only makes the bound tighter. The same holds when the intermediate bounds come
from a bigger set (the root box): they are still valid on ``D``.

Floating point: every quantity is float64 from float32 weights. Each step of the backward
pass sums terms whose magnitudes the pass also adds up (``scale`` of :class:`Bound`: the
``|lam_j| · |b_j|`` and intercept terms, plus ``|A|`` over the box); float64 rounds each such
sum within about ``n 1e-16`` of its magnitude (n <= a few hundred terms), and the search refutes
only with a margin of ``1e-6 (1 + |b| + scale)`` (see
:mod:`autospec_cli.verify.backends.bab.relu_split`). The worst-case bound that follows
errors through ``|W|`` products is far larger on deep nets (about ``1e11`` on the 9x200 eran
MNIST net) but nowhere near attained: there the same bound computed in float32 differs from
the float64 one by about ``1e-6``, which puts float64's error near ``1e-15`` -- the margin is
nine orders of magnitude above it, and a test checks the float32/float64 gap against the
margin. :func:`intermediate_bounds` widens each hidden bound outwards by ``1e-10`` times its
terms' magnitude for the same reason, so rounding cannot make a neuron's range miss a value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from autospec_cli.verify.backends.bab import crown
from autospec_cli.verify.backends.bab.crown import Layers, concretize, relu_relaxation

_WIDEN = 1e-10


def hidden_sizes(layers: Layers) -> list[int]:
    """Neurons per hidden layer."""
    return [W.shape[0] for W, _ in layers[:-1]]


def per_layer(packed: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    """Views of a packed (..., H) tensor, one (..., n_k) per hidden layer."""
    return list(torch.split(packed, sizes, dim=-1))


def _widen(
    lo: torch.Tensor, up: torch.Tensor, mag: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    pad = _WIDEN * (1 + lo.abs() + up.abs() + mag)
    return lo - pad, up + pad


def _relax(
    lo: torch.Tensor, up: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per neuron: chord slope and intercept, CROWN's default lower slope, unstable mask."""
    s_low, s_up, t_up = relu_relaxation(lo, up)
    return s_up, t_up, s_low, (lo < 0) & (up > 0)


def backward(
    lam: torch.Tensor,
    layers: Layers,
    k: int,
    lows: list[torch.Tensor],
    ups: list[torch.Tensor],
    alphas: list[torch.Tensor] | None = None,
    betas: list[torch.Tensor] | None = None,
    record: list[torch.Tensor] | None = None,
    magnitude: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Propagate ``lam`` (N, m, n) -- coefficients of ``a_{k-1}``, the input of layer ``k`` --
    back to the input: ``lam · a_{k-1} >= A x + bias`` on each subdomain.

    ``lows``/``ups``: per hidden layer (N, n_j) bounds; ``alphas``: per layer (N, m, n_j) lower
    slopes (used on unstable neurons; None: CROWN's choice); ``betas``: per layer (N, m, n_j)
    already multiplied by the split signs (``beta_i sign_i``). ``record``: if given, receives
    per layer (from the last hidden layer down) the coefficients of ``a_j`` before relaxation.

    Returns ``(A, bias, mag)``. With ``magnitude``, ``mag`` (N, m) sums the magnitudes of the
    terms added into ``bias`` (``|lam_j| · |b_j|`` and the relaxation intercepts) -- the
    scale of the rounding error of each step; :func:`_scale` adds ``|A|`` over the box.
    Without it ``mag`` is None.
    """
    bias = lam.new_zeros(lam.shape[:2])
    mag = lam.new_zeros(lam.shape[:2]) if magnitude else None
    for j in range(k - 1, -1, -1):
        s_up, t_up, s_low, unstable = _relax(lows[j], ups[j])
        if record is not None:
            record.append(lam)
        pos, neg = lam.clamp(min=0), lam.clamp(max=0)
        inter = (neg @ t_up[:, :, None])[..., 0]
        bias = bias + inter
        if alphas is None:
            low = s_low[:, None, :]
        else:
            low = torch.where(unstable[:, None, :], alphas[j], s_low[:, None, :])
        lam = pos * low + neg * s_up[:, None, :]
        if betas is not None:
            lam = lam - betas[j]
        W, b = layers[j]
        bias = bias + lam @ b
        if mag is not None:
            mag = mag - inter + lam.abs() @ b.abs()
        lam = _times(lam, W)
    return lam, bias, mag


class _Ascent:
    """Adam steps that *increase* an objective, each tensor with its own step size (written
    out here: ``torch.optim`` pulls in the compiler stack on first use, seconds per process)."""

    def __init__(self, params: list[tuple[torch.Tensor, float]]) -> None:
        self.params = params
        self.m = [torch.zeros_like(p) for p, _ in params]
        self.v = [torch.zeros_like(p) for p, _ in params]
        self.t = 0

    def step(self, grads: tuple[torch.Tensor, ...]) -> None:
        b1, b2 = 0.9, 0.999
        self.t += 1
        for (p, lr), m, v, g in zip(self.params, self.m, self.v, grads, strict=True):
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            m_hat = m / (1 - b1**self.t)
            v_hat = v / (1 - b2**self.t)
            p.add_(lr * m_hat / (v_hat.sqrt() + 1e-8))


def _times(lam: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """``lam @ W`` for (N, m, n) ``lam`` as one matrix product (not N matrix-vector ones)."""
    n, m, _ = lam.shape
    return (lam.reshape(n * m, -1) @ W).reshape(n, m, -1)


def _scale(
    A: torch.Tensor, mag: torch.Tensor, centre: torch.Tensor, radius: torch.Tensor
) -> torch.Tensor:
    """(N, m): the magnitude of the terms a concretised bound sums."""
    return (A.abs() @ (centre.abs() + radius)[:, :, None])[..., 0] + mag


def _layer_bounds(
    layers: Layers,
    k: int,
    lows: list[torch.Tensor],
    ups: list[torch.Tensor],
    centre: torch.Tensor,
    radius: torch.Tensor,
    alpha_iters: int = 0,
    lr_alpha: float = 0.1,
    deadline: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Widened (N, n_k) bounds of hidden layer ``k``'s pre-activations from the bounds of the
    layers before it (``lows``/``ups``, each (N, n_j)): interval bounds, then a backward
    CROWN pass (alpha-CROWN with ``alpha_iters``, batch of one only) for the neurons some
    row leaves unstable."""
    W, b = layers[k]
    n = centre.shape[0]
    a_lo, a_hi = lows[k - 1].clamp(min=0), ups[k - 1].clamp(min=0)
    Wp, Wn = crown.signed_parts(W)
    il = a_lo @ Wp.T + a_hi @ Wn.T + b
    iu = a_hi @ Wp.T + a_lo @ Wn.T + b
    mag = torch.maximum(a_lo, a_hi) @ W.abs().T + b.abs()
    idx = torch.nonzero(((il < 0) & (iu > 0)).any(dim=0)).flatten()
    if idx.numel():
        rows = W[idx]
        lam = torch.cat([rows, -rows])[None].expand(n, -1, -1)
        alphas = None
        if alpha_iters > 0:
            alphas = _optimise_rows(
                lam, layers, k, lows, ups, centre, radius, alpha_iters, lr_alpha, deadline
            )
        A, bias, bmag = backward(lam, layers, k, lows, ups, alphas, magnitude=True)
        assert bmag is not None
        both = concretize(A, bias + torch.cat([b[idx], -b[idx]]), centre, radius)
        sc = _scale(A, bmag, centre, radius) + torch.cat([b[idx], b[idx]]).abs()
        r = idx.numel()
        il[:, idx] = torch.maximum(il[:, idx], both[:, :r])
        iu[:, idx] = torch.minimum(iu[:, idx], -both[:, r:])
        mag[:, idx] = torch.maximum(mag[:, idx], torch.maximum(sc[:, :r], sc[:, r:]))
    return _widen(il, iu, mag)


def intermediate_bounds(
    layers: Layers,
    lo: torch.Tensor,
    hi: torch.Tensor,
    alpha_iters: int = 0,
    lr_alpha: float = 0.1,
    deadline: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """CROWN pre-activation bounds of every hidden neuron over the box ``[lo, hi]`` (1-D):
    packed (H,) lower and upper bounds, widened outwards against rounding.

    Layer 0 gets interval bounds (exact up to rounding); each later layer first gets interval
    bounds from the previous layer's, and only the neurons those leave unstable get a backward
    CROWN pass -- with ``alpha_iters > 0`` an alpha-CROWN one: the lower slopes of the earlier
    layers are optimised per bound (layer by layer, earlier layers' bounds fixed; the best
    bound seen per neuron is kept, every iterate being sound). In deep networks this is what
    keeps later layers from drowning in unstable neurons. Every bound is widened by ``1e-10``
    times the magnitude of the terms it sums (see the module docstring on rounding).
    """
    if len(layers) == 1:
        empty = lo.new_zeros(0)
        return empty, empty
    centre, radius = ((hi + lo) / 2)[None], ((hi - lo) / 2)[None]
    W0, b0 = layers[0]
    zc = centre @ W0.T + b0
    zr = radius @ W0.abs().T
    lows, ups = [], []
    lw, up = _widen(zc - zr, zc + zr, (centre.abs() + radius) @ W0.abs().T + b0.abs())
    lows.append(lw)
    ups.append(up)
    for k in range(1, len(layers) - 1):
        lw, up = _layer_bounds(layers, k, lows, ups, centre, radius, alpha_iters, lr_alpha,
                               deadline)
        lows.append(lw)
        ups.append(up)
    return torch.cat(lows, 1)[0], torch.cat(ups, 1)[0]


def _optimise_rows(
    lam: torch.Tensor,
    layers: Layers,
    k: int,
    lows: list[torch.Tensor],
    ups: list[torch.Tensor],
    centre: torch.Tensor,
    radius: torch.Tensor,
    iters: int,
    lr: float,
    deadline: float | None,
) -> list[torch.Tensor]:
    """Per-row lower slopes of layers ``< k`` that maximise the bounds of ``lam · a_{k-1}``
    (constant terms left out: they do not depend on the slopes); the best seen per row."""
    m = lam.shape[1]
    alpha = torch.cat([_relax(lw, up)[2] for lw, up in zip(lows, ups, strict=True)], 1)
    alpha = alpha[:, None, :].expand(-1, m, -1).clone().requires_grad_(True)
    sizes = [t.shape[1] for t in lows]
    best = alpha.detach().clone()
    best_lb = torch.full((1, m), -torch.inf, dtype=lam.dtype)
    opt = _Ascent([(alpha, lr)])
    for t in range(iters + 1):
        with torch.enable_grad():
            A, bias, _ = backward(lam, layers, k, lows, ups, per_layer(alpha, sizes))
            lb = concretize(A, bias, centre, radius)
        with torch.no_grad():
            better = lb.detach() > best_lb
            best_lb = torch.where(better, lb.detach(), best_lb)
            best = torch.where(better[..., None], alpha.detach(), best)
        if t == iters or (deadline is not None and time.monotonic() > deadline):
            break
        (grad,) = torch.autograd.grad(lb.sum(), [alpha])
        with torch.no_grad():
            opt.step((grad,))
            alpha.clamp_(0, 1)
    return per_layer(best, sizes)


def split_bounds(
    root_lo: torch.Tensor, root_up: torch.Tensor, sign: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Root bounds (H,) tightened by split decisions ``sign`` (N, H) in {-1, 0, 1}."""
    lo = torch.where(sign > 0, root_lo.clamp(min=0), root_lo)
    up = torch.where(sign < 0, root_up.clamp(max=0), root_up)
    return lo, up


def refine_bounds(
    layers: Layers,
    lo: torch.Tensor,
    hi: torch.Tensor,
    low: torch.Tensor,
    up: torch.Tensor,
    sign: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pre-activation bounds of N subdomains tightened through their splits: ``(low, up,
    empty)``, ``empty`` (N,) marking subdomains shown to contain no input.

    ``low``/``up`` (N, H) are valid on each subdomain (e.g. :func:`split_bounds` of the root
    bounds). Each hidden layer after the first split one is bounded again, layer after layer,
    from the already tightened bounds of the layers before it: interval bounds, then a CROWN
    backward pass for the neurons some subdomain still has unstable, then the split clamps.
    Every bound is valid on the subdomain (the relaxation of a split neuron is exact and any
    bound valid on a superset stays valid), so the result is the elementwise tighter of old
    and new; when a neuron's lower bound exceeds its upper bound no input satisfies the
    splits. Bounds are widened as in :func:`intermediate_bounds`.
    """
    n = low.shape[0]
    sizes = hidden_sizes(layers)
    empty = torch.zeros(n, dtype=torch.bool)
    split_layers = [k for k, s in enumerate(per_layer(sign, sizes)) if bool((s != 0).any())]
    if not split_layers or len(sizes) < 2:
        return low, up, (low > up).any(dim=1)
    lows = [t.clone() for t in per_layer(low, sizes)]
    ups = [t.clone() for t in per_layer(up, sizes)]
    signs = per_layer(sign, sizes)
    centre = ((hi + lo) / 2)[None].expand(n, -1)
    radius = ((hi - lo) / 2)[None].expand(n, -1)
    for k in range(split_layers[0] + 1, len(sizes)):
        il, iu = _layer_bounds(layers, k, lows, ups, centre, radius)
        il = torch.maximum(il, lows[k])
        iu = torch.minimum(iu, ups[k])
        il = torch.where(signs[k] > 0, il.clamp(min=0), il)
        iu = torch.where(signs[k] < 0, iu.clamp(max=0), iu)
        bad = (il > iu).any(dim=1)
        empty |= bad
        # keep the relaxation well defined where the subdomain is empty (it is dropped)
        iu = torch.where(bad[:, None], torch.maximum(il, iu), iu)
        lows[k], ups[k] = il, iu
    low, up = torch.cat(lows, 1), torch.cat(ups, 1)
    return low, up, empty | (low > up).any(dim=1)


@dataclass
class Bound:
    """Lower bounds of ``C y`` on a batch of subdomains (N subdomains, m rows of C).

    ``lb`` (N, m); ``A`` (N, m, d) and ``bias`` (N, m) with ``C y >= A x + bias`` on each
    subdomain; ``scale`` (N, m): the magnitude of the terms summed into ``lb`` (rounding
    error is a tiny multiple of it, see the module docstring); ``alpha``/``beta`` (N, m, H):
    the multipliers that gave ``lb`` (warm starts for children).
    """

    lb: torch.Tensor
    A: torch.Tensor
    bias: torch.Tensor
    scale: torch.Tensor
    alpha: torch.Tensor
    beta: torch.Tensor

    def minimisers(self, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        """(N, m, d): the box corner where each row's linear bound is smallest."""
        return torch.where(self.A > 0, lo, hi)


class _Pass:
    """The output bound of one batch of subdomains as a function of the multipliers."""

    def __init__(
        self,
        layers: Layers,
        lo: torch.Tensor,
        hi: torch.Tensor,
        C: torch.Tensor,
        low: torch.Tensor,
        up: torch.Tensor,
        sign: torch.Tensor,
    ) -> None:
        self.layers, self.C = layers, C
        self.sizes = hidden_sizes(layers)
        n = low.shape[0]
        self.centre = ((hi + lo) / 2)[None].expand(n, -1)
        self.radius = ((hi - lo) / 2)[None].expand(n, -1)
        self.lows, self.ups = per_layer(low, self.sizes), per_layer(up, self.sizes)
        self.sgn = sign.to(lo.dtype)[:, None, :]

    def __call__(
        self,
        alpha: torch.Tensor,
        beta: torch.Tensor,
        record: list[torch.Tensor] | None = None,
        magnitude: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``(lb, A, bias, scale)``; ``scale`` only with ``magnitude`` (else None)."""
        WL, bL = self.layers[-1]
        n = self.centre.shape[0]
        lam = (self.C @ WL)[None].expand(n, -1, -1)
        A, bias, mag = backward(
            lam,
            self.layers,
            len(self.layers) - 1,
            self.lows,
            self.ups,
            per_layer(alpha, self.sizes),
            per_layer(beta * self.sgn, self.sizes),
            record,
            magnitude,
        )
        bias = bias + self.C @ bL
        lb = concretize(A, bias, self.centre, self.radius)
        scale = None
        if mag is not None:
            scale = _scale(A, mag, self.centre, self.radius) + self.C.abs() @ bL.abs()
        return lb, A, bias, scale


def default_alpha(low: torch.Tensor, up: torch.Tensor, m: int) -> torch.Tensor:
    """(N, m, H): CROWN's lower slopes (1 where ``u > -l``, else 0) as alpha's start."""
    return _relax(low, up)[2][:, None, :].expand(-1, m, -1)


def subdomain_lower(
    layers: Layers,
    lo: torch.Tensor,
    hi: torch.Tensor,
    C: torch.Tensor,
    low: torch.Tensor,
    up: torch.Tensor,
    sign: torch.Tensor,
    alpha: torch.Tensor | None = None,
    beta: torch.Tensor | None = None,
    iters: int = 0,
    lr_alpha: float = 0.1,
    lr_beta: float = 0.05,
    use_beta: bool = True,
    stop_above: torch.Tensor | None = None,
    deadline: float | None = None,
    stop_rows: str = "any",
) -> Bound:
    """Lower bounds of ``C y`` (C: (m, n_out)) on N subdomains of the box ``[lo, hi]`` (1-D).

    ``low``/``up`` (N, H): pre-activation bounds valid on each subdomain (already tightened by
    its splits, see :func:`split_bounds`); ``sign`` (N, H): the split decisions. ``alpha`` and
    ``beta`` (N, m, H) are warm starts (default: CROWN's slopes, zero multipliers); ``iters``
    steps of Adam on the sum of the bounds follow, projecting ``alpha`` to [0, 1] and ``beta``
    to ``>= 0`` after each; the best bound seen per row is kept (every iterate is sound).
    ``stop_above`` (m,): stop early once every subdomain has a row above it (``stop_rows=
    "any"``: the rows are one polytope's, any of them refutes it) or all rows are (``"all"``).
    ``deadline`` (monotonic seconds): end the optimisation early (the bound stays sound).
    """
    n, m = low.shape[0], C.shape[0]
    dt = lo.dtype
    run = _Pass(layers, lo, hi, C, low, up, sign)
    alpha = (alpha if alpha is not None else default_alpha(low, up, m)).to(dt).clone()
    alpha.clamp_(0, 1)
    beta = (beta.to(dt) if beta is not None else alpha.new_zeros(n, m, low.shape[1])).clone()
    beta.clamp_(min=0)
    if not use_beta:
        beta.zero_()
    with torch.no_grad():
        lb, A, bias, _ = run(alpha, beta)
    best_lb, best_a, best_b = lb, alpha.clone(), beta.clone()
    if iters > 0 and low.shape[1] > 0:
        alpha.requires_grad_(True)
        params = [(alpha, lr_alpha)]
        if use_beta and bool((sign != 0).any()):
            beta.requires_grad_(True)
            params.append((beta, lr_beta))
        opt = _Ascent(params)
        for _ in range(iters):
            if stop_above is not None:
                above = best_lb > stop_above
                done = above.any(dim=1) if stop_rows == "any" else above.all(dim=1)
                if bool(done.all()):
                    break
            if deadline is not None and time.monotonic() > deadline:
                break
            with torch.enable_grad():
                lb = run(alpha, beta)[0]
                grads = torch.autograd.grad(lb.sum(), [p for p, _ in params])
            with torch.no_grad():
                best_lb, best_a, best_b = _keep_better(lb, alpha, beta, best_lb, best_a, best_b)
                opt.step(grads)
                alpha.clamp_(0, 1)
                beta.clamp_(min=0)
        with torch.no_grad():  # the last step's iterate
            lb = run(alpha, beta)[0]
            best_lb, best_a, best_b = _keep_better(lb, alpha, beta, best_lb, best_a, best_b)
    # the reported bound is recomputed from the kept multipliers, with the magnitude pass
    with torch.no_grad():
        lb, A, bias, scale = run(best_a, best_b, magnitude=True)
    assert scale is not None
    return Bound(lb, A, bias, scale, best_a, best_b)


def _keep_better(
    lb: torch.Tensor,
    alpha: torch.Tensor,
    beta: torch.Tensor,
    best_lb: torch.Tensor,
    best_a: torch.Tensor,
    best_b: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    better = lb.detach() > best_lb
    return (
        torch.where(better, lb.detach(), best_lb),
        torch.where(better[..., None], alpha.detach(), best_a),
        torch.where(better[..., None], beta.detach(), best_b),
    )


def relaxation_coefficients(
    layers: Layers,
    lo: torch.Tensor,
    hi: torch.Tensor,
    C: torch.Tensor,
    low: torch.Tensor,
    up: torch.Tensor,
    sign: torch.Tensor,
    alpha: torch.Tensor,
    beta: torch.Tensor,
) -> torch.Tensor:
    """(N, m, H): the backward pass's coefficient of each post-activation ``a_i`` (before its
    relaxation) with the given multipliers -- what branching scores weigh a neuron by."""
    rec: list[torch.Tensor] = []
    with torch.no_grad():
        _Pass(layers, lo, hi, C, low, up, sign)(alpha.to(lo.dtype), beta.to(lo.dtype), rec)
    return torch.cat(rec[::-1], dim=-1)
