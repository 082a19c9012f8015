"""Batched CROWN in float64 for feed-forward ReLU networks (affine layers and ReLUs).

The branch-and-bound backend bounds thousands of small input boxes per step. For the
networks it is built for (MLPs such as ACAS Xu or the throughput predictors) a direct
implementation is much faster than auto_LiRPA 0.3 and, because it runs in float64, its
rounding error is about 1e-16 relative instead of 1e-7: far below the safety margin the
search adds before it calls a box refuted (see :mod:`autospec_cli.verify.backends.bab.search`).

:func:`extract_affine_relu` turns a torch model into a list of ``(W, b)`` pairs with a ReLU
between consecutive pairs (consecutive affine maps are merged), or returns None when the model
has any other layer; :func:`crown_lower` computes, for a batch of boxes, lower bounds of
``C y`` together with the linear function of the input that certifies them.

The relaxation is the standard one (Zhang et al., "Efficient Neural Network Robustness
Certification with General Activation Functions", NeurIPS 2018): an unstable ReLU with
pre-activation bounds ``l < 0 < u`` is bounded above by the chord ``u (z - l) / (u - l)`` and
below by ``z`` when ``u > -l``, else by ``0``. Intermediate bounds are CROWN bounds computed
layer by layer (exact interval bounds for the first layer).
"""

from __future__ import annotations

import copy
import math
import weakref
from dataclasses import dataclass

import torch
from torch import nn

from autospec_cli.models import graph_modules as gm

Layers = list[tuple[torch.Tensor, torch.Tensor]]

_PASS = (nn.Identity, nn.Dropout, nn.Flatten)


def _modules_in_order(model: nn.Module) -> list[nn.Module] | None:
    """Leaf modules of a model that is a chain (``nn.Sequential``, maybe under ``.net``)."""
    net = model
    folded = getattr(model, "folded", None)
    if callable(folded) and not isinstance(model, nn.Sequential):
        net = folded()
    while not isinstance(net, nn.Sequential):
        inner = getattr(net, "net", None)
        if not isinstance(inner, nn.Module):
            return None
        net = inner
    leaves: list[nn.Module] = []
    for m in net:
        if isinstance(m, nn.Sequential):
            sub = _modules_in_order(m)
            if sub is None:
                return None
            leaves.extend(sub)
        else:
            leaves.append(m)
    return leaves


#: Modules that compute an affine map of their input (in eval mode); a run of them between
#: two ReLUs is turned into one dense (W, b) pair.
_AFFINE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.AvgPool2d, nn.ZeroPad2d, nn.ConstantPad2d,
           nn.BatchNorm1d, nn.BatchNorm2d, gm.Affine, gm.Reshape, gm.Transpose, *_PASS)
#: Largest dense matrix (entries) a run of convolution/pooling layers is expanded into.
MAX_DENSE = 60_000_000


def _dense(run: list[nn.Module], shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor,
                                                                  tuple[int, ...]] | None:
    """``(W, b, out_shape)`` in float64 of the affine map computed by ``run`` on one sample of
    ``shape``, or None when the matrix would exceed :data:`MAX_DENSE` entries.

    The run is evaluated in float64: on the basis vectors when it has fewer inputs than
    outputs, else one gradient per output (a batched backward pass), so W is exact up to
    float64 rounding of the module's own arithmetic.
    """
    seq = copy.deepcopy(nn.Sequential(*run)).double().eval()
    n_in = math.prod(shape)
    with torch.no_grad():
        b_full = seq(torch.zeros(1, *shape, dtype=torch.float64))
    out_shape = tuple(b_full.shape[1:])
    n_out = math.prod(out_shape)
    if n_in * n_out > MAX_DENSE:
        return None
    b = b_full.reshape(n_out)
    if n_in <= n_out:
        cols = []
        with torch.no_grad():
            for at in range(0, n_in, 256):
                eye = torch.eye(n_in, dtype=torch.float64)[at:at + 256]
                cols.append((seq(eye.reshape(-1, *shape)).reshape(-1, n_out) - b).T)
        return torch.cat(cols, 1).contiguous(), b, out_shape

    rows = []
    for at in range(0, n_out, 256):  # row j of W: the gradient of output j (one pass a chunk)
        k = min(256, n_out - at)
        x = torch.zeros(k, *shape, dtype=torch.float64, requires_grad=True)
        y = seq(x).reshape(k, n_out)[:, at:at + k]
        (grad,) = torch.autograd.grad(y.diagonal().sum(), x)
        rows.append(grad.reshape(k, n_in))
    return torch.cat(rows, 0).contiguous(), b, out_shape


def extract_affine_relu(model: nn.Module, input_shape: tuple[int, ...] | None = None
                        ) -> Layers | None:
    """``[(W1, b1), ..., (WL, bL)]`` in float64 (ReLU between pairs), or None if unsupported.

    Consecutive affine maps are merged. Runs that hold convolutions, padding, average pooling,
    BatchNorm or reshapes (anything in :data:`_AFFINE` but a Linear) are expanded into dense
    matrices; that needs the per-sample input shape (``input_shape``, else the model's
    ``net_input_shape`` as the ONNX converter records it) and fails (None) beyond
    :data:`MAX_DENSE` entries. The caller must check the result against the model's forward
    pass (shape conventions of a wrapper such as a reshape in ``forward`` are not visible here).
    """
    leaves = _modules_in_order(model)
    if not leaves:
        return None
    shape = input_shape or getattr(model, "net_input_shape", None)
    if shape is None and not isinstance(leaves[0], nn.Linear):
        return None
    runs: list[list[nn.Module]] = [[]]
    for m in leaves:
        if isinstance(m, nn.ReLU):
            if not any(isinstance(r, _AFFINE[:-len(_PASS)]) for r in runs[-1]):
                return None  # ReLU on the input or two ReLUs in a row
            runs.append([])
        elif isinstance(m, _AFFINE):
            runs[-1].append(m)
        else:
            return None
    if not any(isinstance(r, _AFFINE[:-len(_PASS)]) for r in runs[-1]):
        return None  # network ending in a ReLU: not handled here
    layers: Layers = []
    for run in runs:
        if all(isinstance(m, (nn.Linear, *_PASS)) for m in run):
            pending: tuple[torch.Tensor, torch.Tensor] | None = None
            for m in run:
                if isinstance(m, nn.Linear):
                    W = m.weight.detach().to(torch.float64).cpu()
                    b = (m.bias.detach().to(torch.float64).cpu() if m.bias is not None
                         else torch.zeros(W.shape[0], dtype=torch.float64))
                    pending = (W, b) if pending is None else (W @ pending[0], W @ pending[1] + b)
            assert pending is not None
            layers.append(pending)
            shape = (int(pending[0].shape[0]),)
            continue
        if shape is None:
            return None
        dense = _dense(run, tuple(int(v) for v in shape))
        if dense is None:
            return None
        W, b, shape = dense
        layers.append((W, b))
    return layers


def forward(layers: Layers, x: torch.Tensor) -> torch.Tensor:
    """The network's output for rows of ``x`` (same dtype as the layers)."""
    for i, (W, b) in enumerate(layers):
        x = x @ W.T + b
        if i < len(layers) - 1:
            x = torch.relu(x)
    return x


@dataclass
class CrownResult:
    """``lb``: (N, k) lower bounds of ``C y``; ``lA``: (N, k, n_in) and ``lbias``: (N, k) with
    ``C y >= lA x + lbias`` for every x in the box (so ``lb = min over the box``)."""

    lb: torch.Tensor
    lA: torch.Tensor
    lbias: torch.Tensor
    hidden: torch.Tensor | None = None  # (N, 2, H): packed hidden bounds (see pack_hidden)


def pack_hidden(bounds: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Per-layer pre-activation bounds ``[(lb_k, ub_k)]`` (each (N, n_k)) as one (N, 2, H)
    tensor, so a search can carry them with its boxes (H = the hidden neurons)."""
    return torch.stack([torch.cat([lb for lb, _ in bounds], 1),
                        torch.cat([ub for _, ub in bounds], 1)], 1)


def _unpack_hidden(packed: torch.Tensor, layers: Layers) -> list[tuple[torch.Tensor, torch.Tensor]]:
    out, at = [], 0
    for W, _ in layers[:-1]:
        n = W.shape[0]
        out.append((packed[:, 0, at : at + n], packed[:, 1, at : at + n]))
        at += n
    return out


def relu_relaxation(
    lo: torch.Tensor, up: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ReLU relaxation: lower slope, upper slope and upper intercept per neuron."""
    unstable = (lo < 0) & (up > 0)
    active = lo >= 0
    denom = torch.where(unstable, up - lo, torch.ones_like(up))
    s_up = torch.where(unstable, up / denom, active.to(up.dtype))
    t_up = torch.where(unstable, -s_up * lo, torch.zeros_like(up))
    s_low = torch.where(unstable, (up > -lo).to(up.dtype), active.to(up.dtype))
    return s_low, s_up, t_up


#: Most elements of the multiplier tensor one backward refinement pass holds (2^25 float64
#: values: 256 MiB); wider layers or larger batches are refined in chunks of neurons.
REFINE_ELEMENTS = 2**25

_SIGNED: dict[int, tuple[weakref.ref, torch.Tensor, torch.Tensor]] = {}


def signed_parts(W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(max(W, 0), min(W, 0))`` of a layer's weights, computed once per weight tensor.

    Every bound pass needs both halves of every layer; recomputing them allocated two copies
    of each weight matrix per call, which on a 1-4096-4096-1 network was 44 % of a CROWN
    pass (measured: 29 s of 67 s in ``clamp``). Entries die with their weight tensor."""
    hit = _SIGNED.get(id(W))
    if hit is not None and hit[0]() is W:
        return hit[1], hit[2]
    parts = (W.clamp(min=0), W.clamp(max=0))
    for key in [k for k, v in _SIGNED.items() if v[0]() is None]:
        del _SIGNED[key]
    _SIGNED[id(W)] = (weakref.ref(W), *parts)
    return parts


def _backward(
    lam: torch.Tensor,
    layers: Layers,
    k: int,
    relax: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Propagate ``lam`` (N, m, n_k) from the input of layer ``k`` (post-ReLU of k-1) to x.

    Returns ``(A, bias)`` with ``lam · a_{k-1} >= A x + bias`` over the box.
    """
    bias = torch.zeros(lam.shape[:2], dtype=lam.dtype, device=lam.device)
    for j in range(k - 1, -1, -1):
        s_low, s_up, t_up = relax[j]
        pos = lam.clamp(min=0)
        neg = lam - pos
        bias = bias + (neg @ t_up[:, :, None])[..., 0]
        s_low = s_low[:, None, :] if s_low.dim() == 2 else s_low  # per box or per box and row
        lam = pos * s_low + neg * s_up[:, None, :]
        W, b = layers[j]
        bias = bias + lam @ b
        lam = lam @ W
    return lam, bias


def concretize(
    A: torch.Tensor, bias: torch.Tensor, centre: torch.Tensor, radius: torch.Tensor
) -> torch.Tensor:
    """Minimum of ``A x + bias`` over the boxes ``centre ± radius``."""
    return (A @ centre[:, :, None])[..., 0] - (A.abs() @ radius[:, :, None])[..., 0] + bias


def _refine_unstable(
    layers: Layers,
    k: int,
    relax: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    lb: torch.Tensor,
    ub: torch.Tensor,
    centre: torch.Tensor,
    radius: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tighten the bounds of layer ``k``'s unstable neurons with backward CROWN passes.

    Per box the unstable neurons are gathered (padded to the batch's largest count; padding
    picks stable neurons, whose backward bounds are just as valid) and their bounds are
    intersected with the backward ones.
    """
    unstable = (lb < 0) & (ub > 0)
    m = int(unstable.sum(dim=1).max())
    if m == 0:
        return lb, ub
    idx = torch.topk(unstable.to(lb.dtype), m, dim=1).indices  # unstable neurons first
    W, b = layers[k]
    # The backward pass holds (N, 2c, n_j) multipliers for c neurons at a time: chunks keep
    # that under REFINE_ELEMENTS whatever the width (a 8192-wide layer with every neuron
    # unstable would otherwise need N x 1 GiB per pass).
    widest = max(int(layers[j][0].shape[1]) for j in range(k + 1))
    c = max(1, min(m, REFINE_ELEMENTS // max(1, 2 * lb.shape[0] * widest)))
    new_lb, new_ub = lb.gather(1, idx), ub.gather(1, idx)
    for s in range(0, m, c):
        part = idx[:, s:s + c]
        rows = W[part]  # (N, c, n_prev)
        A, bias = _backward(torch.cat([rows, -rows], dim=1), layers, k, relax)
        bk = b[part]
        both = concretize(A, bias + torch.cat([bk, -bk], dim=1), centre, radius)
        n = part.shape[1]
        new_lb[:, s:s + n] = torch.maximum(new_lb[:, s:s + n], both[:, :n])
        new_ub[:, s:s + n] = torch.minimum(new_ub[:, s:s + n], -both[:, n:])
    return lb.scatter(1, idx, new_lb), ub.scatter(1, idx, new_ub)


def _hidden_relaxations(
    layers: Layers,
    lo: torch.Tensor,
    hi: torch.Tensor,
    refine: bool,
    prior: torch.Tensor | None = None,
) -> tuple[list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]], list]:
    """ReLU relaxations of every hidden layer from forward linear propagation, optionally
    refined by backward CROWN on the neurons it leaves unstable; also the bounds used.

    ``prior`` (packed, see :func:`pack_hidden`): pre-activation bounds known to hold on a box
    *containing* each box (its parent in a branch and bound); they are intersected with the
    forward bounds before the relaxation and the refinement, so a child is never looser than
    its parent and fewer of its neurons need a backward pass.

    Each neuron carries an affine lower and upper bound in terms of the input (``(N, n, d+1)``,
    last column the constant), pushed through the layers with the same ReLU relaxation as
    the backward pass. With few inputs this costs O(L) small products; the refinement adds a
    backward pass only for the (usually few) neurons still unstable.
    """
    n, d = lo.shape
    centre, radius = (hi + lo) / 2, (hi - lo) / 2
    eye = torch.eye(d, dtype=lo.dtype, device=lo.device)
    low = torch.cat([eye, torch.zeros(d, 1, dtype=lo.dtype, device=lo.device)], 1)[None].expand(
        n, -1, -1
    )
    up = low
    known = _unpack_hidden(prior, layers) if prior is not None else None
    relax: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    used: list[tuple[torch.Tensor, torch.Tensor]] = []
    for k, (W, b) in enumerate(layers[:-1]):
        Wp, Wn = signed_parts(W)
        z_low = Wp @ low + Wn @ up
        z_up = Wp @ up + Wn @ low
        z_low[..., -1] += b
        z_up[..., -1] += b
        lb = concretize(z_low[..., :-1], z_low[..., -1], centre, radius)
        ub = -concretize(-z_up[..., :-1], -z_up[..., -1], centre, radius)
        if known is not None:
            lb, ub = torch.maximum(lb, known[k][0]), torch.minimum(ub, known[k][1])
        if refine and k > 0:
            lb, ub = _refine_unstable(layers, k, relax, lb, ub, centre, radius)
        used.append((lb, ub))
        s_low, s_up, t_up = relu_relaxation(lb, ub)
        relax.append((s_low, s_up, t_up))
        low = z_low * s_low[..., None]
        up = z_up * s_up[..., None]
        up[..., -1] += t_up
    return relax, used


def crown_lower(
    layers: Layers,
    lo: torch.Tensor,
    hi: torch.Tensor,
    C: torch.Tensor,
    intermediate: str = "hybrid",
    alpha_steps: int = 0,
    prior: torch.Tensor | None = None,
) -> CrownResult:
    """CROWN lower bounds of ``C y`` over each box ``[lo_i, hi_i]``.

    ``lo``, ``hi``: (N, n_in); ``C``: (k, n_out) shared by all boxes. Everything in the dtype of
    ``layers`` (float64 for sound margins). ``intermediate``: how hidden-layer bounds are
    found: ``"forward"`` (forward linear propagation, fast, loose), ``"backward"`` (full
    CROWN, quadratic in depth) or ``"hybrid"`` (forward, then backward CROWN only for the
    neurons still unstable: about as tight as full CROWN for a fraction of the cost); the
    output bound is always a backward CROWN pass.

    ``alpha_steps > 0`` optimises, per box and row of ``C``, the lower slopes of the unstable
    ReLUs (any slope in [0, 1] is a valid lower bound) by projected gradient ascent on the
    row's bound (alpha-CROWN with fixed intermediate bounds); the best bound seen is kept.

    ``prior`` (forward and hybrid only): valid hidden bounds of boxes containing these, see
    :func:`_hidden_relaxations`; the result's ``hidden`` holds the bounds used (packed), to
    pass as ``prior`` for sub-boxes.
    """
    hidden = None
    if intermediate in ("forward", "hybrid"):
        relax, used = _hidden_relaxations(layers, lo, hi, intermediate == "hybrid", prior)
        hidden = pack_hidden(used) if used else None
    else:
        relax = _backward_relaxations(layers, lo, hi)
    centre, radius = (hi + lo) / 2, (hi - lo) / 2
    n = lo.shape[0]
    W0, b0 = layers[0]
    if len(layers) == 1:
        A, bias = C[None].expand(n, -1, -1) @ W0, (C @ b0)[None].expand(n, -1)
    else:
        WL, bL = layers[-1]
        lam = (C @ WL)[None].expand(n, -1, -1)
        A, bias = _backward(lam, layers, len(layers) - 1, relax)
        bias = bias + C @ bL
        if alpha_steps > 0:
            r = _optimise_slopes(layers, relax, lam, C @ bL, centre, radius, alpha_steps)
            return CrownResult(r.lb, r.lA, r.lbias, hidden)
    return CrownResult(concretize(A, bias, centre, radius), A, bias, hidden)


def _optimise_slopes(
    layers: Layers,
    relax: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    lam: torch.Tensor,
    bias0: torch.Tensor,
    centre: torch.Tensor,
    radius: torch.Tensor,
    steps: int,
) -> CrownResult:
    """alpha-CROWN on the output bound (see :func:`crown_lower`); slopes start at CROWN's."""
    k = lam.shape[1]
    unstable = [((t > 0) & (s_up < 1))[:, None, :] for _, s_up, t in relax]
    alphas = [s_low[:, None, :].expand(-1, k, -1).clone() for s_low, _, _ in relax]
    best: CrownResult | None = None
    with torch.enable_grad():
        for a in alphas:
            a.requires_grad_(True)
        opt = torch.optim.Adam(alphas, lr=0.1)
        for t in range(steps + 1):
            rel = [
                (torch.where(u, a, s_low[:, None, :]), s_up, t_up)
                for a, u, (s_low, s_up, t_up) in zip(alphas, unstable, relax, strict=True)
            ]
            A, bias = _backward(lam, layers, len(layers) - 1, rel)
            bias = bias + bias0
            lb = concretize(A, bias, centre, radius)
            if best is None:
                best = CrownResult(lb.detach(), A.detach(), bias.detach())
            else:
                up = (lb > best.lb).detach()
                best = CrownResult(
                    torch.where(up, lb.detach(), best.lb),
                    torch.where(up[..., None], A.detach(), best.lA),
                    torch.where(up, bias.detach(), best.lbias),
                )
            if t == steps:
                break
            opt.zero_grad()
            (-lb.sum()).backward()
            opt.step()
            with torch.no_grad():
                for a in alphas:
                    a.clamp_(0, 1)
    assert best is not None
    return best


def _backward_relaxations(
    layers: Layers, lo: torch.Tensor, hi: torch.Tensor
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """ReLU relaxations from full CROWN intermediate bounds (backward pass per layer)."""
    centre, radius = (hi + lo) / 2, (hi - lo) / 2
    n = lo.shape[0]
    relax: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    W0, b0 = layers[0]
    z_c = centre @ W0.T + b0
    z_r = radius @ W0.abs().T
    bounds = (z_c - z_r, z_c + z_r)
    for k in range(1, len(layers)):
        relax.append(relu_relaxation(*bounds))
        if k == len(layers) - 1:
            break
        W, b = layers[k]
        lam = torch.cat([W, -W])[None].expand(n, -1, -1)
        A, bias = _backward(lam, layers, k, relax)
        both = concretize(A, bias + torch.cat([b, -b]), centre, radius)
        bounds = (both[:, : W.shape[0]], -both[:, W.shape[0] :])
    return relax
