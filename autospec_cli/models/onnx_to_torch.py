"""ONNX -> torch for the operator subset verification supports (no onnx2torch needed).

:func:`load_onnx_as_torch` reads an ONNX file and builds plain torch modules: nn.Linear for
Gemm and MatMul(+Add), nn.Conv2d, pooling, activations, and small modules for reshapes,
transposes, concatenation and residual additions (``nn.Sequential`` for a chain, a DAG module
otherwise). Constant subgraphs are folded with numpy and constant affine pre/post-processing
(ACAS Xu's Sub/Div normalisation, BatchNorm, bias Adds) is folded into the neighbouring
Linear/Conv, which is what auto_LiRPA bounds best. With ``check=True`` the result is compared
with onnxruntime on random inputs; a mismatch raises :class:`ModelError`.

The returned :class:`OnnxTorchModel` takes ``(N, *input_shape)`` or flattened ``(N, n_inputs)``
inputs and returns ``(N, n_outputs)`` (the output tensor flattened row-major, as VNN-LIB's
``Y_j``). Batch layout follows :mod:`.runtime`.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch
from torch import nn

from autospec_cli.errors import ModelError
from autospec_cli.models import onnx_const as oc
from autospec_cli.models import onnx_ir as st
from autospec_cli.models.onnx_export import compare_outputs
from autospec_cli.models.onnx_ir import Dyn, Step
from autospec_cli.models.runtime import (
    OnnxRunner,
    declared_dims,
    model_bytes,
    real_inputs,
    split_batch,
)

#: Operators accepted on tensors computed from the input.
COMPUTED_OPS: tuple[str, ...] = (
    "Add", "AveragePool", "BatchNormalization", "Cast", "Concat", "Conv", "Div", "Dropout",
    "Equal", "Expand", "Flatten", "Gather", "Gemm", "GlobalAveragePool", "Greater",
    "GreaterOrEqual", "Identity", "LeakyRelu", "Less", "LessOrEqual", "MatMul", "MaxPool",
    "Mul", "Neg", "Pad", "Pow", "ReduceMean", "ReduceSum", "Relu", "Reshape", "Where",
    "Shape", "Sigmoid", "Slice", "Softmax", "Split", "Squeeze", "Sub", "Tanh", "Tile", "Transpose",
    "Unsqueeze",
)
#: Operators that are affine in their one computed input when every other input is constant:
#: converted to an exact ``Linear`` whose matrix is read off numpy evaluations (see
#: :meth:`_Converter._probe_affine`).
AFFINE_OPS: tuple[str, ...] = (
    "Concat", "Expand", "Gather", "Pad", "ReduceMean", "ReduceSum", "Slice", "Tile",
)
#: Largest matrix (entries) an affine operator is converted to.
MAX_PROBE_ENTRIES = 1 << 22
#: Operators accepted only on constants (folded while converting).
CONSTANT_OPS: tuple[str, ...] = tuple(sorted(set(oc.FOLD) - set(COMPUTED_OPS)))
#: Every ONNX operator the converter accepts (``supports --onnx-operators`` lists these).
SUPPORTED_OPS: tuple[str, ...] = tuple(sorted(set(COMPUTED_OPS) | set(oc.FOLD)))


class OnnxTorchModel(nn.Module):
    """A converted ONNX network. ``input_shape``: one sample's input shape (no batch);
    ``n_inputs`` / ``n_outputs``: flattened sizes; ``source``: where it came from."""

    def __init__(self, net: nn.Module, input_shape: tuple[int, ...],
                 net_input_shape: tuple[int, ...], n_outputs: int, source: str) -> None:
        super().__init__()
        self.net = net
        self.input_shape = tuple(input_shape)
        self.net_input_shape = tuple(net_input_shape)
        self.n_inputs = int(math.prod(input_shape))
        self.n_outputs = int(n_outputs)
        self.source = source

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.net_input_shape:
            x = x.reshape(-1, *self.net_input_shape)
        y = self.net(x)
        if y.dim() != 2:
            y = y.reshape(-1, self.n_outputs)
        return y


class _Renamed:
    """A node seen under another output name (an intermediate step of a rewrite, or one
    output of a multi-output node: ``output``)."""

    def __init__(self, node: Any, suffix: str, output: str | None = None) -> None:
        self.name, self.op_type = node.name, node.op_type
        self.output = [(output or node.output[0]) + suffix, *node.output[1:]]


def _err(node: Any, what: str) -> ModelError:
    label = node.name or node.output[0]
    return ModelError(f"ONNX node {label!r} ({node.op_type}): {what}")


class _Converter:
    """Walks the ONNX graph once, folding constants and recording :class:`Step`s."""

    def __init__(self, proto: Any, name: str) -> None:
        self.proto, self.name = proto, name
        self.env: dict[str, Any] = {}
        self.steps: list[Step] = []
        self.opset = max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")),
                         default=13)

    def run(self) -> tuple[Dyn, Dyn]:
        g = self.proto.graph
        unsupported = sorted({n.op_type for n in g.node if n.op_type not in SUPPORTED_OPS
                              or n.domain not in ("", "ai.onnx")})
        if unsupported:
            raise ModelError(f"{self.name}: unsupported ONNX operator(s) {', '.join(unsupported)}; "
                             f"supported: {', '.join(SUPPORTED_OPS)}")
        for init in g.initializer:
            self.env[init.name] = oc.tensor_array(init)
        inputs = real_inputs(self.proto)
        if len(inputs) != 1:
            raise ModelError(f"{self.name}: expected one input tensor, found {len(inputs)}")
        dims = declared_dims(inputs[0])

        split_batch(dims)  # validates the symbolic dimensions
        x = Dyn(inputs[0].name, tuple(1 if d is None else int(d) for d in dims))
        self.env[x.name] = x
        for node in g.node:
            self._node(node)
        out = self.env.get(g.output[0].name)
        if out is None:
            raise ModelError(f"{self.name}: the output {g.output[0].name!r} is not computed")
        if not isinstance(out, Dyn):
            out = self._constant_output(x, np.asarray(out, dtype=np.float64))
        return x, out

    def _constant_output(self, x: Dyn, c: np.ndarray) -> Dyn:
        """An output that does not depend on the input (e.g. ``Shape``): ``0 * x + c``."""
        n = math.prod(x.full)
        flat = self._as_shape(x, (1, n), "/const-in")
        y = self._emit("linear", [flat], (1, c.size), "/const-out", W=np.zeros((c.size, n)),
                       b=c.reshape(-1))
        return self._as_shape(y, tuple(c.shape), self.proto.graph.output[0].name)

    def _as_shape(self, x: Dyn, full: tuple[int, ...], name: str) -> Dyn:
        """``x`` reshaped to the full shape ``full`` (a reshape step only when needed)."""
        if st.per_shape(full) == x.per:
            return Dyn(x.name, full)
        return self._emit("reshape", [x], full, name)

    def _node(self, node: Any) -> None:
        try:
            ins = [self.env[n] if n else None for n in node.input]
        except KeyError as e:
            raise _err(node, f"input {e.args[0]!r} is not defined") from None
        attrs = oc.attributes(node)
        if node.op_type == "Split":
            self._split(node, ins, attrs)
            return
        if not any(isinstance(v, Dyn) for v in ins):
            if node.op_type not in oc.FOLD:
                raise _err(node, "only supported on tensors computed from the input")
            self.env[node.output[0]] = oc.FOLD[node.op_type](ins, attrs)
            return
        if node.op_type not in COMPUTED_OPS:
            raise _err(node, f"supported on constants only ({', '.join(CONSTANT_OPS)})")
        if node.op_type == "Pad":
            try:  # zero padding of the spatial axes stays a padding layer (cheap in a conv net)
                self.env[node.output[0]] = self._op_Pad(node, ins, attrs)
                return
            except ModelError:
                pass  # any other padding: an exact Linear map below
        if node.op_type in AFFINE_OPS and not (
                node.op_type == "Concat" and all(isinstance(v, Dyn) for v in ins if v is not None)):
            self.env[node.output[0]] = self._probe_affine(node, ins, attrs, oc.FOLD[node.op_type])
            return
        handler = getattr(self, f"_op_{node.op_type}")
        self.env[node.output[0]] = handler(node, ins, attrs)

    def _emit(self, kind: str, inputs: list[Dyn], full: tuple[int, ...], name: str,
              **p: Any) -> Dyn:
        out = Dyn(name, tuple(int(v) for v in full))
        self.steps.append(Step(kind, [d.name for d in inputs], out.name, inputs[0].per, out.per, p))
        return out

    # --- operators affine in one computed input -----------------------------------------

    def _probe_affine(self, node: Any, ins: list[Any], a: dict[str, Any],
                      fold: oc.FoldFn) -> Dyn:
        """An operator affine in its one computed input ``x`` (the other inputs constant) as
        an exact ``Linear``: column ``i`` is ``f(e_i) - f(0)``, the bias ``f(0)``, both by the
        numpy folding rule ``fold``; a random point checks the map really is affine."""
        dyn = [i for i, v in enumerate(ins) if isinstance(v, Dyn)]
        if len(dyn) != 1:
            raise _err(node, "only supported with one computed input (the others constant)")
        k, x = dyn[0], ins[dyn[0]]
        n = math.prod(x.full)

        def f(v: np.ndarray) -> np.ndarray:
            args = list(ins)
            args[k] = v.reshape(x.full)
            return np.array(fold(args, a), dtype=np.float64)  # a copy: no negative strides

        c = f(np.zeros(n))
        if n * c.size > MAX_PROBE_ENTRIES:
            raise _err(node, f"too large to convert ({n} inputs x {c.size} outputs)")
        W = np.empty((c.size, n))
        for i in range(n):
            e = np.zeros(n)
            e[i] = 1.0
            W[:, i] = f(e).reshape(-1) - c.reshape(-1)
        r = np.random.default_rng(0).standard_normal(n)
        if not np.allclose(f(r).reshape(-1), W @ r + c.reshape(-1), rtol=1e-9, atol=1e-9):
            raise _err(node, "is not affine in its computed input")
        base = node.output[0]
        flat = self._as_shape(x, (1, n), base + "/flat")
        y = self._emit("linear", [flat], (1, c.size), base + "/affine", W=W, b=c.reshape(-1))
        return self._as_shape(y, tuple(c.shape), base)

    def _split(self, node: Any, ins: list[Any], a: dict[str, Any]) -> None:
        """Split: every output is a slice, folded on constants or converted as an affine map."""
        n = len(node.output)
        for j, name in enumerate(node.output):
            if not name:
                continue

            def part(args: list[Any], attrs: dict[str, Any], j: int = j) -> np.ndarray:
                return oc.split_parts(args, attrs, n)[j]

            if not isinstance(ins[0], Dyn):
                self.env[name] = part(ins, a)
                continue
            self.env[name] = self._probe_affine(_Renamed(node, "", name), ins, a, part)

    # --- elementwise ---------------------------------------------------------------------

    def _binary(self, node: Any, ins: list[Any]) -> Dyn:
        op = node.op_type
        a, b = ins[0], ins[1]
        if isinstance(a, Dyn) and isinstance(b, Dyn):
            if a.full != b.full:
                raise _err(node, f"operands of shapes {a.full} and {b.full} computed from the "
                                 "input must have the same shape")
            if a.name == b.name and op in ("Sub", "Div"):
                raise _err(node, "x - x and x / x of one computed tensor are not supported")
            return self._emit(op.lower(), [a, b], a.full, node.output[0])
        x, c, c_first = (a, b, False) if isinstance(a, Dyn) else (b, a, True)
        try:
            out_full = tuple(np.broadcast_shapes(x.full, np.shape(c)))
        except ValueError:
            raise _err(node, f"shapes {x.full} and {np.shape(c)} do not broadcast") from None
        if st.per_shape(out_full) != x.per:
            if op == "Div" and c_first:
                raise _err(node, "division by a computed tensor is only supported between "
                                 "tensors of the same shape")
            return self._probe_affine(node, ins, {}, oc.FOLD[op])
        ct = st.torch_const(c, out_full)
        one, zero = np.ones_like(ct), np.zeros_like(ct)
        if op == "Add":
            s, t = one, ct
        elif op == "Sub":
            s, t = (-one, ct) if c_first else (one, -ct)
        elif op == "Mul":
            s, t = ct, zero
        elif c_first:
            raise _err(node, "division by a computed tensor is not supported")
        else:
            s, t = 1.0 / ct, zero
        return self._emit("affine", [x], out_full, node.output[0], s=s, t=t)

    def _op_Add(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        return self._binary(node, ins)

    _op_Sub = _op_Mul = _op_Div = _op_Add

    def _op_Neg(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        x = ins[0]
        ones = np.ones((1,) * (len(x.per) + 1))
        return self._emit("affine", [x], x.full, node.output[0], s=-ones, t=0 * ones)

    def _act(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        return self._emit("act", [ins[0]], ins[0].full, node.output[0], act=node.op_type,
                          alpha=a.get("alpha", 0.01))

    _op_Relu = _op_Sigmoid = _op_Tanh = _op_LeakyRelu = _act

    def _op_Identity(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        return ins[0]

    _op_Dropout = _op_Identity

    def _op_Cast(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        """Float types keep the value (float16 rounds it); signed 32/64-bit integers truncate
        toward zero (onnxruntime's conversion); BOOL is ``x != 0``. Values already integral
        (a cast result) are unchanged by a second truncation, so no type is tracked."""
        from onnx import TensorProto

        to = a.get("to")
        if to in (TensorProto.FLOAT, TensorProto.DOUBLE):
            return ins[0]
        kinds = {TensorProto.FLOAT16: "round16", TensorProto.INT32: "trunc",
                 TensorProto.INT64: "trunc", TensorProto.BOOL: "nonzero"}
        if to not in kinds:
            raise _err(node, "casting a computed tensor is supported to FLOAT, DOUBLE, FLOAT16, "
                             "INT32, INT64 and BOOL only")
        return self._emit(kinds[to], [ins[0]], ins[0].full, node.output[0])

    def _op_Shape(self, node: Any, ins: list[Any], a: dict[str, Any]) -> np.ndarray:
        full = np.asarray(ins[0].full, dtype=np.int64)
        return full[a.get("start", 0):a.get("end", None)]

    # --- comparisons and selection (exact step functions) ------------------------------

    def _shifted(self, node: Any, ins: list[Any], tag: str) -> tuple[Dyn, bool]:
        """``x - c`` for a comparison of a computed ``x`` with a constant ``c`` (either
        side), and whether ``x`` was the left operand."""
        a, b = ins
        if isinstance(a, Dyn) == isinstance(b, Dyn):
            raise _err(node, "only comparisons of a computed tensor with a constant are "
                             "supported")
        x, c, left = (a, b, True) if isinstance(a, Dyn) else (b, a, False)
        out_full = tuple(np.broadcast_shapes(x.full, np.shape(c)))
        if st.per_shape(out_full) != x.per:
            raise _err(node, f"a constant of shape {np.shape(c)} expands the input {x.full}")
        ct = st.torch_const(c, out_full)
        if not np.any(ct):
            return x, left
        return self._emit("affine", [x], out_full, node.output[0] + tag, s=np.ones_like(ct),
                          t=-ct), left

    def _step(self, node: Any, d: Dyn, kind: str, negate: bool, name: str) -> Dyn:
        """``kind`` (``positive``/``nonzero``) of ``d``, or ``1 -`` it when ``negate``."""
        y = self._emit(kind, [d], d.full, name + ("/step" if negate else ""))
        if not negate:
            return y
        ones = np.ones((1,) * (len(d.per) + 1))
        return self._emit("affine", [y], d.full, name, s=-ones, t=ones)

    def _flip(self, node: Any, d: Dyn) -> Dyn:
        ones = np.ones((1,) * (len(d.per) + 1))
        return self._emit("affine", [d], d.full, node.output[0] + "/neg", s=-ones, t=0 * ones)

    def _op_Equal(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        d, _ = self._shifted(node, ins, "/diff")
        return self._step(node, d, "nonzero", True, node.output[0])

    def _op_Greater(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        d, left = self._shifted(node, ins, "/diff")  # x > c, or c > x
        return self._step(node, d if left else self._flip(node, d), "positive", False,
                          node.output[0])

    def _op_Less(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        d, left = self._shifted(node, ins, "/diff")  # x < c, or c < x
        return self._step(node, self._flip(node, d) if left else d, "positive", False,
                          node.output[0])

    def _op_GreaterOrEqual(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        d, left = self._shifted(node, ins, "/diff")  # not (x < c), or not (c < x)
        return self._step(node, self._flip(node, d) if left else d, "positive", True,
                          node.output[0])

    def _op_LessOrEqual(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        d, left = self._shifted(node, ins, "/diff")  # not (x > c), or not (c > x)
        return self._step(node, d if left else self._flip(node, d), "positive", True,
                          node.output[0])

    def _op_Where(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        """``where(g, a, b) = b + g * (a - b)`` for a computed 0/1 condition ``g`` (exact: g
        is 0 or 1, so the product is ``0`` or ``a - b``)."""
        g, x, y = ins
        if not isinstance(g, Dyn):
            raise _err(node, "a constant condition with computed branches is not supported")
        base = node.output[0]
        for v in (x, y):
            if isinstance(v, Dyn) and v.full != g.full:
                raise _err(node, "computed branches must have the condition's shape")
        if not isinstance(x, Dyn) and not isinstance(y, Dyn):
            full = tuple(np.broadcast_shapes(g.full, np.shape(x), np.shape(y)))
            if st.per_shape(full) != g.per:
                raise _err(node, "constant branches must not expand the condition")
            xt, yt = st.torch_const(x, full), st.torch_const(y, full)
            return self._emit("affine", [g], full, base, s=xt - yt, t=yt)
        ones = np.ones((1,) * (len(g.per) + 1))
        if isinstance(x, Dyn) and isinstance(y, Dyn):
            diff = self._emit("sub", [x, y], g.full, base + "/diff")
            prod = self._emit("mul", [g, diff], g.full, base + "/prod")
            return self._emit("add", [y, prod], g.full, base)
        if isinstance(x, Dyn):  # b constant: b + g * (x - b)
            yt = st.torch_const(np.broadcast_to(y, np.broadcast_shapes(g.full, np.shape(y))),
                                g.full)
            diff = self._emit("affine", [x], g.full, base + "/diff", s=ones + 0 * yt, t=-yt)
            prod = self._emit("mul", [g, diff], g.full, base + "/prod")
            return self._emit("affine", [prod], g.full, base, s=ones + 0 * yt, t=yt)
        # a constant: a * g + y * (1 - g)
        xt = st.torch_const(np.broadcast_to(x, np.broadcast_shapes(g.full, np.shape(x))),
                            g.full)
        keep = self._emit("affine", [g], g.full, base + "/not", s=-ones, t=ones)
        prod = self._emit("mul", [keep, y], g.full, base + "/prod")
        picked = self._emit("affine", [g], g.full, base + "/picked", s=xt, t=0 * xt)
        return self._emit("add", [picked, prod], g.full, base)

    def _op_Softmax(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        x = ins[0]
        if self.opset < 13:
            raise _err(node, "Softmax before opset 13 (flattening semantics) is not supported")
        rank = len(x.full)
        axis = int(a.get("axis", -1)) % rank
        return self._emit("softmax", [x], x.full, node.output[0], in_full=x.full, axis=axis)

    def _op_Pow(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        x, e = ins
        if isinstance(x, Dyn) and isinstance(e, Dyn):
            raise _err(node, "a computed base with a computed exponent is not supported")
        if isinstance(x, Dyn):
            full = tuple(np.broadcast_shapes(x.full, np.shape(e)))
            if st.per_shape(full) != x.per:
                raise _err(node, f"an exponent of shape {np.shape(e)} expands the input")
            et = st.torch_const(e, full)
            if np.all(et == 1):
                return x
            return self._emit("pow", [x], full, node.output[0], e=et)
        base = np.asarray(x, dtype=np.float64)
        full = tuple(np.broadcast_shapes(e.full, base.shape))
        if st.per_shape(full) != e.per or np.any(base <= 0):
            raise _err(node, "a constant base must be positive and must not expand the exponent")
        return self._emit("powbase", [e], full, node.output[0], base=st.torch_const(base, full))

    # --- linear layers -------------------------------------------------------------------

    def _op_MatMul(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        x, w = ins
        if isinstance(x, Dyn) and isinstance(w, np.ndarray):
            if w.ndim != 2 or x.full[-1:] != (w.shape[0],):
                raise _err(node, f"cannot multiply input {x.full} by a weight of shape {w.shape}")
            out_full = x.full[:-1] + (w.shape[1],)
            return self._emit("linear", [x], out_full, node.output[0], W=w.T.copy(),
                              b=np.zeros(w.shape[1]))
        if isinstance(w, Dyn) and isinstance(x, np.ndarray):
            if x.ndim != 2 or w.full != (x.shape[1],):
                raise _err(node, f"constant {x.shape} @ computed {w.full} is only supported "
                                 "for vectors")
            return self._emit("linear", [w], (x.shape[0],), node.output[0], W=x.copy(),
                              b=np.zeros(x.shape[0]))
        raise _err(node, "multiplication of two computed tensors is not supported")

    def _op_Gemm(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        x, b = ins[0], ins[1]
        c = ins[2] if len(ins) > 2 else None
        if not isinstance(x, Dyn) or not isinstance(b, np.ndarray) or isinstance(c, Dyn):
            raise _err(node, "only Gemm(computed A, constant B, constant C) is supported")
        if a.get("transA", 0):
            raise _err(node, "transA=1 on a computed tensor is not supported")
        w = (b.T if a.get("transB", 0) else b) * a.get("alpha", 1.0)
        if len(x.full) != 2 or x.full[1] != w.shape[0]:
            raise _err(node, f"cannot multiply input {x.full} by B of shape {b.shape}")
        out_full = (x.full[0], w.shape[1])
        y = self._emit("linear", [x], out_full, node.output[0], W=w.T.copy(),
                       b=np.zeros(w.shape[1]))
        if c is None:
            return y
        ct = st.torch_const(np.broadcast_to(c * a.get("beta", 1.0), out_full), out_full)
        return self._emit("affine", [y], out_full, node.output[0] + "/bias",
                          s=np.ones_like(ct), t=ct)

    # --- convolution, normalisation, pooling --------------------------------------------

    def _spatial(self, node: Any, x: Dyn) -> None:
        if len(x.full) != 4 or not x.elided:
            raise _err(node, f"only 2-D operations on (1, C, H, W) inputs are supported, "
                             f"got {x.full}")

    def _pads(self, node: Any, a: dict[str, Any], x: Dyn, kernel: tuple[int, ...],
              stride: tuple[int, ...], dilation: tuple[int, ...]) -> list[int]:
        """ONNX pads [top, left, bottom, right], resolving auto_pad."""
        mode = a.get("auto_pad", "NOTSET")
        if mode in ("NOTSET", "VALID"):
            return [int(v) for v in a.get("pads", [0, 0, 0, 0])] if mode == "NOTSET" else [0] * 4
        pads = [0, 0, 0, 0]
        for i in range(2):
            size = x.full[2 + i]
            out = -(-size // stride[i])
            total = max((out - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - size, 0)
            small, big = total // 2, total - total // 2
            pads[i], pads[i + 2] = (small, big) if mode == "SAME_UPPER" else (big, small)
        return pads

    def _probe(self, module: nn.Module, x: Dyn) -> tuple[int, ...]:
        with torch.no_grad():
            return (1, *module(torch.zeros(1, *x.per)).shape[1:])

    def _op_Conv(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        x, w = ins[0], ins[1]
        bias = ins[2] if len(ins) > 2 and ins[2] is not None else None
        if not isinstance(w, np.ndarray) or isinstance(bias, Dyn):
            raise _err(node, "weights and bias must be constants")
        if w.ndim == 3 and len(x.full) == 3:  # 1-D: a 2-D convolution over a height of 1
            a2 = dict(a)
            for key in ("strides", "dilations"):
                if key in a:
                    a2[key] = [1, *a[key]]
            if "pads" in a:
                a2["pads"] = [0, a["pads"][0], 0, a["pads"][1]]
            if "kernel_shape" in a:
                a2["kernel_shape"] = [1, *a["kernel_shape"]]
            x4 = self._as_shape(x, (x.full[0], x.full[1], 1, x.full[2]), node.output[0] + "/2d")
            y4 = self._op_Conv(_Renamed(node, "/conv2d"), [x4, w[:, :, None, :], bias], a2)
            return self._as_shape(y4, (y4.full[0], y4.full[1], y4.full[3]), node.output[0])
        self._spatial(node, x)
        if w.ndim != 4:
            raise _err(node, "only 2-D convolutions are supported")
        kernel = tuple(int(v) for v in w.shape[2:])
        stride = tuple(a.get("strides", [1, 1]))
        dilation = tuple(a.get("dilations", [1, 1]))
        pads = self._pads(node, a, x, kernel, stride, dilation)
        if pads[:2] != pads[2:]:
            x = self._emit("pad", [x], self._pad_shape(x, pads), node.output[0] + "/pad",
                           pads=(pads[1], pads[3], pads[0], pads[2]))
            pads = [0, 0, 0, 0]
        p = {"W": w.astype(np.float64), "b": np.zeros(w.shape[0]) if bias is None else bias,
             "stride": stride, "padding": (pads[0], pads[1]), "dilation": dilation,
             "groups": int(a.get("group", 1))}
        if x.per[0] != w.shape[1] * p["groups"]:
            raise _err(node, f"{x.per[0]} input channels do not match the weights {w.shape}")
        out_full = self._probe(st.make_module(Step("conv", [], "", x.per, (), p)), x)
        return self._emit("conv", [x], out_full, node.output[0], **p)

    @staticmethod
    def _pad_shape(x: Dyn, pads: list[int]) -> tuple[int, ...]:
        return (1, x.full[1], x.full[2] + pads[0] + pads[2], x.full[3] + pads[1] + pads[3])

    def _op_Pad(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        """Constant padding of the two spatial axes of a (1, C, H, W) tensor (opset 2-21)."""
        x = ins[0]
        mode = a.get("mode", "constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        pads = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("pads")
        value = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("value", 0.0)
        axes = ins[3] if len(ins) > 3 and ins[3] is not None else None
        if any(isinstance(v, Dyn) for v in (pads, value, axes)):
            raise _err(node, "pads, constant value and axes must be constants")
        rank = len(x.full)
        pads = [int(v) for v in np.asarray(pads if pads is not None else [], dtype=np.int64)]
        axes_l = list(range(rank)) if axes is None else \
            [int(v) % rank for v in np.asarray(axes, dtype=np.int64).reshape(-1)]
        if len(pads) != 2 * len(axes_l):
            raise _err(node, f"{len(pads)} pads for {len(axes_l)} axes")
        begin, end = [0] * rank, [0] * rank
        for i, ax in enumerate(axes_l):
            begin[ax], end[ax] = pads[i], pads[i + len(axes_l)]
        if not any(begin) and not any(end):
            return x  # VNN-COMP 2021's verivital nets carry an all-zero Pad
        if mode != "constant" or float(np.asarray(value).reshape(-1)[0] if np.size(value) else 0.0):
            raise _err(node, "only zero-valued constant padding is supported")
        self._spatial(node, x)
        if min(begin + end) < 0 or any(begin[:2]) or any(end[:2]):
            raise _err(node, "only non-negative padding of the spatial axes is supported")
        four = [begin[2], begin[3], end[2], end[3]]
        return self._emit("pad", [x], self._pad_shape(x, four), node.output[0],
                          pads=(four[1], four[3], four[0], four[2]))

    def _op_BatchNormalization(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        x, consts = ins[0], ins[1:5]
        if not all(isinstance(c, np.ndarray) for c in consts) or a.get("training_mode", 0):
            raise _err(node, "only inference-mode BatchNormalization with constant statistics")
        gamma, beta, mean, var = consts
        if len(x.full) < 2:
            raise _err(node, f"input {x.full} has no channel axis")
        scale = gamma / np.sqrt(var + a.get("epsilon", 1e-5))
        shape = (1, -1) + (1,) * (len(x.full) - 2)
        s = st.torch_const(scale.reshape(shape), x.full)
        t = st.torch_const((beta - mean * scale).reshape(shape), x.full)
        return self._emit("affine", [x], x.full, node.output[0], s=s, t=t)

    def _pool_params(self, node: Any, x: Dyn, a: dict[str, Any]) -> dict[str, Any]:
        self._spatial(node, x)
        kernel = tuple(int(v) for v in a["kernel_shape"])
        stride = tuple(int(v) for v in a.get("strides", [1, 1]))
        dilation = tuple(int(v) for v in a.get("dilations", [1, 1]))
        pads = self._pads(node, a, x, kernel, stride, dilation)
        if pads[:2] != pads[2:]:
            raise _err(node, f"asymmetric pooling pads {pads} are not supported")
        return {"kernel": kernel, "stride": stride, "padding": (pads[0], pads[1]),
                "ceil_mode": bool(a.get("ceil_mode", 0)), "dilation": dilation}

    def _op_AveragePool(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        p = self._pool_params(node, ins[0], a)
        if p.pop("dilation") != (1, 1):
            raise _err(node, "dilated average pooling is not supported")
        p["count_include_pad"] = bool(a.get("count_include_pad", 0))
        out_full = self._probe(st.make_module(Step("avgpool", [], "", ins[0].per, (), p)), ins[0])
        return self._emit("avgpool", [ins[0]], out_full, node.output[0], **p)

    def _op_MaxPool(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        if len(node.output) > 1 and node.output[1]:
            raise _err(node, "MaxPool indices output is not supported")
        p = self._pool_params(node, ins[0], a)
        out_full = self._probe(st.make_module(Step("maxpool", [], "", ins[0].per, (), p)), ins[0])
        return self._emit("maxpool", [ins[0]], out_full, node.output[0], **p)

    def _op_GlobalAveragePool(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        x = ins[0]
        self._spatial(node, x)
        p = {"kernel": x.full[2:], "stride": x.full[2:], "padding": (0, 0), "ceil_mode": False,
             "count_include_pad": True}
        return self._emit("avgpool", [x], (1, x.full[1], 1, 1), node.output[0], **p)

    # --- shape operations ----------------------------------------------------------------

    def _reshape(self, node: Any, x: Dyn, out_full: tuple[int, ...]) -> Dyn:
        if st.per_shape(out_full) == x.per:
            return Dyn(x.name, out_full)
        return self._emit("reshape", [x], out_full, node.output[0])

    def _op_Reshape(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        if not isinstance(ins[1], np.ndarray):
            raise _err(node, "the target shape must be constant")
        target = oc.reshape_target(ins[0].full, ins[1], a.get("allowzero", 0))
        return self._reshape(node, ins[0], target)

    def _op_Flatten(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        return self._reshape(node, ins[0], oc.flatten_shape(ins[0].full, a.get("axis", 1)))

    def _op_Squeeze(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        x = ins[0]
        return self._reshape(node, x, oc.squeeze_shape(x.full, oc.axes_of(ins, a, len(x.full))))

    def _op_Unsqueeze(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        return self._reshape(node, ins[0], oc.unsqueeze_shape(ins[0].full, ins, a))

    def _op_Transpose(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        x = ins[0]
        perm = [int(p) for p in a.get("perm", range(len(x.full) - 1, -1, -1))]
        out_full = tuple(x.full[p] for p in perm)
        if perm == sorted(perm):
            return x
        return self._emit("transpose", [x], out_full, node.output[0], in_full=x.full, perm=perm)

    def _op_Concat(self, node: Any, ins: list[Any], a: dict[str, Any]) -> Dyn:
        xs = [v for v in ins if v is not None]
        if not all(isinstance(v, Dyn) for v in xs):
            raise _err(node, "concatenating constants with computed tensors is not supported")
        rank = len(xs[0].full)
        axis = int(a["axis"]) + rank if int(a["axis"]) < 0 else int(a["axis"])
        out = list(xs[0].full)
        out[axis] = sum(v.full[axis] for v in xs)
        return self._emit("concat", xs, tuple(out), node.output[0], in_pers=[v.per for v in xs],
                          in_fulls=[v.full for v in xs], axis=axis, out_full=tuple(out))


def convert_onnx(proto: Any, name: str = "<onnx model>") -> OnnxTorchModel:
    """Convert an ``onnx.ModelProto`` (no numerical check; see :func:`load_onnx_as_torch`)."""
    conv = _Converter(proto, name)
    x, out = conv.run()
    steps = st.prune(conv.steps, out.name)
    steps = st.fuse(steps, out.name)
    steps, net_input = st.strip_reshapes(steps, x.name, out.name)
    net = st.build_network(steps, x.name, out.name).float().eval()
    model = OnnxTorchModel(net, x.per, net_input or x.per, math.prod(out.per), name)
    return model.eval()


def load_onnx_as_torch(
    source: str | os.PathLike[str] | bytes | Any,
    *,
    check: bool = True,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    n_check: int = 64,
    rtol: float = 1e-4,
    atol: float = 1e-4,
    seed: int = 0,
) -> OnnxTorchModel:
    """Load an ONNX model (path, bytes or ModelProto) as an :class:`OnnxTorchModel`.

    With ``check``, ``n_check`` inputs drawn uniformly from ``bounds`` (flattened lo/hi
    arrays; default [-1, 1]) plus the box corners' midpoint are run through both the torch
    model and onnxruntime; outputs must agree within ``rtol``/``atol`` (relative to the output
    scale) or a :class:`ModelError` is raised.
    """
    import onnx

    data, name = model_bytes(source)
    try:
        proto = onnx.load_from_string(data)
    except Exception as e:  # noqa: BLE001 - protobuf raises several types
        raise ModelError(f"{name}: not a readable ONNX model ({e})") from None
    model = convert_onnx(proto, name)
    if check:
        check_against_onnxruntime(model, data, bounds=bounds, n=n_check, rtol=rtol, atol=atol,
                                  seed=seed)
    return model


def check_against_onnxruntime(model: OnnxTorchModel, source: Any, *,
                              bounds: tuple[np.ndarray, np.ndarray] | None = None, n: int = 64,
                              rtol: float = 1e-4, atol: float = 1e-4, seed: int = 0) -> float:
    """Compare ``model`` with onnxruntime on random inputs; returns the worst violation (<= 0)."""
    runner = OnnxRunner(source)
    if runner.n_inputs != model.n_inputs or runner.n_outputs != model.n_outputs:
        raise ModelError(f"{model.source}: converted model has {model.n_inputs} inputs / "
                         f"{model.n_outputs} outputs, onnxruntime {runner.n_inputs} / "
                         f"{runner.n_outputs}")
    n_in = model.n_inputs
    lo, hi = (np.full(n_in, -1.0), np.full(n_in, 1.0)) if bounds is None else bounds
    lo = np.asarray(lo, dtype=np.float64).reshape(-1)
    hi = np.asarray(hi, dtype=np.float64).reshape(-1)
    u = np.random.default_rng(seed).uniform(size=(n, model.n_inputs))
    x = np.vstack([(lo + hi)[None] / 2, lo + u * (hi - lo)]).astype(np.float32)
    with torch.no_grad():
        ours = model(torch.as_tensor(x)).numpy()
    worst = compare_outputs(runner.run(x), ours, rtol=rtol, atol=atol)
    if worst > 0:
        raise ModelError(f"{model.source}: converted torch model disagrees with onnxruntime by up "
                         f"to {worst:.3g} beyond tolerance; please report this model")
    return worst
