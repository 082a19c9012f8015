"""VNN-LIB 2.0 beyond one box: the DNF reduction (query2), the augmented network (product),
and the solver command line on queries over several networks, input tensors, hidden nodes and
input polytopes, each with a tiny network whose verdict is known."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from autospec_cli.errors import VnnlibError
from autospec_cli.vnnlib import query2
from autospec_cli.vnnlib.product import (
    build_product,
    network_values,
    prepare,
    reparam_x,
    replay,
)
from autospec_cli.vnnlib.query2 import reduce_query
from autospec_cli.vnnlib.reader_v2 import is_simple, parse_query


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AUTOSPEC_CACHE", str(tmp_path / "cache"))


def _save(path: Path, nodes, inputs, outputs, inits=()) -> Path:
    g = helper.make_graph(nodes, path.stem, inputs, outputs, list(inits))
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _vi(name: str, shape: list[int]):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def mlp(path: Path, W1, b1, W2, b2) -> Path:
    """x [1, n] -> W2 relu(W1 x + b1) + b2, with the hidden pre-activation named "pre"."""
    f = np.float32
    inits = [numpy_helper.from_array(np.asarray(W1, f).T.copy(), "W1"),
             numpy_helper.from_array(np.asarray(b1, f), "b1"),
             numpy_helper.from_array(np.asarray(W2, f).T.copy(), "W2"),
             numpy_helper.from_array(np.asarray(b2, f), "b2")]
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["h0"]),
             helper.make_node("Add", ["h0", "b1"], ["pre"]),
             helper.make_node("Relu", ["pre"], ["h"]),
             helper.make_node("MatMul", ["h", "W2"], ["o0"]),
             helper.make_node("Add", ["o0", "b2"], ["y"])]
    n, m = np.asarray(W1).shape[1], np.asarray(W2).shape[0]
    return _save(path, nodes, [_vi("x", [1, n])], [_vi("y", [1, m])], inits)


def two_inputs(path: Path) -> Path:
    """y = a - 2 b (inputs a [1], b [2, 1]) and a second output s = relu(a + b[0])."""
    f = np.float32
    inits = [numpy_helper.from_array(np.array([-2.0], f), "m2"),
             numpy_helper.from_array(np.array([1, 2], np.int64), "shape")]
    nodes = [helper.make_node("Reshape", ["b", "shape"], ["bf"]),
             helper.make_node("Slice", ["bf", "s0", "s1", "ax"], ["b0"]),
             helper.make_node("Reshape", ["a", "shape1"], ["a1"]),
             helper.make_node("Mul", ["b0", "m2"], ["mb"]),
             helper.make_node("Add", ["a1", "mb"], ["y"]),
             helper.make_node("Add", ["a1", "b0"], ["ab"]),
             helper.make_node("Relu", ["ab"], ["s"])]
    inits += [numpy_helper.from_array(np.array([1, 1], np.int64), "shape1"),
              numpy_helper.from_array(np.array([0], np.int64), "s0"),
              numpy_helper.from_array(np.array([1], np.int64), "s1"),
              numpy_helper.from_array(np.array([1], np.int64), "ax")]
    return _save(path, nodes, [_vi("a", [1]), _vi("b", [2, 1])],
                 [_vi("y", [1, 1]), _vi("s", [1, 1])], inits)


def run_solver(args: list[str]) -> tuple[int, str, str]:
    from autospec_cli.cli.solver import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as e:
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


HEAD = "(vnnlib-version <2.0>)\n"
NET = """(declare-network {name}
    (declare-input {x} float32 [1, 2])
    (declare-output {y} float32 [1, 1])
)
"""


def box(x: str, lo: float, hi: float, n: int = 2) -> str:
    return "".join(f"(assert (>= {x}[0,{i}] {lo}))\n(assert (<= {x}[0,{i}] {hi}))\n"
                   for i in range(n))


# ----------------------------------------------------------------------------- reduction


def test_dnf_reduction_boxes_rows_and_strictness() -> None:
    text = HEAD + NET.format(name="N", x="X", y="Y") + box("X", 0.0, 1.0) + """
(assert (or (and (>= X[0,0] 0.5) (< Y[0,0] 2.0)) (!= Y[0,0] X[0,1])))
(assert (== (+ X[0,0] X[0,1]) 1.0))
"""
    q = parse_query(text)
    assert not is_simple(q)  # an atom over two inputs
    red = reduce_query(q)
    assert (red.n_x, red.n_net, red.n_z) == (2, 1, 3)
    # clauses: [x0 >= 0.5, y < 2], [y < x1], [y > x1]; each with x0 + x1 == 1
    assert len(red.clauses) == 3
    boxes = {(tuple(c.lo), tuple(np.round(c.hi, 4))): c for c in red.prop.cases}
    assert ((0.5, 0.0), (1.0, 0.5)) in boxes  # the LP tightened x1 to [0, 0.5] (+ slack)
    tight = boxes[((0.5, 0.0), (1.0, 0.5))]
    assert 0.5 < tight.hi[1] <= 0.5 + 2e-6  # never tighter than the LP's optimum
    narrow = tight.disjuncts[0]
    # y < 2 read as y <= the float32 just below 2; x0 + x1 <= 1 and -x0 - x1 <= -1
    assert np.nextafter(np.float32(2.0), np.float32(0)) in narrow.b
    assert any(np.array_equal(r, [0.0, 1.0, 1.0]) for r in narrow.A)
    wide = boxes[((0.0, 0.0), (1.0, 1.0))]
    assert len(wide.disjuncts) == 2  # y < x1 and y > x1, same box
    # the exact check keeps strictness: y == x1 satisfies no clause
    assert not red.holds(np.array([0.6, 0.4, 0.6]))  # z = (y, x0, x1), x0 < 0.5
    assert red.holds(np.array([0.3, 0.4, 0.6]))
    assert red.holds(np.array([1.9, 0.6, 0.4]))
    assert not red.holds(np.array([1.9, 0.6, 0.5]))  # x0 + x1 != 1


def test_dnf_cap_and_polynomial_are_errors_unbounded_inputs_get_a_search_box(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    net = HEAD + NET.format(name="N", x="X", y="Y")
    with pytest.raises(VnnlibError, match=r"polynomial.*POLY"):
        reduce_query(parse_query(net + box("X", 0.0, 1.0) + "(assert (>= (* X[0,0] X[0,1]) 0.5))"))
    red = reduce_query(parse_query(net + "(assert (>= X[0,0] 0.0))\n(assert (<= X[0,0] 1.0))\n"
                                   "(assert (>= X[0,1] 2.0))\n(assert (<= Y[0,0] X[0,0]))"))
    assert red.prop.meta["restricted_inputs"] == ["X[0,1]"]
    case = red.prop.cases[0]
    assert list(case.lo) == [0.0, 2.0] and list(case.hi) == [1.0, 2.0 + query2.SEARCH_RADIUS]
    lo, hi = query2.search_box(np.array([-np.inf, -np.inf, 3.0]), np.array([np.inf, -4.0, np.inf]))
    assert list(lo) == [-1.0, -5.0, 3.0] and list(hi) == [1.0, -4.0, 4.0]
    monkeypatch.setattr(query2, "MAX_CLAUSES", 8)
    ors = "".join(f"(assert (or (<= Y[0,0] {k}.0) (>= Y[0,0] {k + 10}.0)))\n" for k in range(4))
    with pytest.raises(VnnlibError, match="more than 8 disjuncts"):
        reduce_query(parse_query(net + box("X", 0.0, 1.0) + ors))


def test_input_polytope_without_explicit_bounds_and_an_empty_one() -> None:
    net = HEAD + NET.format(name="N", x="X", y="Y")
    red = reduce_query(parse_query(net + """
(assert (>= X[0,0] 0.0))
(assert (>= X[0,1] 0.0))
(assert (<= (+ X[0,0] (* 2.0 X[0,1])) 1.0))
(assert (>= Y[0,0] 3.0))
"""))
    (case,) = red.prop.cases
    assert np.array_equal(case.lo, [0, 0]) and np.allclose(case.hi, [1.0, 0.5], atol=1e-5)
    assert np.all(case.hi >= [1.0, 0.5])
    empty = reduce_query(parse_query(net + box("X", 0.0, 1.0)
                                     + "(assert (>= (+ X[0,0] X[0,1]) 3.0))"))
    (case,) = empty.prop.cases  # one case whose polytope 0 <= -1 nothing satisfies
    assert not case.disjuncts[0].holds(np.zeros((1, empty.n_z)))[0]


# ----------------------------------------------------------------------------- product


def test_augmented_model_equals_the_original_networks(tmp_path: Path) -> None:
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    f = mlp(tmp_path / "f.onnx", rng.normal(size=(3, 2)), rng.normal(size=3),
            rng.normal(size=(1, 3)), rng.normal(size=1))
    g = two_inputs(tmp_path / "g.onnx")
    text = HEAD + """(declare-network F
    (declare-input X float32 [1, 2])
    (declare-hidden H float32 [1, 3] "pre")
    (declare-output Y float32 [1, 1])
)
(declare-network G
    (declare-input A float32 [1])
    (declare-input B float32 [2, 1])
    (declare-output S float32 [1])
    (declare-output D float32 [1])
)
(declare-network F2
    (equal-to F)
    (declare-input X2 float32 [1, 2])
    (declare-output Y2 float32 [1, 1])
)
""" + box("X", -1.0, 1.0) + box("X2", -1.0, 1.0) + """
(assert (>= A[0] -1.0))
(assert (<= A[0] 1.0))
(assert (>= B[0,0] -1.0))
(assert (<= B[0,0] 1.0))
(assert (>= B[1,0] -1.0))
(assert (<= B[1,0] 1.0))
(assert (<= (+ H[0,1] D[0] Y2[0,0]) Y[0,0]))
"""
    red = reduce_query(parse_query(text))
    assert red.model_names == ["F", "G"] and (red.n_x, red.n_net) == (7, 7)
    protos = {"F": onnx.load(str(f)), "G": onnx.load(str(g))}
    # z: F's Y, F's hidden H (3), G's S and D (its ONNX outputs "y", "s" by position), F2's Y2
    prod = build_product(red, protos)
    onnx.checker.check_model(prod)
    sess = ort.InferenceSession(prod.SerializeToString(), providers=["CPUExecutionProvider"])
    X = rng.uniform(-1, 1, (20, red.n_x)).astype(np.float32)
    for x in X:
        z = sess.run(None, {"x": x.reshape(1, -1)})[0].reshape(-1)
        ref = network_values(red, protos, x)
        assert np.allclose(z, ref, rtol=1e-6, atol=1e-6)
        # by hand: F's hidden node and output, G's two outputs, F2 on X2
        W1 = numpy_helper.to_array(protos["F"].graph.initializer[0]).T
        b1 = numpy_helper.to_array(protos["F"].graph.initializer[1])
        pre = W1 @ x[:2] + b1
        assert np.allclose(ref[1:4], pre, atol=1e-5)
        a, b0 = x[2], x[3]
        assert np.isclose(ref[4], a - 2 * b0, atol=1e-6)  # "y" of G is declared S
        assert np.isclose(ref[5], max(a + b0, 0.0), atol=1e-6)
        assert np.array_equal(ref[red.n_net:], x.astype(np.float64))


def test_order_reparametrisation_covers_exactly_the_ordered_pairs(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    f = mlp(tmp_path / "f.onnx", rng.normal(size=(4, 2)), rng.normal(size=4),
            rng.normal(size=(1, 4)), rng.normal(size=1))
    text = HEAD + NET.format(name="N", x="X", y="Y") + """(declare-network N2
    (equal-to N)
    (declare-input X2 float32 [1, 2])
    (declare-output Y2 float32 [1, 1])
)
""" + box("X", 0.0, 1.0) + """(assert (>= X2[0,0] -1.0))
(assert (<= X2[0,0] 0.5))
(assert (>= X2[0,1] 0.5))
(assert (<= X2[0,1] 0.9))
(assert (<= X[0,0] X2[0,0]))
(assert (<= X[0,1] X2[0,1]))
(assert (<= Y2[0,0] Y[0,0]))
"""
    prep = prepare(text, {"N": f})
    rp = prep.reparam
    assert rp is not None and rp.pairs == [(0, 2), (1, 3)]
    U = rng.uniform(rp.lo, rp.hi, (500, 4))
    Xs = np.array([reparam_x(rp, u) for u in U])
    # every u gives a pair inside both boxes with x <= x2 ...
    assert np.all(Xs[:, 0] <= Xs[:, 2] + 1e-12) and np.all(Xs[:, 1] <= Xs[:, 3] + 1e-12)
    assert np.all((Xs[:, :2] >= -1e-12) & (Xs[:, :2] <= 1 + 1e-12))
    assert np.all((Xs[:, 2] >= -1) & (Xs[:, 2] <= 0.5) & (Xs[:, 3] >= 0.5) & (Xs[:, 3] <= 0.9))
    # ... and every such pair is reached: x2 = min(x + d, hi) for the first pair (lo of x2 <=
    # lo of x), x = max(x2 - d, lo) for the second (hi of x >= hi of x2)
    for _ in range(200):
        x0 = rng.uniform(0, 0.5)
        x2 = rng.uniform(x0, 0.5)
        x3 = rng.uniform(0.5, 0.9)
        x1 = rng.uniform(0, x3)
        u = np.array([x0, x3 - x1, x2 - x0, x3])
        assert np.all(u >= rp.lo - 1e-12) and np.all(u <= rp.hi + 1e-12)
        assert np.allclose(reparam_x(rp, u), [x0, x1, x2, x3])
    from autospec_cli.models.runtime import OnnxRunner
    from autospec_cli.vnnlib.twin import PRODUCER

    # an MLP: the product is one Gemm/Relu chain (native bounds), marked for activation splits
    chain = onnx.load(str(prep.onnx))
    assert {n.op_type for n in chain.graph.node} == {"Gemm", "Relu"}
    assert chain.producer_name == PRODUCER
    runner = OnnxRunner(prep.onnx)
    for u in U[:20]:
        ok, x, z = replay(prep, u)
        zp = runner.run(u.reshape(1, -1))[0]
        assert np.allclose(zp, z, atol=1e-5)
        assert ok == prep.reduction.holds(z)


# ----------------------------------------------------------------------------- solver CLI


def _verdict(query: Path, nets: dict[str, Path]) -> tuple[str, str]:
    args = ["verify", str(query), "--timeout", "60"]
    for name, p in nets.items():
        args += ["--network", f"{name}={p}"]
    code, out, err = run_solver(args)
    assert code == 0, err
    return out.split("\n")[0], out


@pytest.fixture
def nets(tmp_path: Path) -> dict[str, Path]:
    # f(x) = relu(x0 + x1) (in [0, 2] on [0, 1]^2), g(x) = relu(x0 - x1) + 3 (in [3, 4])
    return {"f": mlp(tmp_path / "f.onnx", [[1, 1]], [0], [[1]], [0]),
            "g": mlp(tmp_path / "g.onnx", [[1, -1]], [0], [[1]], [3]),
            "two": two_inputs(tmp_path / "two.onnx")}


def _two_nets(tmp_path: Path, threshold: float) -> Path:
    q = tmp_path / f"two_nets_{threshold}.vnnlib"
    q.write_text(HEAD + NET.format(name="F", x="X", y="Y") + NET.format(name="G", x="X2", y="Y2")
                 + box("X", 0.0, 1.0) + box("X2", 0.0, 1.0)
                 + f"(assert (>= (- Y[0,0] Y2[0,0]) {threshold}))\n")
    return q


def test_solver_two_networks_sat_and_unsat(tmp_path: Path, nets) -> None:
    # f - g ranges over [-4, -1]
    word, _ = _verdict(_two_nets(tmp_path, -0.5), {"F": nets["f"], "G": nets["g"]})
    assert word == "unsat"
    word, out = _verdict(_two_nets(tmp_path, -1.5), {"F": nets["f"], "G": nets["g"]})
    assert word == "sat"
    lines = out.split("\n")
    assert lines[1] == "X float32 [1,2]" and "Y2 float32 [1,1]" in lines
    vals = {lines[k]: [float(v) for v in lines[k + 1:k + 3]] for k in range(len(lines))
            if lines[k].startswith(("X ", "X2 "))}
    x, x2 = vals["X float32 [1,2]"], vals["X2 float32 [1,2]"]
    assert max(x[0] + x[1], 0) - (max(x2[0] - x2[1], 0) + 3) >= -1.5


def test_solver_hidden_node_sat_and_unsat(tmp_path: Path, nets) -> None:
    net = HEAD + """(declare-network F
    (declare-input X float32 [1, 2])
    (declare-hidden H float32 [1, 1] "pre")
    (declare-output Y float32 [1, 1])
)
""" + box("X", 0.0, 1.0)
    q = tmp_path / "h.vnnlib"
    q.write_text(net + "(assert (<= H[0,0] -0.5))\n")  # pre = x0 + x1 >= 0: unsat
    assert _verdict(q, {"F": nets["f"]})[0] == "unsat"
    q.write_text(net + "(assert (>= H[0,0] (+ X[0,0] 0.9)))\n")  # x1 >= 0.9: sat
    word, out = _verdict(q, {"F": nets["f"]})
    assert word == "sat" and "H float32 [1,1]" in out


def test_solver_input_polytope_sat_and_unsat(tmp_path: Path, nets) -> None:
    net = HEAD + NET.format(name="F", x="X", y="Y") + box("X", 0.0, 1.0)
    q = tmp_path / "p.vnnlib"
    # on x0 + x1 <= 0.5, f = x0 + x1 <= 0.5: f >= 0.6 is unsat (on the box alone it is sat)
    q.write_text(net + "(assert (<= (+ X[0,0] X[0,1]) 0.5))\n(assert (>= Y[0,0] 0.6))\n")
    assert _verdict(q, {"F": nets["f"]})[0] == "unsat"
    q.write_text(net + "(assert (<= (+ X[0,0] X[0,1]) 0.5))\n(assert (>= Y[0,0] 0.4))\n")
    word, out = _verdict(q, {"F": nets["f"]})
    lines = out.split("\n")
    assert word == "sat" and float(lines[2]) + float(lines[3]) <= 0.5


def test_solver_two_input_tensors_and_outputs_sat_and_unsat(tmp_path: Path, nets) -> None:
    net = HEAD + """(declare-network N
    (declare-input A float32 [1])
    (declare-input B float32 [2, 1])
    (declare-output Y float32 [1])
    (declare-output S float32 [1])
)
(assert (>= A[0] 0.0))
(assert (<= A[0] 1.0))
(assert (>= B[0,0] 2.0))
(assert (<= B[0,0] 3.0))
(assert (>= B[1,0] 0.0))
(assert (<= B[1,0] 0.0))
"""
    q = tmp_path / "io.vnnlib"
    # Y = A - 2 B0 in [-6, -3]; swapping the inputs would make Y >= -2 reachable
    q.write_text(net + "(assert (>= Y[0] -2.0))\n")
    assert _verdict(q, {"N": nets["two"]})[0] == "unsat"
    # S = relu(A + B0) in [2, 4]; with Y <= -5.5 (B0 >= 2.75 + A/2, so A <= 0.5) S is at
    # most 3.5: S >= 3.6 is unsat, S >= 3.3 sat (e.g. A = 0.4, B0 = 3)
    q.write_text(net + "(assert (<= Y[0] -5.5))\n(assert (>= S[0] 3.6))\n")
    assert _verdict(q, {"N": nets["two"]})[0] == "unsat"
    q.write_text(net + "(assert (<= Y[0] -5.5))\n(assert (>= S[0] 3.3))\n")
    word, out = _verdict(q, {"N": nets["two"]})
    lines = out.split("\n")
    assert word == "sat" and lines[3] == "B float32 [2,1]", out
    a, b0 = float(lines[2]), float(lines[4])
    assert a - 2 * b0 <= -5.5 and a + b0 >= 3.3


def _maxpool_ceil(path: Path) -> Path:
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2],
                            ceil_mode=1)
    return _save(path, [node], [_vi("x", [1, 1, 3, 3])], [_vi("y", [1, 1, 2, 2])])


def test_solver_unbounded_inputs_sat_in_a_search_box_never_unsat(tmp_path: Path) -> None:
    """The conformance suite's maxpool03: only X[0,0,2,2] is bounded, and with ceil_mode the
    bottom-right window holds it alone. A witness found with the other inputs in a search box
    is a witness of the query (sat); no counterexample there proves nothing (unknown)."""
    model = _maxpool_ceil(tmp_path / "mp.onnx")
    head = ("(vnnlib-version <2.0>)\n(declare-network N\n"
            "(declare-input X float32 [1, 1, 3, 3])\n(declare-output Y float32 [1, 1, 2, 2]))\n"
            "(assert (>= X[0,0,2,2] 5.0))\n(assert (<= X[0,0,2,2] 6.0))\n")
    sat_q, unsat_q = tmp_path / "sat.vnnlib", tmp_path / "unsat.vnnlib"
    sat_q.write_text(head + "(assert (>= Y[0,0,1,1] 5.0))\n(assert (<= Y[0,0,1,1] 6.0))\n")
    unsat_q.write_text(head + "(assert (>= Y[0,0,1,1] 7.0))\n")
    verdict, out = _verdict(sat_q, {"N": model})
    assert verdict == "sat", out
    code, out, err = run_solver(["verify", str(unsat_q), "--network", f"N={model}",
                                 "--timeout", "60"])
    assert code == 0 and out.split("\n")[0] == "unknown", (out, err)
    assert "unbounded" in err


def test_solver_refuses_polynomial_and_claims_the_theories(tmp_path: Path, nets) -> None:
    q = tmp_path / "poly.vnnlib"
    q.write_text(HEAD + NET.format(name="F", x="X", y="Y") + box("X", 0.0, 1.0)
                 + "(assert (>= (* Y[0,0] Y[0,0]) 0.5))\n")
    code, out, err = run_solver(["verify", str(q), "--network", f"F={nets['f']}"])
    assert code == 2 and out == "" and err.startswith("error: ") and "POLY" in err
    assert err.count("\n") == 1
    claims = {}
    for cap in ("hidden-node-theories", "multiple-input-output-theories",
                "multiple-network-theories", "arithmetic-complexity-theories"):
        code, out, _ = run_solver(["supports", f"--{cap}"])
        claims[cap] = out.split()
    assert "H" in claims["hidden-node-theories"]
    assert "MIO" in claims["multiple-input-output-theories"]
    assert {"MNET", "MENET", "MINET"} <= set(claims["multiple-network-theories"])
    assert "LIN" in claims["arithmetic-complexity-theories"]
    assert "POLY" not in claims["arithmetic-complexity-theories"]


def test_autospec_verify_instance_decides_a_query_declaring_the_network_twice(
        cli_runner, tmp_path: Path, nets) -> None:
    """Through the runner: the model given once serves both declared copies."""
    q = tmp_path / "twice.vnnlib"
    q.write_text(HEAD + NET.format(name="F", x="X", y="Y") + """(declare-network F2
    (equal-to F)
    (declare-input X2 float32 [1, 2])
    (declare-output Y2 float32 [1, 1])
)
""" + box("X", 0.0, 1.0) + box("X2", 0.0, 1.0) + """(assert (<= X[0,0] X2[0,0]))
(assert (<= X[0,1] X2[0,1]))
(assert (<= Y2[0,0] (- Y[0,0] 0.001)))
""")
    code, out, err = cli_runner("verify", "instance", str(nets["f"]), str(q), "--backend", "bab",
                                "--timeout", "60")
    assert code == 0 and out.startswith("unsat"), (out, err)


@pytest.mark.parametrize("c", [0.7, 0.1, 1.0, -0.7, 0.0])
def test_strict_bounds_keep_every_float32_that_satisfies_them(c: float) -> None:
    """``Y < c`` becomes ``Y <= b`` with b the largest float32 below c -- for c = 0.7 that is
    float32(0.7) itself (it rounds down), not one step below it (a counterexample there would
    be lost)."""
    from autospec_cli.vnnlib.reader import read_vnnlib

    text = HEAD + NET.format(name="N", x="X", y="Y") + box("X", 0.0, 1.0)
    for op, sign in (("<", 1.0), (">", -1.0)):
        q = text + f"(assert ({op} Y[0,0] {c}))\n(assert (<= (+ X[0,0] X[0,1]) 2.0))\n"
        (P,) = reduce_query(parse_query(q)).prop.cases[0].disjuncts
        b = sign * P.b[np.flatnonzero(P.A[:, 0])[0]]
        simple = read_vnnlib(text + f"(assert ({op} Y[0,0] {c}))\n")
        b1 = sign * simple.cases[0].disjuncts[0].b[0]
        assert b == b1 and np.float32(b) == b
        v = np.float32(b)  # the extreme float32 kept satisfies the strict comparison ...
        assert (float(v) < c) if op == "<" else (float(v) > c)
        beyond = np.nextafter(v, np.float32(np.inf if op == "<" else -np.inf))
        assert not ((float(beyond) < c) if op == "<" else (float(beyond) > c))  # ... the next not
