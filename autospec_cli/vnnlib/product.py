"""The augmented ("product") network of a reduced VNN-LIB 2.0 query, and witness replay.

:func:`build_product` joins the declared networks (see :mod:`autospec_cli.vnnlib.query2`) into
one ONNX model with one input ``x`` of shape ``[1, n_x]`` and one output ``z`` of shape
``[1, n_z]``: each network's graph is copied with its tensor names prefixed, its inputs fed
by ``Slice`` + ``Reshape`` of ``x``, and its declared outputs and hidden nodes (an
intermediate tensor named by ``declare-hidden``'s ONNX name, made a graph output) flattened and
concatenated, followed by ``x`` itself. Every backend (bab, lirpa, attack, external tools)
then sees an ordinary single-input single-output problem: :func:`prepare` writes the model and
the reduced property (as VNN-LIB 1.0) once per query and models into the cache folder
(``$AUTOSPEC_CACHE/product``).

A witness ``x`` of the augmented problem is replayed by :func:`replay` on the *original*
networks in onnxruntime (each with its declared hidden nodes exposed as extra graph outputs,
nothing else changed) and checked against the query's exact formula.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.errors import VnnlibError
from autospec_cli.vnnlib.query2 import NetworkSpec, Reduction, Slot

MIN_OPSET = 13


@dataclass
class Reparam:
    """Order constraints ``x_a <= x_b`` between inputs folded into the network (see
    :func:`order_reparam`): the augmented network's input is ``u`` in the box ``[lo, hi]``,
    ``r = relu(A u + c)`` and ``x = S r + t``."""

    A: np.ndarray
    c: np.ndarray
    S: np.ndarray
    t: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    pairs: list[tuple[int, int]]


@dataclass
class Prepared:
    """A query reduced and written: the augmented model, its property file and the layout."""

    reduction: Reduction
    onnx: Path
    vnnlib: Path
    models: dict[str, Path]  # network name (those needing a file) -> original model
    reparam: Reparam | None = None


def _order_pairs(red: Reduction) -> list[tuple[int, int]]:
    """Input pairs ``(a, b)`` with the row ``x_a - x_b <= 0`` in every disjunct of the
    property's single case."""
    if len(red.prop.cases) != 1:
        return []
    common: set[tuple[int, int]] | None = None
    for P in red.prop.cases[0].disjuncts:
        found = set()
        for row, b in zip(P.A, P.b, strict=True):
            nz = np.flatnonzero(row)
            if b != 0.0 or nz.size != 2 or np.any(nz < red.n_net):
                continue
            i, k = (int(j) - red.n_net for j in nz)
            if row[nz[0]] == 1.0 and row[nz[1]] == -1.0:
                found.add((i, k))
            elif row[nz[0]] == -1.0 and row[nz[1]] == 1.0:
                found.add((k, i))
        common = found if common is None else common & found
    return sorted(common or [])


def order_reparam(red: Reduction) -> Reparam | None:
    """Fold order constraints ``x_a <= x_b`` (each input in at most one) into the network's
    input, as the twin networks of monotonicity properties do: with ``lo_b <= lo_a``, ``x_b =
    min(x_a + d, hi_b)`` for ``d`` in ``[0, hi_b - lo_a]`` (``x_a <= min(hi_a, hi_b)``); with
    ``hi_a >= hi_b``, ``x_a = max(x_b - d, lo_a)`` for ``d`` in ``[0, hi_b - lo_a]``. Either maps
    the box of ``(x_a, d)`` *onto* exactly the pairs of the two boxes with ``x_a <= x_b``, so
    bound propagation sees the relation instead of a row it can only refute by splitting the
    input box ever finer; the rows stay in the property (a witness must meet them). Returns
    None when the property has no such pair (or several cases)."""
    pairs = _order_pairs(red)
    if not pairs:
        return None
    case = red.prop.cases[0]
    lo, hi = case.lo.copy(), case.hi.copy()
    n = red.n_x
    A = np.eye(n)
    c = -lo.copy()
    S = np.eye(n)
    t = lo.copy()
    used: set[int] = set()
    done: list[tuple[int, int]] = []
    for a, b in pairs:
        if a in used or b in used or a == b:
            continue
        if case.lo[b] <= case.lo[a]:
            hi[a] = min(hi[a], case.hi[b])
            if hi[a] < lo[a]:
                return None
            A[b] = 0.0
            A[b, a] = A[b, b] = -1.0
            c[b] = case.hi[b]
            S[b, b], t[b] = -1.0, case.hi[b]
            lo[b], hi[b] = 0.0, case.hi[b] - case.lo[a]
        elif case.hi[a] >= case.hi[b]:
            A[a] = 0.0
            A[a, b], A[a, a] = 1.0, -1.0
            c[a] = -case.lo[a]
            S[a, a], t[a] = 1.0, case.lo[a]
            lo[a], hi[a] = 0.0, case.hi[b] - case.lo[a]
        else:
            continue
        used |= {a, b}
        done.append((a, b))
    if not done:
        return None
    return Reparam(A, c, S, t, lo, hi, done)


def reparam_x(rp: Reparam, u: np.ndarray) -> np.ndarray:
    """The inputs ``x`` an input ``u`` of the augmented network stands for (float64)."""
    u = np.asarray(u, dtype=np.float64).reshape(-1)
    return rp.S @ np.maximum(rp.A @ u + rp.c, 0.0) + rp.t


def _load(path: Path) -> Any:
    import onnx

    from autospec_cli.models.runtime import unpacked_onnx

    try:
        return onnx.load(str(unpacked_onnx(path)))
    except Exception as e:  # noqa: BLE001 - any decoding failure is bad input
        raise VnnlibError(f"{path}: not a readable ONNX model ({' '.join(str(e).split())})"
                          ) from None


def _real_inputs(g: Any) -> list[Any]:
    inits = {i.name for i in g.initializer}
    return [i for i in g.input if i.name not in inits]


def _dims(vi: Any) -> list[int]:
    return [d.dim_value if d.HasField("dim_value") else 1
            for d in vi.type.tensor_type.shape.dim]


def _opset(m: Any) -> int:
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    return MIN_OPSET


def _match(slots: list[Slot], values: list[Any], what: str, net: str) -> list[tuple[Slot, str]]:
    """Pair declared tensors with ONNX graph tensors: by ONNX name when the declaration gives
    one, else by position."""
    names = [v.name for v in values]
    if len(slots) != len(values):
        raise VnnlibError(f"network {net} declares {len(slots)} {what}s but its model has "
                          f"{len(values)}")
    out = []
    for k, s in enumerate(slots):
        name = s.onnx_name if s.onnx_name else names[k]
        if name not in names:
            raise VnnlibError(f"{s.name}: the model of {net} has no {what} named {name!r}")
        out.append((s, name))
    return out


def _elem_types(m: Any) -> dict[str, int]:
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(m)
    except Exception:  # noqa: BLE001 - types are then taken as float
        inferred = m
    g = inferred.graph
    out = {}
    for vi in list(g.value_info) + list(g.output) + list(g.input):
        out[vi.name] = vi.type.tensor_type.elem_type
    return out


def build_product(red: Reduction, models: dict[str, Any], rp: Reparam | None = None) -> Any:
    """The augmented ONNX model (module docstring); ``models``: network name -> ModelProto
    for every name in ``red.model_names``; with ``rp`` its input is ``u`` and ``x`` is
    computed from it (:func:`order_reparam`)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    opset = max([MIN_OPSET] + [_opset(models[n.model]) for n in red.networks])
    nodes: list[Any] = []
    inits: list[Any] = []
    parts: list[str] = []
    x = "x"
    graph_in = "x"
    if rp is not None:
        graph_in = "u"
        f32 = np.float32
        inits += [numpy_helper.from_array(rp.A.T.astype(f32), "rp_A"),
                  numpy_helper.from_array(rp.c.astype(f32), "rp_c"),
                  numpy_helper.from_array(rp.S.T.astype(f32), "rp_S"),
                  numpy_helper.from_array(rp.t.astype(f32), "rp_t")]
        nodes += [helper.make_node("MatMul", ["u", "rp_A"], ["rp_au"]),
                  helper.make_node("Add", ["rp_au", "rp_c"], ["rp_pre"]),
                  helper.make_node("Relu", ["rp_pre"], ["rp_r"]),
                  helper.make_node("MatMul", ["rp_r", "rp_S"], ["rp_sr"]),
                  helper.make_node("Add", ["rp_sr", "rp_t"], [x])]

    def const(name: str, values: list[int]) -> str:
        inits.append(numpy_helper.from_array(np.array(values, dtype=np.int64), name))
        return name

    for k, net in enumerate(red.networks):
        m = models[net.model]
        if _opset(m) < opset:
            try:
                from onnx import version_converter

                m = version_converter.convert_version(m, opset)
            except Exception as e:  # noqa: BLE001
                raise VnnlibError(f"network {net.name}: cannot bring its model to opset "
                                  f"{opset} ({' '.join(str(e).split())})") from None
        g = m.graph
        pre = f"n{k}_"

        def ren(name: str, pre: str = pre) -> str:
            return pre + name if name else name

        ins = _match(net.inputs, _real_inputs(g), "input", net.name)
        outs_g = list(g.output)
        outs = _match(net.outputs, outs_g, "output", net.name)
        produced = {o for node in g.node for o in node.output}
        for s in net.hidden:
            if not s.onnx_name or s.onnx_name not in produced:
                raise VnnlibError(f"hidden node {s.name}: the model of {net.name} computes no "
                                  f"tensor named {s.onnx_name!r}")
        for s, name in ins:
            vi = next(v for v in g.input if v.name == name)
            dims = _dims(vi)
            if math.prod(dims) != s.size:
                raise VnnlibError(f"{s.name} has {s.size} values but the model input {name} "
                                  f"has shape {dims}")
            sl = f"{pre}slice_{name}"
            # along the feature axis only, and the batch axis left free (-1), so bounders
            # that stack boxes along it (N boxes in one pass) see the same graph
            nodes.append(helper.make_node(
                "Slice", [x, const(sl + "_s", [s.offset]), const(sl + "_e", [s.offset
                          + s.size]), const(sl + "_a", [1])], [sl]))
            shape = [-1, *dims[1:]] if dims and dims[0] == 1 else dims
            nodes.append(helper.make_node("Reshape", [sl, const(sl + "_shape", shape)],
                                          [ren(name)]))
        for init in g.initializer:
            t = copy.deepcopy(init)
            t.name = ren(t.name)
            inits.append(t)
        for node in g.node:
            if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                   for a in node.attribute):
                raise VnnlibError(f"network {net.name}: operator {node.op_type} with a "
                                  "subgraph is not supported")
            n2 = copy.deepcopy(node)
            n2.name = ren(node.name) if node.name else ""
            del n2.input[:]
            n2.input.extend(ren(i) for i in node.input)
            del n2.output[:]
            n2.output.extend(ren(o) for o in node.output)
            nodes.append(n2)
        types = _elem_types(m)
        taken = [(s, name) for s, name in outs] + [(s, str(s.onnx_name)) for s in net.hidden]
        for spec, name in sorted(taken, key=lambda p: p[0].offset):
            src = ren(name)
            if types.get(name, TensorProto.FLOAT) not in (TensorProto.FLOAT, 0):
                nodes.append(helper.make_node("Cast", [src], [src + "_f32"],
                                              to=TensorProto.FLOAT))
                src += "_f32"
            flat = f"{pre}flat_{len(parts)}"
            nodes.append(helper.make_node("Reshape", [src, const(flat + "_shape", [-1, spec.size])],
                                          [flat]))
            parts.append(flat)
    nodes.append(helper.make_node("Concat", [*parts, x], ["z"], axis=1))
    graph = helper.make_graph(
        nodes, "autospec_product",
        [helper.make_tensor_value_info(graph_in, TensorProto.FLOAT, [1, red.n_x])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, red.n_z])],
        initializer=inits)
    prod = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             producer_name="autospec_cli")
    prod.ir_version = max(int(getattr(models[n.model], "ir_version", 7))
                          for n in red.networks)
    return prod


def chain_product(red: Reduction, models: dict[str, Any], rp: Reparam | None = None
                  ) -> Any | None:
    """The augmented network as one affine/ReLU chain (``Gemm``/``Relu`` only) when every
    declared network is an MLP with one input and one output tensor and no hidden node is
    declared; else None. Bound propagation then runs natively on it (``bab``'s float64 CROWN and
    activation splitting) instead of through a general graph.

    Layer 0 maps the input ``u`` to ``r = relu(A u + c)`` with ``x = S r + t`` (the order
    reparametrisation, or ``r = (relu(u), relu(-u))`` and ``x = r+ - r-``). Every later layer
    carries, block-diagonally, each network's hidden state (a network shallower than the
    deepest one passes its last hidden layer on by identity layers: it is non-negative after a
    ReLU, so the ReLU keeps it) and ``r`` (non-negative too), and the last layer forms the
    outputs of every network and ``x``, in ``z``'s order."""
    from autospec_cli.vnnlib.twin import mlp_layers

    nets: list[tuple[NetworkSpec, list[tuple[np.ndarray, np.ndarray]]]] = []
    for net in red.networks:
        if net.hidden or len(net.inputs) != 1 or len(net.outputs) != 1:
            return None
        m = models[net.model]
        if len(_real_inputs(m.graph)) != 1 or len(m.graph.output) != 1:
            return None
        layers = mlp_layers(m)
        if layers is None or layers[0][0].shape[1] != net.inputs[0].size \
                or layers[-1][0].shape[0] != net.outputs[0].size:
            return None
        nets.append((net, layers))
    n = red.n_x
    if rp is not None:
        A0, c0, S, t = rp.A, rp.c, rp.S, rp.t
    else:
        A0, c0 = np.vstack([np.eye(n), -np.eye(n)]), np.zeros(2 * n)
        S, t = np.hstack([np.eye(n), -np.eye(n)]), np.zeros(n)
    n_r = A0.shape[0]
    D = max(len(layers) for _, layers in nets)
    chain: list[tuple[np.ndarray, np.ndarray]] = [(A0, c0)]
    sizes = [0] * len(nets)  # each network's state carried into the current depth
    for j in range(1, D + 1):
        last = j == D
        rows_out: list[tuple[np.ndarray, np.ndarray]] = []  # blocks of (W over v, b)
        n_in = sum(sizes) + n_r
        offs = np.cumsum([0, *sizes])
        new_sizes = []
        out_blocks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for k, (net, layers) in enumerate(nets):
            m_k = len(layers)
            sl = net.inputs[0]
            P = np.zeros((sl.size, n))
            P[np.arange(sl.size), sl.offset + np.arange(sl.size)] = 1.0
            from_r = (P @ S, P @ t)  # x_k as an affine map of r
            W = np.zeros((0, n_in))
            b = np.zeros(0)
            if m_k == 1:
                if last:
                    W1, b1 = layers[0]
                    W = np.zeros((W1.shape[0], n_in))
                    W[:, sum(sizes):] = W1 @ from_r[0]
                    b = W1 @ from_r[1] + b1
            elif j == 1:
                W1, b1 = layers[0]
                W = np.zeros((W1.shape[0], n_in))
                W[:, sum(sizes):] = W1 @ from_r[0]
                b = W1 @ from_r[1] + b1
            else:
                Wj, bj = (layers[m_k - 1] if last else layers[j - 1] if j < m_k
                          else (np.eye(sizes[k]), np.zeros(sizes[k])))
                W = np.zeros((Wj.shape[0], n_in))
                W[:, offs[k]:offs[k] + sizes[k]] = Wj
                b = bj
            if last:
                out_blocks[net.outputs[0].offset] = (W, b)
                new_sizes.append(0)
            else:
                rows_out.append((W, b))
                new_sizes.append(W.shape[0])
        if last:
            Wx = np.zeros((n, n_in))
            Wx[:, sum(sizes):] = S
            parts = [out_blocks[o] for o in sorted(out_blocks)] + [(Wx, t)]
        else:
            Wr = np.zeros((n_r, n_in))
            Wr[:, sum(sizes):] = np.eye(n_r)
            parts = rows_out + [(Wr, np.zeros(n_r))]
        chain.append((np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])))
        sizes = new_sizes
    from autospec_cli.vnnlib.twin import PRODUCER

    # with order pairs folded in, the chain is a twin network in all but name: its outputs
    # coincide on the face d = 0, which input splitting never closes, so bab's split=auto
    # splits its activations as it does a twin's
    return _gemm_chain(chain, n, red.n_z, PRODUCER if rp is not None else "autospec_cli")


def _gemm_chain(chain: list[tuple[np.ndarray, np.ndarray]], n_in: int, n_out: int,
                producer: str) -> Any:
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    current = "u"
    for i, (W, b) in enumerate(chain):
        inits += [numpy_helper.from_array(W.astype(np.float32), f"W{i}"),
                  numpy_helper.from_array(b.astype(np.float32), f"B{i}")]
        out = "z" if i == len(chain) - 1 else f"pre{i}"
        nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"B{i}"], [out], f"gemm{i}",
                                      transB=1))
        if out != "z":
            nodes.append(helper.make_node("Relu", [out], [f"act{i}"], f"relu{i}"))
            current = f"act{i}"
    graph = helper.make_graph(
        nodes, "autospec_product_chain", [helper.make_tensor_value_info("u", TensorProto.FLOAT,
                                                                        [1, n_in])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, n_out])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", MIN_OPSET)],
                             producer_name=producer)


def _agree(a: Any, b: Any, lo: np.ndarray, hi: np.ndarray) -> bool:
    """Do two augmented models compute the same ``z`` on random points of the box?"""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    U = rng.uniform(lo, hi, (16, lo.size)).astype(np.float32)
    outs = []
    for m in (a, b):
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        outs.append(np.stack([sess.run(None, {name: u.reshape(1, -1)})[0].reshape(-1)
                              for u in U]))
    scale = 1.0 + np.max(np.abs(outs[1]))
    return bool(np.max(np.abs(outs[0] - outs[1])) <= 1e-4 * scale)


def _with_hidden(m: Any, hidden: list[Slot]) -> Any:
    """The model unchanged but for its declared hidden nodes added as graph outputs."""
    from onnx import TensorProto, helper

    if not hidden:
        return m
    m = copy.deepcopy(m)
    have = {o.name for o in m.graph.output}
    for s in hidden:
        if s.onnx_name and s.onnx_name not in have:
            m.graph.output.append(helper.make_empty_tensor_value_info(s.onnx_name)
                                  if hasattr(helper, "make_empty_tensor_value_info")
                                  else helper.make_tensor_value_info(s.onnx_name,
                                                                     TensorProto.UNDEFINED, None))
    return m


def network_values(red: Reduction, models: dict[str, Any], x: np.ndarray
                   ) -> np.ndarray:
    """``z`` for input ``x`` computed on the original networks in onnxruntime (float32)."""
    import onnxruntime as ort

    x32 = np.asarray(x, dtype=np.float32).reshape(-1)
    z = np.zeros(red.n_z, dtype=np.float64)
    for net in red.networks:
        m = _with_hidden(models[net.model], net.hidden)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(m.SerializeToString(), opts,
                                    providers=["CPUExecutionProvider"])
        g = m.graph
        feed = {}
        for s, name in _match(net.inputs, _real_inputs(g), "input", net.name):
            vi = next(v for v in g.input if v.name == name)
            feed[name] = x32[s.offset:s.offset + s.size].reshape(_dims(vi))
        outs = _match(net.outputs, list(models[net.model].graph.output), "output", net.name)
        want = [(s, name) for s, name in outs] + [(s, str(s.onnx_name)) for s in net.hidden]
        got = sess.run([name for _, name in want], feed)
        for (s, _), v in zip(want, got, strict=True):
            z[s.offset:s.offset + s.size] = np.asarray(v, dtype=np.float64).reshape(-1)
    z[red.n_net:] = x32.astype(np.float64)
    return z


def replay(prep: Prepared, u: np.ndarray) -> tuple[bool, np.ndarray, np.ndarray]:
    """(does the augmented network's input ``u`` give inputs ``x`` that satisfy the query on
    the original networks, ``x``, the values ``z``). Without a reparametrisation ``x = u``;
    with one, ``x`` is computed from ``u`` and rounded to float32."""
    models = {n: _load(p) for n, p in prep.models.items()}
    x = np.asarray(u, dtype=np.float64).reshape(-1)
    if prep.reparam is not None:
        x = reparam_x(prep.reparam, x).astype(np.float32).astype(np.float64)
    z = network_values(prep.reduction, models, x)
    return prep.reduction.holds(z), x, z


def _digest(paths: list[Path], text: bytes) -> str:
    h = hashlib.sha256(b"autospec-product-1\0" + text)
    for p in paths:
        st = p.stat()
        h.update(f"\0{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:24]


def prepare(query_text: str, models: dict[str, Path], where: Path | None = None) -> Prepared:
    """Reduce the query, build the augmented model and write both (once per query text and
    model files) under ``where`` (default: the cache folder's ``product/``)."""
    import onnx

    from autospec_cli.io import atomic_write_text
    from autospec_cli.models.runtime import cache_dir
    from autospec_cli.vnnlib.query2 import reduce_query
    from autospec_cli.vnnlib.reader_v2 import parse_query
    from autospec_cli.vnnlib.writer import render_vnnlib1

    red = reduce_query(parse_query(query_text))
    need = red.model_names
    missing = [n for n in need if n not in models]
    if missing:
        raise VnnlibError(f"no model given for network(s) {', '.join(missing)}")
    paths = [Path(models[n]) for n in need]
    key = _digest(paths, query_text.encode())
    folder = Path(where) if where is not None else cache_dir() / "product"
    onnx_path = folder / f"{key}.onnx"
    vnn_path = folder / f"{key}.vnnlib"
    rp = order_reparam(red)
    prop = red.prop
    if rp is not None:
        from autospec_cli.vnnlib.property import Case, Property

        prop = Property([Case(rp.lo, rp.hi, red.prop.cases[0].disjuncts)], n_inputs=red.n_x,
                        n_outputs=red.n_z, meta={**red.prop.meta, "order_pairs": rp.pairs})
    if not (onnx_path.is_file() and vnn_path.is_file()):
        protos = {n: _load(Path(models[n])) for n in need}
        prod = build_product(red, protos, rp)
        chain = chain_product(red, protos, rp)
        if chain is not None and _agree(chain, prod, prop.cases[0].lo, prop.cases[0].hi):
            prod = chain
        folder.mkdir(parents=True, exist_ok=True)
        tmp = onnx_path.with_suffix(f".tmp{os.getpid()}")
        onnx.save(prod, str(tmp))
        os.replace(tmp, onnx_path)
        atomic_write_text(vnn_path, render_vnnlib1(
            prop, comment="reduced VNN-LIB 2.0 query over the augmented network "
            f"{onnx_path.name}"), force=True)
    return Prepared(red, onnx_path, vnn_path, {n: Path(models[n]) for n in need}, rp)
