"""Twin networks: a monotonicity property of ``f`` as a reachability property of one ONNX model.

A monotonicity specification says: for every pair ``x <= x'`` (componentwise) inside the box
``[lo, hi]``, ``f(x') >= f(x)`` (non-decreasing) or ``f(x') <= f(x)`` (non-increasing). VNN-LIB
1.0 constrains one network's inputs by a box, and the set of pairs ``{(x, x'): lo <= x <= x'
<= hi}`` is not a box, so :func:`build_twin` writes a model ``g`` over ``2n`` inputs
``(x, d)`` that maps the box ``x in [lo, hi]``, ``d in [0, hi - lo]`` *onto* exactly that set
of pairs through its input transform

    x' = min(x + d, hi) = hi - relu(hi - x - d)

and outputs ``g(x, d) = (f(x') - f(x)) / s`` (non-decreasing) or ``(f(x) - f(x')) / s``
(non-increasing), where ``s`` is the output scale of ``f`` on the box (:func:`output_scale`).
Every input of the box gives a pair with ``x <= x' <= hi``; every such pair is reached
(``d = x' - x``). So "``g > -tol`` on the box" is the specification (a drop of at most
``tol * s`` is tolerated), nothing more and nothing less, and any VNN-COMP tool can check
the property written by :func:`twin_property` (unsafe: ``Y_0 <= -tol``).

The two copies of ``f`` are the original graph twice, with every node, value and initializer
name prefixed (``a/`` for ``x``, ``b/`` for ``x'``); the transform and the final ``Sub`` are
plain ``MatMul``, ``Add``, ``Sub`` and ``Relu`` nodes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.errors import InputError
from autospec_cli.specs.model import DIRECTIONS
from autospec_cli.vnnlib.property import Case, Polytope, Property

#: A violation must make the output drop by more than this, in units of the twin's output
#: scale (:func:`output_scale`: the largest ``|f|`` at the box's corners and centre, at least
#: 1), i.e. by more than 0.1 % of it. It is above the counterexample check's tolerance (1e-4),
#: so a twin counterexample that passes the check is a pair whose prediction moves the wrong
#: way; and it stays above float32 rounding of ``f(x') - f(x)`` for large outputs.
TOL = 1e-3
#: ``producer_name`` of every twin network (``bab``'s ``split=auto`` splits their activations).
PRODUCER = "autospec-twin"




def twin_property(lo: np.ndarray, hi: np.ndarray, tol: float = TOL) -> Property:
    """The counterexample region over the twin's inputs ``(x, d)``: ``Y_0 <= -tol``."""
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(lo <= hi)):
        raise InputError("a monotonicity box must be finite with lo <= hi")
    box_lo = np.concatenate([lo, np.zeros_like(lo)])
    box_hi = np.concatenate([hi, hi - lo])
    unsafe = Polytope(np.ones((1, 1)), np.array([-float(tol)]))
    return Property([Case(box_lo, box_hi, [unsafe])], n_inputs=2 * lo.size, n_outputs=1,
                    meta={"kind": "monotonic", "tol": float(tol)})


def pair_query_v2(lo: np.ndarray, hi: np.ndarray, direction: str, drop: float,
                  n_outputs: int = 1, network: str = "f") -> str:
    """The same monotonicity property as a VNN-LIB 2.0 query declaring the network twice
    (``f``, and ``f2`` ``equal-to`` it) on inputs ``X`` and ``X2``: both in the box, ``X <= X2``
    componentwise, and output 0 moving against ``direction`` by more than ``drop`` (the
    twin's tolerated drop ``TOL * scale``): ``Y2 <= Y - drop`` (increasing) or
    ``Y2 >= Y + drop`` (decreasing). Decided over the product network
    (:mod:`autospec_cli.vnnlib.product`), it has the twin property's verdict."""
    from autospec_cli.vnnlib.writer import fmt_float

    lo = np.asarray(lo, dtype=np.float64).reshape(-1)
    hi = np.asarray(hi, dtype=np.float64).reshape(-1)
    if direction not in DIRECTIONS:
        raise InputError(f"unknown monotonicity direction {direction!r}")
    n = lo.size
    lines = ["; monotonicity as a relational VNN-LIB 2.0 query: the network twice",
             "(vnnlib-version <2.0>)", ""]
    for name, x, y, eq in ((network, "X", "Y", ""), (network + "2", "X2", "Y2", network)):
        lines.append(f"(declare-network {name}")
        if eq:
            lines.append(f"    (equal-to {eq})")
        lines += [f"    (declare-input {x} float32 [{n}])",
                  f"    (declare-output {y} float32 [{n_outputs}])", ")"]
    lines.append("")
    for x in ("X", "X2"):
        for i in range(n):
            lines.append(f"(assert (>= {x}[{i}] {fmt_float(lo[i])}))")
            lines.append(f"(assert (<= {x}[{i}] {fmt_float(hi[i])}))")
    lines += [f"(assert (<= X[{i}] X2[{i}]))" for i in range(n)]
    if direction == "increasing":
        lines.append(f"(assert (<= Y2[0] (- Y[0] {fmt_float(drop)})))")
    else:
        lines.append(f"(assert (>= Y2[0] (+ Y[0] {fmt_float(drop)})))")
    return "\n".join(lines) + "\n"


def output_scale(model: str | os.PathLike[str], lo: np.ndarray, hi: np.ndarray) -> float:
    """The unit of a twin's output, at least 1: for an MLP, the largest magnitude of the terms
    its last layer sums over the box (interval bounds: ``|W_L| h_max + |b_L|``), which is
    what float32 rounding of ``f(x') - f(x)`` scales with; for other models the largest
    ``|f|`` at the box's corners ``lo``, ``hi`` and its centre (onnxruntime, float32)."""
    import onnx
    import onnxruntime as ort

    layers = mlp_layers(onnx.load(str(model)))
    if layers is not None:
        h_lo = np.asarray(lo, dtype=np.float64)
        h_hi = np.asarray(hi, dtype=np.float64)
        for W, b in layers[:-1]:
            c, r = (h_lo + h_hi) / 2, (h_hi - h_lo) / 2
            mid, rad = W @ c + b, np.abs(W) @ r
            h_lo, h_hi = np.maximum(mid - rad, 0), np.maximum(mid + rad, 0)
        W, b = layers[-1]
        terms = np.abs(W) @ np.maximum(np.abs(h_lo), np.abs(h_hi)) + np.abs(b)
        bound = float(np.max(terms))
        return max(1.0, bound) if np.isfinite(bound) else 1.0

    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    ys = [sess.run(None, {inp.name: p.astype(np.float32).reshape(shape)})[0]
          for p in (lo, hi, (lo + hi) / 2)]
    scale = max(float(np.max(np.abs(y))) for y in ys)
    return max(1.0, scale) if np.isfinite(scale) else 1.0


def pair_of(z: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pair ``(x, x')`` a twin input ``z = (x, d)`` stands for (``x' = min(x + d, hi)``)."""
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    n = z.size // 2
    x = z[:n]
    return x, np.minimum(x + z[n:], np.asarray(hi, dtype=np.float64))


def build_twin(model: str | os.PathLike[str], lo: np.ndarray, hi: np.ndarray, direction: str,
               out: str | os.PathLike[str], scale: float = 1.0) -> Path:
    """Write the twin of ``model`` for the box ``[lo, hi]`` to ``out``.

    A model that is a chain of affine layers and ReLUs (an MLP: ``Gemm`` / ``MatMul`` +
    ``Add`` and ``Relu`` nodes) gets a twin that is again such a chain (block-diagonal copies
    of the layers), so verifiers that split activations handle it; the input transform then
    passes ``x`` through a ReLU as ``relu(x - lo) + lo``, which equals ``x`` on the property's
    box (and only there). Any other model gets the two renamed copies of its graph.
    The output is divided by ``scale`` (:func:`output_scale`), so a model predicting values
    around 1e6 in float32 still gives a twin whose output is computed to a few ulps.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if direction not in DIRECTIONS:
        raise InputError(f"unknown monotonic direction {direction!r}; use "
                         f"{' or '.join(DIRECTIONS)}")
    base = onnx.load(str(model))
    g = base.graph
    inits = {i.name for i in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    if len(inputs) != 1 or len(g.output) != 1:
        raise InputError(f"{Path(model).name}: a twin network needs a model with one input and "
                         "one output")
    in_shape = [d.dim_value if d.dim_value > 0 else 1
                for d in inputs[0].type.tensor_type.shape.dim]
    n = int(np.prod(in_shape)) if in_shape else 1
    hi = np.asarray(hi, dtype=np.float32).reshape(-1)
    if hi.size != n:
        raise InputError(f"the box has {hi.size} features but the model takes {n} inputs")
    layers = mlp_layers(base)
    out_shape = [d.dim_value if d.dim_value > 0 else 1
                 for d in g.output[0].type.tensor_type.shape.dim]
    if int(np.prod(out_shape)) != 1:
        raise InputError(f"{Path(model).name}: a monotonicity property needs a model with a "
                         f"single output (it has shape {out_shape})")

    if layers is not None:
        lo = np.asarray(lo, dtype=np.float64).reshape(-1)
        chain = _chain_twin(layers, lo, hi.astype(np.float64), direction)
        chain[-1] = (chain[-1][0] / scale, chain[-1][1] / scale)
        graph = _chain_graph(chain, n, out_shape)
        return _save(graph, base, out)
    out_name = g.output[0].name
    nodes, initializers = [], []

    def const(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    sel_x = np.zeros((2 * n, n), np.float32)
    sel_x[np.arange(n), np.arange(n)] = 1
    sel_d = np.zeros((2 * n, n), np.float32)
    sel_d[n + np.arange(n), np.arange(n)] = 1
    nodes += [
        helper.make_node("MatMul", ["Z", const("twin/sel_x", sel_x)], ["twin/x"], "twin/x"),
        helper.make_node("MatMul", ["Z", const("twin/sel_d", sel_d)], ["twin/d"], "twin/d"),
        helper.make_node("Add", ["twin/x", "twin/d"], ["twin/xd"], "twin/xd"),
        helper.make_node("Sub", [const("twin/hi", hi.reshape(1, n)), "twin/xd"], ["twin/gap"],
                         "twin/gap"),
        helper.make_node("Relu", ["twin/gap"], ["twin/cut"], "twin/cut"),
        helper.make_node("Sub", ["twin/hi", "twin/cut"], ["twin/xp"], "twin/xp"),
    ]
    shape = const("twin/shape", np.array(in_shape, np.float32))
    initializers[-1] = numpy_helper.from_array(np.array(in_shape, np.int64), shape)
    for prefix, source in (("a/", "twin/x"), ("b/", "twin/xp")):
        nodes.append(helper.make_node("Reshape", [source, shape], [prefix + inputs[0].name],
                                      prefix + "reshape"))
        initializers += [_renamed_init(i, prefix) for i in g.initializer]
        for node in g.node:
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            copy.name = prefix + (node.name or f"node{len(nodes)}")
            copy.input[:] = [prefix + s if s else s for s in node.input]
            copy.output[:] = [prefix + s if s else s for s in node.output]
            nodes.append(copy)
    first, second = ("b/", "a/") if direction == "increasing" else ("a/", "b/")
    nodes.append(helper.make_node("Sub", [first + out_name, second + out_name], ["twin/diff"],
                                  "twin/diff"))
    nodes.append(helper.make_node("Mul", ["twin/diff", const("twin/scale", np.array(
        1.0 / scale, np.float32))], ["Y"], "twin/y"))
    graph = helper.make_graph(
        nodes, "twin",
        [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [1, 2 * n])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, out_shape)],
        initializers,
    )
    return _save(graph, base, out)


def _save(graph: Any, base: Any, out: str | os.PathLike[str]) -> Path:
    import onnx
    from onnx import helper

    twin = helper.make_model(graph, opset_imports=list(base.opset_import),
                             producer_name=PRODUCER)
    twin.ir_version = base.ir_version
    onnx.checker.check_model(twin)
    twin = onnx.shape_inference.infer_shapes(twin)
    out_p = Path(out)
    onnx.save(twin, str(out_p))
    return out_p


def _renamed_init(init: Any, prefix: str) -> Any:
    from onnx import TensorProto

    copy = TensorProto()
    copy.CopyFrom(init)
    copy.name = prefix + copy.name
    return copy


Layers = list[tuple[np.ndarray, np.ndarray]]


def mlp_layers(model: Any) -> Layers | None:
    """``[(W, b), ...]`` (``W``: out x in, ReLU between pairs) of an MLP graph, else None.

    Accepted: a single path of ``Gemm`` (alpha = beta = 1, no transA), ``MatMul`` by a constant
    then optionally ``Add`` of a constant, ``Relu`` between affine layers, and ``Flatten`` /
    ``Identity`` / ``Reshape`` no-ops on a flat input. Anything else: None.
    """
    from onnx import numpy_helper

    g = model.graph
    inits = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in g.initializer}
    inputs = [i.name for i in g.input if i.name not in inits]
    if len(inputs) != 1 or len(g.output) != 1 or any(
            d.dim_value > 1 for d in list(g.input[0].type.tensor_type.shape.dim)[:-1]):
        return None
    current = inputs[0]
    layers: Layers = []
    open_affine = False
    for node in g.node:
        ins = list(node.input)
        if not ins or ins[0] != current or len(node.output) != 1:
            return None
        attrs = {a.name: a for a in node.attribute}
        op = node.op_type
        if op == "Gemm":
            if (len(ins) < 2 or ins[1] not in inits or (len(ins) > 2 and ins[2] not in inits)
                    or attrs.get("transA", None) is not None and attrs["transA"].i
                    or any(k in attrs and attrs[k].f != 1.0 for k in ("alpha", "beta"))):
                return None
            W = inits[ins[1]]
            W = W if "transB" in attrs and attrs["transB"].i else W.T
            b = inits[ins[2]].reshape(-1) if len(ins) > 2 else np.zeros(W.shape[0])
            if not _push(layers, W, np.broadcast_to(b, (W.shape[0],)).copy(), open_affine):
                return None
            open_affine = True
        elif op == "MatMul":
            if len(ins) != 2 or ins[1] not in inits or inits[ins[1]].ndim != 2:
                return None
            W = inits[ins[1]].T
            if not _push(layers, W, np.zeros(W.shape[0]), open_affine):
                return None
            open_affine = True
        elif op == "Add":
            if not open_affine or len(ins) != 2 or ins[1] not in inits:
                return None
            layers[-1] = (layers[-1][0], layers[-1][1] + inits[ins[1]].reshape(-1))
        elif op == "Relu":
            if not open_affine:
                return None
            open_affine = False
        elif op not in ("Flatten", "Identity", "Reshape"):
            return None
        current = node.output[0]
    if current != g.output[0].name or not open_affine or not layers:
        return None
    return layers


def _push(layers: Layers, W: np.ndarray, b: np.ndarray, merge: bool) -> bool:
    if layers and W.shape[1] != layers[-1][0].shape[0]:
        return False
    if merge:  # two affine maps in a row compose
        W0, b0 = layers[-1]
        layers[-1] = (W @ W0, W @ b0 + b)
    else:
        layers.append((W, b))
    return True


def _chain_twin(layers: Layers, lo: np.ndarray, hi: np.ndarray, direction: str) -> Layers:
    """The twin as an affine/ReLU chain over ``z = (x, d)`` (see :func:`build_twin`)."""
    n = lo.size
    eye = np.eye(n)
    # r = relu([x - lo, hi - x - d]) = [x - lo, hi - x'] on the box.
    first = (np.block([[eye, np.zeros((n, n))], [-eye, -eye]]), np.concatenate([-lo, hi]))
    # x = r1 + lo and x' = hi - r2 feed both copies of the first layer.
    W1, b1 = layers[0]
    h = W1.shape[0]
    into = (np.block([[W1, np.zeros((h, n))], [np.zeros((h, n)), -W1]]),
            np.concatenate([W1 @ lo + b1, W1 @ hi + b1]))
    chain: Layers = [first]
    rest = [into] + [(np.block([[W, np.zeros_like(W)], [np.zeros_like(W), W]]),
                      np.concatenate([b, b])) for W, b in layers[1:]]
    sign = 1.0 if direction == "increasing" else -1.0
    Wl, bl = rest[-1]
    k = Wl.shape[0] // 2
    diff = np.hstack([-np.eye(k), np.eye(k)]) * sign  # copy b minus copy a (or the reverse)
    rest[-1] = (diff @ Wl, diff @ bl)
    return chain + rest


def _chain_graph(chain: Layers, n: int, out_shape: list[int]) -> Any:
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    current = "Z"
    for i, (W, b) in enumerate(chain):
        inits += [numpy_helper.from_array(W.astype(np.float32), f"W{i}"),
                  numpy_helper.from_array(b.astype(np.float32), f"B{i}")]
        out = "Y" if i == len(chain) - 1 else f"pre{i}"
        nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"B{i}"], [out], f"gemm{i}",
                                      transB=1))
        if out != "Y":
            nodes.append(helper.make_node("Relu", [out], [f"act{i}"], f"relu{i}"))
            current = f"act{i}"
    return helper.make_graph(
        nodes, "twin", [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [1, 2 * n])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 1])], inits)
