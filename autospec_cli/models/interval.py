"""Interval bounds (IBP) of a converted network over batches of input boxes, in float64.

Why a second bounding method beside CROWN: the converter also builds modules that linear
relaxations in auto_LiRPA 0.3 do not cover -- step functions (ONNX Cast to an integer type or
to BOOL), float16 rounding, and products or quotients of two computed tensors. Interval
arithmetic has an exact rule for each, so the branch-and-bound search can decide small
problems with them by splitting the input box; on everything else it is a cheap second
opinion whose lower bound can only tighten CROWN's (both are sound, so the larger wins).

Soundness. Every rule encloses the real-arithmetic result of its module on the box. The model
is evaluated in float32 by onnxruntime, whose rounding can move a value across a step of a
discontinuous function (``trunc(2.9999999)`` vs ``trunc(3.0)``), so the input interval of a
step function is widened by a relative :data:`STEP_SLACK` unless the value is *exact* -- the
input itself or a value computed from it by operations that do not round (selections,
reshapes, ReLU, max pooling, the steps themselves). Continuous modules need no widening: the
search refutes a box only with a relative safety margin far above float32 rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from autospec_cli.errors import ModelError
from autospec_cli.models import graph_modules as gm

#: relative widening of a step function's input interval that covers float32 rounding
STEP_SLACK = 1e-5

Bounds = tuple[torch.Tensor, torch.Tensor, bool]  # lower, upper, exact (no rounding so far)

_MONOTONE_EXACT = (nn.ReLU, nn.MaxPool2d, nn.ZeroPad2d, nn.Identity, nn.Dropout, nn.Flatten,
                   gm.Reshape, gm.Transpose)
_MONOTONE = (nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.AvgPool2d)


def needs_intervals(model: nn.Module) -> bool:
    """Whether ``model`` has modules only interval arithmetic bounds (see the module doc)."""
    return any(isinstance(m, gm.INTERVAL_ONLY) for m in model.modules())


def interval_bounds(model: nn.Module, lo: torch.Tensor, hi: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Lower and upper bounds (N, n_outputs) of a converted model's outputs over the boxes
    ``lo``/``hi`` (N, n_inputs), in float64."""
    lo, hi = lo.to(torch.float64), hi.to(torch.float64)
    n = lo.shape[0]
    shape = getattr(model, "net_input_shape", None)
    net = getattr(model, "net", model)
    if shape is not None:
        lo, hi = lo.reshape(n, *shape), hi.reshape(n, *shape)
    ylo, yhi, _ = _bounds(net, (lo, hi, True))
    return ylo.reshape(n, -1), yhi.reshape(n, -1)


def lower_of_rows(C: torch.Tensor, ylo: torch.Tensor, yhi: torch.Tensor) -> torch.Tensor:
    """Lower bound (N, k) of ``C y`` (C: (k, n_out)) for y in [ylo, yhi] (N, n_out);
    infinite bounds count only where C is non-zero."""
    C = C.to(torch.float64)
    pos, neg = C.clamp(min=0)[None], C.clamp(max=0)[None]
    a = torch.where(pos == 0, 0.0, pos * ylo[:, None, :])
    b = torch.where(neg == 0, 0.0, neg * yhi[:, None, :])
    return (a + b).sum(dim=2)


def _widen(b: Bounds) -> tuple[torch.Tensor, torch.Tensor]:
    lo, hi, exact = b
    if exact:
        return lo, hi
    return lo - STEP_SLACK * (1 + lo.abs()), hi + STEP_SLACK * (1 + hi.abs())


def _linear(m: nn.Linear, b: Bounds) -> Bounds:
    W = m.weight.detach().to(torch.float64)
    bias = m.bias.detach().to(torch.float64) if m.bias is not None else W.new_zeros(W.shape[0])
    lo, hi, exact = b
    c, r = (lo + hi) / 2, (hi - lo) / 2
    yc, yr = c @ W.T + bias, r @ W.abs().T
    unit = (W == 0) | (W.abs() == 1)
    selection = bool(((W != 0).sum(dim=1) <= 1).all() and unit.all() and (bias == 0).all())
    return yc - yr, yc + yr, exact and selection


def _conv(m: nn.Conv2d, b: Bounds) -> Bounds:
    W = m.weight.detach().to(torch.float64)
    bias = m.bias.detach().to(torch.float64) if m.bias is not None else None
    lo, hi, _ = b
    c, r = (lo + hi) / 2, (hi - lo) / 2
    kw = {"stride": m.stride, "padding": m.padding, "dilation": m.dilation, "groups": m.groups}
    yc = F.conv2d(c, W, bias, **kw)  # type: ignore[arg-type]
    yr = F.conv2d(r, W.abs(), None, **kw)  # type: ignore[arg-type]
    return yc - yr, yc + yr, False


def _affine(m: gm.Affine, b: Bounds) -> Bounds:
    s, t = m.scale.to(torch.float64), m.shift.to(torch.float64)
    lo, hi, exact = b
    p, q = lo * s, hi * s
    sign_only = bool((s.abs() == 1).all() and (t == 0).all())  # x or -x: no rounding
    return torch.minimum(p, q) + t, torch.maximum(p, q) + t, exact and sign_only


def _product(a: Bounds, b: Bounds) -> tuple[torch.Tensor, torch.Tensor]:
    cands = torch.stack([a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]])
    return cands.min(dim=0).values, cands.max(dim=0).values


def _square(a: Bounds) -> Bounds:
    lo, hi, _ = a
    big = torch.maximum(lo * lo, hi * hi)
    small = torch.where((lo <= 0) & (hi >= 0), 0.0, torch.minimum(lo * lo, hi * hi))
    return small, big, False


def _div(a: Bounds, b: Bounds) -> Bounds:
    lo, hi, _ = b
    straddles = (lo <= 0) & (hi >= 0)
    safe_lo = torch.where(straddles, 1.0, lo)
    safe_hi = torch.where(straddles, 1.0, hi)
    qlo, qhi = _product(a, (1 / safe_hi, 1 / safe_lo, False))
    inf = torch.full_like(qlo, torch.inf)
    return torch.where(straddles, -inf, qlo), torch.where(straddles, inf, qhi), False


def _nonzero(b: Bounds) -> Bounds:
    lo, hi = _widen(b)
    one = (lo > 0) | (hi < 0)
    zero = (lo == 0) & (hi == 0)
    ylo = torch.where(one, 1.0, 0.0).to(lo.dtype)
    yhi = torch.where(zero, 0.0, 1.0).to(lo.dtype)
    return ylo, yhi, True


def _positive(b: Bounds) -> Bounds:
    lo, hi = _widen(b)
    return (lo > 0).to(lo.dtype), (hi > 0).to(lo.dtype), True


def _pow(m: gm.Pow, b: Bounds) -> Bounds:
    """``x ** e``: monotone pieces per element. Integer ``e``: odd increasing, even like a
    square; otherwise defined for ``x >= 0`` only (increasing for ``e > 0``, decreasing for
    ``e < 0``): a box reaching below 0 gets no bound there."""
    lo, hi, _ = b
    e = m.exponent.to(torch.float64).expand_as(lo)
    p, q = torch.pow(lo, e), torch.pow(hi, e)
    integer = e == torch.round(e)
    even = integer & (torch.remainder(e, 2) == 0)
    straddles = (lo < 0) & (hi > 0)
    low, high = torch.minimum(p, q), torch.maximum(p, q)
    zero_at = torch.where(e > 0, torch.zeros_like(lo), torch.full_like(lo, torch.inf))
    low = torch.where(even & straddles & (e > 0), 0.0, low)
    high = torch.where(even & straddles & (e < 0), torch.inf, high)
    odd_neg_straddle = integer & ~even & (e < 0) & (lo <= 0) & (hi >= 0)
    frac_neg = ~integer & (lo < 0)
    unbounded = odd_neg_straddle | frac_neg
    low = torch.where(unbounded, -torch.inf, low)
    high = torch.where(unbounded, torch.inf, high)
    low = torch.where(even & (e < 0) & (lo == 0) & (hi == 0), zero_at, low)
    return low, high, False


def _pow_base(m: gm.PowBase, b: Bounds) -> Bounds:
    lo, hi, _ = b
    base = m.base.to(torch.float64)
    p, q = torch.pow(base, lo), torch.pow(base, hi)
    return torch.minimum(p, q), torch.maximum(p, q), False


def _softmax(m: gm.Softmax, b: Bounds) -> Bounds:
    """Output ``i`` grows with ``x_i`` and falls with every other ``x_j``, so its extremes are
    at ``(lo_i, hi_others)`` and ``(hi_i, lo_others)``: ``e^l_i / (e^l_i + sum_j!=i e^h_j)``."""
    lo, hi, _ = b
    n = lo.shape[0]
    lo, hi = lo.reshape(n, *m.in_full), hi.reshape(n, *m.in_full)
    shift = hi.amax(dim=m.dim, keepdim=True)  # exp arguments <= 0: no overflow
    el, eh = torch.exp(lo - shift), torch.exp(hi - shift)
    sum_l, sum_h = el.sum(dim=m.dim, keepdim=True), eh.sum(dim=m.dim, keepdim=True)
    low = el / (el + (sum_h - eh).clamp(min=0))
    high = eh / (eh + (sum_l - el).clamp(min=0))
    return low.reshape(n, *m.out_per), high.clamp(max=1).reshape(n, *m.out_per), False


def _module(m: nn.Module, ins: list[Bounds]) -> Bounds:
    """Bounds of ``m`` applied to values with bounds ``ins``."""
    if isinstance(m, (nn.Sequential, gm.GraphNet)):
        return _bounds(m, ins[0])
    if isinstance(m, nn.Linear):
        return _linear(m, ins[0])
    if isinstance(m, nn.Conv2d):
        return _conv(m, ins[0])
    if isinstance(m, gm.Affine):
        return _affine(m, ins[0])
    if isinstance(m, (gm.Trunc, gm.RoundHalf)):
        lo, hi = _widen(ins[0])
        return m(lo), m(hi), True
    if isinstance(m, gm.NonZero):
        return _nonzero(ins[0])
    if isinstance(m, gm.Positive):
        return _positive(ins[0])
    if isinstance(m, gm.Pow):
        return _pow(m, ins[0])
    if isinstance(m, gm.Softmax):
        return _softmax(m, ins[0])
    if isinstance(m, gm.PowBase):
        return _pow_base(m, ins[0])
    if isinstance(m, _MONOTONE_EXACT + _MONOTONE):
        lo, hi, exact = ins[0]
        return m(lo), m(hi), exact and isinstance(m, _MONOTONE_EXACT)
    if isinstance(m, gm.Concat):
        return (m(*[b[0] for b in ins]), m(*[b[1] for b in ins]), all(b[2] for b in ins))
    if isinstance(m, gm.Add):
        return ins[0][0] + ins[1][0], ins[0][1] + ins[1][1], False
    if isinstance(m, gm.Sub):
        return ins[0][0] - ins[1][1], ins[0][1] - ins[1][0], False
    if isinstance(m, gm.Mul):
        if ins[0] is ins[1]:
            return _square(ins[0])
        return (*_product(ins[0], ins[1]), False)
    if isinstance(m, gm.Div):
        return _div(ins[0], ins[1])
    raise ModelError(f"no interval rule for the module {type(m).__name__}")


def _bounds(net: nn.Module, x: Bounds) -> Bounds:
    if isinstance(net, gm.GraphNet):
        values = [x]
        for layer, wires in zip(net.layers, net.wiring, strict=True):
            values.append(_module(layer, [values[i] for i in wires]))
        return values[net.output]
    if isinstance(net, nn.Sequential):
        for m in net:
            x = _module(m, [x])
        return x
    return _module(net, [x])
