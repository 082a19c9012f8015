"""The converter's intermediate form: a list of steps on computed tensors, fusion, emission.

A :class:`Dyn` is a tensor computed from the network input. Its ``full`` shape is the ONNX
shape for ONE sample (a symbolic batch counted as 1). The torch tensor has an extra leading
batch axis and drops a leading ONNX dimension of 1 when the rank is >= 2 (the ONNX batch
axis): ``per`` is its shape without the batch axis. The rule depends on the shape only, so
every step agrees on it.

Fusion (all exact): constant elementwise affine maps (Sub/Div normalisation, BatchNorm,
the Add after MatMul) are folded into the neighbouring Linear or Conv; auto_LiRPA bounds
nn.Linear / nn.Conv2d best and ONNX MatMul+Add graphs otherwise need its matrix mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from autospec_cli.models import graph_modules as gm

MAX_DIAGONAL = 1024  # leftover affine maps up to this width become a diagonal nn.Linear


@dataclass(frozen=True)
class Dyn:
    """A computed tensor: its producing step's output name and its full ONNX shape."""

    name: str
    full: tuple[int, ...]

    @property
    def elided(self) -> bool:
        return len(self.full) >= 2 and self.full[0] == 1

    @property
    def per(self) -> tuple[int, ...]:
        return self.full[1:] if self.elided else self.full


def per_shape(full: tuple[int, ...]) -> tuple[int, ...]:
    return Dyn("", full).per


@dataclass
class Step:
    """One torch operation: ``kind`` with parameters ``p`` from ``inputs`` to ``output``."""

    kind: str
    inputs: list[str]
    output: str
    in_per: tuple[int, ...]
    out_per: tuple[int, ...]
    p: dict[str, Any] = field(default_factory=dict)


def torch_const(c: np.ndarray, out_full: tuple[int, ...]) -> np.ndarray:
    """A constant broadcastable to ``out_full`` in torch layout: (1, *compact per-sample)."""
    c = np.asarray(c, dtype=np.float64)
    c = c.reshape((1,) * (len(out_full) - c.ndim) + c.shape)
    if len(out_full) >= 2 and out_full[0] == 1:
        c = c[0]
    return c[None]


# --- graph bookkeeping ---------------------------------------------------------------------


def consumers(steps: list[Step], output: str) -> dict[str, int]:
    count: dict[str, int] = {output: 1}
    for s in steps:
        for name in s.inputs:
            count[name] = count.get(name, 0) + 1
    return count


def prune(steps: list[Step], output: str) -> list[Step]:
    """Drop steps whose results are never used."""
    needed, kept = {output}, []
    for s in reversed(steps):
        if s.output in needed:
            kept.append(s)
            needed.update(s.inputs)
    return kept[::-1]


def _single_use(steps: list[Step], output: str) -> dict[str, Step]:
    """Steps by output name whose output feeds exactly one other step (not the graph output)."""
    use = consumers(steps, output)
    return {s.output: s for s in steps if use.get(s.output, 0) == 1 and s.output != output}


# --- fusion rules --------------------------------------------------------------------------


def _last_axis_only(c: np.ndarray) -> bool:
    return all(d == 1 for d in c.shape[:-1])


def _channel_only(c: np.ndarray) -> bool:
    return c.ndim == 4 and c.shape[0] == 1 and c.shape[2] == 1 and c.shape[3] == 1


def _vec(c: np.ndarray, n: int) -> np.ndarray:
    return np.broadcast_to(c.reshape(-1), (n,)).astype(np.float64)


def _affine_affine(a: Step, b: Step) -> bool:
    b.p = {"s": a.p["s"] * b.p["s"], "t": a.p["t"] * b.p["s"] + b.p["t"]}
    b.inputs, b.in_per = a.inputs, a.in_per
    return True


def _linear_affine(lin: Step, aff: Step) -> bool:
    s, t = aff.p["s"], aff.p["t"]
    if not (_last_axis_only(s) and _last_axis_only(t)):
        return False
    m = lin.p["W"].shape[0]
    sv, tv = _vec(s, m), _vec(t, m)
    lin.p = {"W": sv[:, None] * lin.p["W"], "b": sv * lin.p["b"] + tv}
    lin.output = aff.output
    return True


def _conv_affine(conv: Step, aff: Step) -> bool:
    s, t = aff.p["s"], aff.p["t"]
    if not (_channel_only(s) or s.size == 1) or not (_channel_only(t) or t.size == 1):
        return False
    o = conv.p["W"].shape[0]
    sv, tv = _vec(s, o), _vec(t, o)
    conv.p = {**conv.p, "W": conv.p["W"] * sv[:, None, None, None], "b": sv * conv.p["b"] + tv}
    conv.output = aff.output
    return True


def _affine_linear(aff: Step, lin: Step) -> bool:
    s, t = aff.p["s"], aff.p["t"]
    if not (_last_axis_only(s) and _last_axis_only(t)):
        return False
    W = lin.p["W"]
    k = W.shape[1]
    sv, tv = _vec(s, k), _vec(t, k)
    lin.p = {"W": W * sv[None, :], "b": lin.p["b"] + W @ tv}
    lin.inputs, lin.in_per = aff.inputs, aff.in_per
    return True


def _affine_conv(aff: Step, conv: Step) -> bool:
    s, t = aff.p["s"], aff.p["t"]
    p = conv.p
    if any(p["padding"]) or p["groups"] != 1:
        return False  # zero padding would not be shifted/scaled: folding would be inexact
    if not (_channel_only(s) or s.size == 1) or not (_channel_only(t) or t.size == 1):
        return False
    c = p["W"].shape[1]
    sv, tv = _vec(s, c), _vec(t, c)
    W = p["W"]
    conv.p = {**p, "W": W * sv[None, :, None, None],
              "b": p["b"] + (W * tv[None, :, None, None]).sum(axis=(1, 2, 3))}
    conv.inputs, conv.in_per = aff.inputs, aff.in_per
    return True


_PAIR_RULES = {
    ("affine", "affine"): _affine_affine,
    ("linear", "affine"): _linear_affine,
    ("conv", "affine"): _conv_affine,
    ("affine", "linear"): _affine_linear,
    ("affine", "conv"): _affine_conv,
}


def _swap_affine_reshape(aff: Step, rs: Step, steps: list[Step], output: str) -> bool:
    """``affine -> reshape -> linear`` becomes ``reshape -> affine -> linear`` (then folds)."""
    nxt = [s for s in steps if rs.output in s.inputs]
    if len(nxt) != 1 or nxt[0].kind != "linear" or rs.output == output:
        return False
    shape_a, shape_r = (1, *aff.out_per), (1, *rs.out_per)
    s = np.broadcast_to(aff.p["s"], shape_a).reshape(shape_r)
    t = np.broadcast_to(aff.p["t"], shape_a).reshape(shape_r)
    i, j = steps.index(aff), steps.index(rs)
    new_rs = Step("reshape", aff.inputs, aff.output, aff.in_per, rs.out_per)
    new_aff = Step("affine", [aff.output], rs.output, rs.out_per, rs.out_per, {"s": s, "t": t})
    steps[i], steps[j] = new_rs, new_aff
    return True


def fuse(steps: list[Step], output: str) -> list[Step]:
    """Apply the exact fusion rules until none applies."""
    steps = list(steps)
    changed = True
    while changed:
        changed = False
        single = _single_use(steps, output)
        for b in steps:
            if len(b.inputs) != 1 or b.inputs[0] not in single:
                continue
            a = single[b.inputs[0]]
            rule = _PAIR_RULES.get((a.kind, b.kind))
            if rule is not None and rule(a, b):
                if a.kind == "affine":
                    steps.remove(a)
                else:
                    steps.remove(b)
                changed = True
                break
            if (a.kind, b.kind) == ("affine", "reshape") \
                    and _swap_affine_reshape(a, b, steps, output):
                changed = True
                break
    return steps


# --- emission ------------------------------------------------------------------------------


def _affine_module(step: Step) -> nn.Module:
    s, t, per = step.p["s"], step.p["t"], step.out_per
    if len(per) == 1 and per[0] <= MAX_DIAGONAL:
        k = per[0]
        lin = nn.Linear(k, k)
        with torch.no_grad():
            lin.weight.copy_(torch.as_tensor(np.diag(_vec(s, k))))
            lin.bias.copy_(torch.as_tensor(_vec(t, k)))
        return lin
    if len(per) == 3 and (_channel_only(s) or s.size == 1) and (_channel_only(t) or t.size == 1):
        c = per[0]
        conv = nn.Conv2d(c, c, 1)
        with torch.no_grad():
            conv.weight.copy_(torch.as_tensor(np.diag(_vec(s, c)))[:, :, None, None])
            assert conv.bias is not None
            conv.bias.copy_(torch.as_tensor(_vec(t, c)))
        return conv
    return gm.Affine(s, t)


def _linear(p: dict[str, Any]) -> nn.Module:
    W, b = p["W"], p["b"]
    lin = nn.Linear(W.shape[1], W.shape[0])
    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(W))
        lin.bias.copy_(torch.as_tensor(b))
    return lin


def _conv(p: dict[str, Any]) -> nn.Module:
    W = p["W"]
    conv = nn.Conv2d(W.shape[1] * p["groups"], W.shape[0], W.shape[2:], stride=p["stride"],
                     padding=p["padding"], dilation=p["dilation"], groups=p["groups"])
    with torch.no_grad():
        conv.weight.copy_(torch.as_tensor(W))
        assert conv.bias is not None
        conv.bias.copy_(torch.as_tensor(p["b"]))
    return conv


def _act(p: dict[str, Any]) -> nn.Module:
    name = p["act"]
    if name == "Relu":
        return nn.ReLU()
    if name == "Sigmoid":
        return nn.Sigmoid()
    if name == "Tanh":
        return nn.Tanh()
    return nn.LeakyReLU(float(p.get("alpha", 0.01)))


def make_module(step: Step) -> nn.Module:
    """The torch module computing ``step`` (float32 parameters)."""
    p, kind = step.p, step.kind
    if kind == "linear":
        return _linear(p)
    if kind == "conv":
        return _conv(p)
    if kind == "affine":
        return _affine_module(step)
    if kind == "act":
        return _act(p)
    if kind == "pad":
        return nn.ZeroPad2d(p["pads"])
    if kind == "avgpool":
        return nn.AvgPool2d(p["kernel"], p["stride"], p["padding"], ceil_mode=p["ceil_mode"],
                            count_include_pad=p["count_include_pad"])
    if kind == "maxpool":
        return nn.MaxPool2d(p["kernel"], p["stride"], p["padding"], dilation=p["dilation"],
                            ceil_mode=p["ceil_mode"])
    if kind == "reshape":
        return gm.Reshape(step.out_per)
    if kind == "transpose":
        return gm.Transpose(step.in_per, p["in_full"], p["perm"], step.out_per)
    if kind == "concat":
        return gm.Concat(p["in_pers"], p["in_fulls"], p["axis"], p["out_full"], step.out_per)
    if kind == "add":
        return gm.Add()
    if kind == "sub":
        return gm.Sub()
    if kind == "mul":
        return gm.Mul()
    if kind == "div":
        return gm.Div()
    if kind == "trunc":
        return gm.Trunc()
    if kind == "nonzero":
        return gm.NonZero()
    if kind == "positive":
        return gm.Positive()
    if kind == "softmax":
        return gm.Softmax(p["in_full"], p["axis"], step.out_per)
    if kind == "pow":
        return gm.Pow(p["e"])
    if kind == "powbase":
        return gm.PowBase(p["base"])
    if kind == "round16":
        return gm.RoundHalf()
    raise AssertionError(f"unknown step kind {kind}")


def strip_reshapes(steps: list[Step], input_name: str, output: str
                   ) -> tuple[list[Step], tuple[int, ...] | None]:
    """Drop a reshape right after the input (returning the shape the net then expects) and a
    reshape producing the output (the model flattens outputs anyway)."""
    steps = list(steps)
    net_input = None
    use = consumers(steps, output)
    if steps and steps[0].kind == "reshape" and steps[0].inputs == [input_name] \
            and use.get(input_name) == 1 and steps[0].output != output:
        first = steps.pop(0)
        net_input = first.out_per
        for s in steps:
            s.inputs = [input_name if n == first.output else n for n in s.inputs]
    if len(steps) > 1 and steps[-1].kind == "reshape" and steps[-1].output == output \
            and use.get(steps[-1].inputs[0]) == 1:
        last = steps.pop()
        for s in steps:
            if s.output == last.inputs[0]:
                s.output = output
    return steps, net_input


def build_network(steps: list[Step], input_name: str, output: str) -> nn.Module:
    """``nn.Sequential`` when the steps form a chain, else a :class:`GraphNet`."""
    modules = [make_module(s) for s in steps]
    use = consumers(steps, output)
    chain = all(
        s.inputs == [steps[i - 1].output if i else input_name]
        and use.get(s.inputs[0], 0) == 1 for i, s in enumerate(steps)
    ) and (not steps or steps[-1].output == output)
    if chain:
        return nn.Sequential(*modules) if modules else nn.Sequential(nn.Identity())
    index = {input_name: 0}
    wiring = []
    for i, s in enumerate(steps):
        wiring.append([index[n] for n in s.inputs])
        index[s.output] = i + 1
    return gm.GraphNet(modules, wiring, index[output])
