"""The ``bab`` complete verifier: sound unsat, confirmed sat, ACAS Xu verdicts, time limits."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conformance import BackendConformance, save_model, vnnlib_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autospec_cli.errors import VerifierError
from autospec_cli.verify.backends.bab import BabVerifier, crown
from autospec_cli.verify.base import Instance, Verdict
from autospec_cli.verify.cex import check_counterexample
from autospec_cli.verify.runner import run_instances, verify_guarded

ACAS = ("vnncomp2021", "acasxu")
EXPECTED = {"holds": "unsat", "violated": "sat"}


class TestBabConformance(BackendConformance):
    backend = "bab"
    options = {"threads": 1}


# ----------------------------------------------------------------------------- helpers


def random_mlp(
    rng: np.random.Generator, sizes: list[int]
) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """Layers for :func:`save_model`: ReLU after every layer but the last."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        W = rng.normal(0, 1 / np.sqrt(a), (b, a))
        layers.append((W, rng.normal(0, 0.3, b), i < len(sizes) - 2))
    return layers


def float64_outputs(layers: list[tuple[np.ndarray, np.ndarray, bool]], X: np.ndarray) -> np.ndarray:
    """The model in float64 with its float32 weights (what the ONNX file holds)."""
    for W, b, relu in layers:
        X = X @ np.asarray(W, np.float32).astype(np.float64).T + np.asarray(b, np.float32)
        X = np.maximum(X, 0) if relu else X
    return X


def crown_layers(rng: np.random.Generator, sizes: list[int]) -> crown.Layers:
    """A random MLP as :mod:`crown`'s float64 ``(W, b)`` list."""
    return [(torch.as_tensor(W), torch.as_tensor(b)) for W, b, _ in random_mlp(rng, sizes)]


def sample_boxes(
    layers: crown.Layers, lo: torch.Tensor, hi: torch.Tensor, C: torch.Tensor, n: int = 3000
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` uniform points per box, (N, n, d), and their ``C y``, (N, n, k)."""
    N, d = lo.shape
    X = lo[:, None] + (hi - lo)[:, None] * torch.rand(N, n, d, dtype=torch.float64)
    Y = crown.forward(layers, X.reshape(-1, d)).reshape(N, n, -1) @ C.T
    return X, Y


def acas_rows(shared: Path) -> list[dict[str, str]]:
    with open(shared.joinpath(*ACAS) / "expected.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def acas_instance(shared: Path, net: str, prop: int, timeout: float = 60.0) -> Instance:
    d = shared.joinpath(*ACAS)
    return Instance(
        d / f"ACASXU_run2a_{net}_batch_2000.onnx", d / f"prop_{prop}.vnnlib", timeout, "acasxu"
    )


# ----------------------------------------------------------------------------- CROWN


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    mode=st.sampled_from(["forward", "hybrid", "backward"]),
    alpha=st.sampled_from([0, 6]),
)
def test_crown_bounds_are_sound_on_samples(seed: int, mode: str, alpha: int) -> None:
    rng = np.random.default_rng(seed)
    layers = crown_layers(rng, [3, 12, 12, 10, 4])
    lo = torch.as_tensor(rng.uniform(-1, 0.5, (6, 3)))
    hi = lo + torch.as_tensor(rng.uniform(0, 0.8, (6, 3)))
    C = torch.as_tensor(rng.normal(size=(2, 4)))
    r = crown.crown_lower(layers, lo, hi, C, intermediate=mode, alpha_steps=alpha)
    X, Y = sample_boxes(layers, lo, hi, C)
    assert bool((Y.min(dim=1).values >= r.lb - 1e-9).all())
    # the certificate is a linear lower bound valid at every sample
    lin = torch.einsum("nkd,nsd->nsk", r.lA, X) + r.lbias[:, None]
    assert bool((Y >= lin - 1e-9).all())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), mode=st.sampled_from(["forward", "hybrid"]))
def test_bounds_from_a_parent_box_are_sound_and_within_the_parents(seed: int, mode: str) -> None:
    """A sub-box bounded from its parent's hidden bounds (as the search does after a split)."""
    rng = np.random.default_rng(seed)
    layers = crown_layers(rng, [3, 16, 16, 12, 4])
    lo = torch.as_tensor(rng.uniform(-1, 0.5, (6, 3)))
    hi = lo + torch.as_tensor(rng.uniform(0.1, 0.8, (6, 3)))
    C = torch.as_tensor(rng.normal(size=(2, 4)))
    parent = crown.crown_lower(layers, lo, hi, C, intermediate=mode)
    assert parent.hidden is not None and parent.hidden.shape == (6, 2, 16 + 16 + 12)
    # a random sub-box of each box
    a = torch.as_tensor(rng.uniform(0, 0.6, (6, 3)))
    sub_lo = lo + (hi - lo) * a
    sub_hi = sub_lo + (hi - sub_lo) * torch.as_tensor(rng.uniform(0.2, 1, (6, 3)))
    child = crown.crown_lower(layers, sub_lo, sub_hi, C, intermediate=mode, prior=parent.hidden)
    # hidden bounds: intersected with the parent's, so never looser than the parent's. (Not
    # "never looser than bounding the sub-box from scratch": CROWN is not monotone in its
    # intermediate bounds, and a neuron the parent made stable is not refined; about 2 % of
    # random draws have some hidden bound, and 0.15 % an output bound, below the fresh one.)
    assert bool((child.hidden[:, 0] >= parent.hidden[:, 0] - 1e-12).all())
    assert bool((child.hidden[:, 1] <= parent.hidden[:, 1] + 1e-12).all())
    # at sampled points of the sub-box: pre-activations inside their bounds, outputs above lb
    X, Y = sample_boxes(layers, sub_lo, sub_hi, C)
    H = X.reshape(-1, 3)
    for k, (W, b) in enumerate(layers[:-1]):  # every sampled pre-activation is inside its bounds
        Z = (H @ W.T + b).reshape(6, 3000, -1)
        at = sum(w.shape[0] for w, _ in layers[:k])
        zl = child.hidden[:, 0, at : at + W.shape[0]][:, None]
        zu = child.hidden[:, 1, at : at + W.shape[0]][:, None]
        assert bool(((Z >= zl - 1e-9) & (Z <= zu + 1e-9)).all())
        H = Z.reshape(-1, W.shape[0]).clamp(min=0)
    assert bool((Y.min(dim=1).values >= child.lb - 1e-9).all())


def test_hybrid_is_as_tight_as_full_crown() -> None:
    rng = np.random.default_rng(3)
    layers = crown_layers(rng, [4, 20, 20, 20, 3])
    lo = torch.as_tensor(rng.uniform(-1, 0, (32, 4)))
    hi = lo + 0.3
    C = torch.eye(3, dtype=torch.float64)
    fw = crown.crown_lower(layers, lo, hi, C, "forward").lb
    hy = crown.crown_lower(layers, lo, hi, C, "hybrid").lb
    bw = crown.crown_lower(layers, lo, hi, C, "backward").lb
    # CROWN is not monotone in its intermediate bounds box by box, but on average the hybrid
    # is as tight as full CROWN and clearly tighter than forward propagation alone
    assert float((hy - bw).mean()) > -1e-6
    assert float((hy - fw).mean()) > 0


def test_refinement_in_chunks_of_neurons_gives_the_same_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Wide layers are refined a few neurons at a time to bound memory; the bounds must not
    depend on the chunk size (and the cached weight halves must be the weights' halves)."""
    rng = np.random.default_rng(5)
    layers = crown_layers(rng, [3, 40, 40, 40, 2])
    lo = torch.as_tensor(rng.uniform(-1, 0, (6, 3)))
    hi = lo + 0.5
    C = torch.eye(2, dtype=torch.float64)
    whole = crown.crown_lower(layers, lo, hi, C, "hybrid")
    monkeypatch.setattr(crown, "REFINE_ELEMENTS", 2 * 6 * 40 * 3)  # 3 neurons per chunk
    chunked = crown.crown_lower(layers, lo, hi, C, "hybrid")
    assert torch.allclose(whole.lb, chunked.lb, rtol=0, atol=1e-12)
    W = layers[1][0]
    Wp, Wn = crown.signed_parts(W)
    assert torch.equal(Wp, W.clamp(min=0)) and torch.equal(Wn, W.clamp(max=0))
    assert crown.signed_parts(W)[0] is Wp  # computed once per weight tensor


def test_optimised_slopes_never_loosen_crown() -> None:
    rng = np.random.default_rng(5)
    layers = crown_layers(rng, [4, 20, 20, 20, 3])
    lo = torch.as_tensor(rng.uniform(-1, 0, (32, 4)))
    hi = lo + 0.4
    C = torch.as_tensor(rng.normal(size=(2, 3)))
    plain = crown.crown_lower(layers, lo, hi, C).lb
    opt = crown.crown_lower(layers, lo, hi, C, alpha_steps=10).lb
    assert bool((opt >= plain).all())  # the start point is CROWN's slopes; the best is kept
    assert float((opt - plain).mean()) > 1e-6  # and the optimisation does improve on average


def test_non_relu_chain_is_not_extracted() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1))
    assert crown.extract_affine_relu(net) is None
    relu = torch.nn.Sequential(
        torch.nn.Linear(2, 3), torch.nn.Linear(3, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)
    )
    layers = crown.extract_affine_relu(relu)
    assert layers is not None and len(layers) == 2  # the two affine maps are merged


# ----------------------------------------------------------------------------- soundness


class _TorchChain(torch.nn.Module):
    """A float64 affine/ReLU chain as a torch model (for :class:`Bounder`)."""

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray, bool]]) -> None:
        super().__init__()
        mods: list[torch.nn.Module] = []
        for W, b, relu in layers:
            lin = torch.nn.Linear(W.shape[1], W.shape[0]).double()
            lin.weight.data = torch.as_tensor(W)
            lin.bias.data = torch.as_tensor(b)
            mods += [lin, torch.nn.ReLU()] if relu else [lin]
        self.net = torch.nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.double())


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_poly=st.integers(1, 3), quantile=st.floats(0.0, 0.6))
def test_clipping_keeps_every_unsafe_point(seed: int, n_poly: int, quantile: float) -> None:
    """Boxes shrunk by the linear bounds still contain every sampled unsafe point; a box
    dropped as empty has none (disjunctions of 1-3 polytopes with 1-2 rows)."""
    from autospec_cli.verify.backends.bab.search import Bounder, CaseSearch, SearchConfig
    from autospec_cli.vnnlib.property import Case, Polytope

    rng = np.random.default_rng(seed)
    layers = random_mlp(rng, [3, 10, 10, 3])
    bd = Bounder(_TorchChain(layers), 3)
    assert bd.native
    lo = torch.as_tensor(rng.uniform(-1, 0.5, (8, 3)))
    hi = lo + torch.as_tensor(rng.uniform(0.05, 0.6, (8, 3)))
    X = lo[:, None] + (hi - lo)[:, None] * torch.rand(8, 4000, 3, dtype=torch.float64)
    Y = crown.forward(bd.layers, X.reshape(-1, 3)).numpy()
    polys = []
    for _ in range(n_poly):
        A = rng.normal(size=(int(rng.integers(1, 3)), 3))
        b = np.quantile(Y @ A.T, quantile, axis=0)  # some sampled points are unsafe
        polys.append(Polytope(A, b))
    case = Case(lo.min(0).values.numpy(), hi.max(0).values.numpy(), polys)
    search = CaseSearch(bd, case, SearchConfig(), float("inf"), lambda x: None)
    lb, lA, lbias, scale = bd.lower(lo, hi, search.spec.C)
    tol = search.rel_tol * (1 + search.spec.b.abs() + scale)
    c_lo, c_hi, slack = search._clip(lo, hi, lA, lbias, tol)
    unsafe = torch.as_tensor(case.unsafe(Y)).reshape(8, -1)
    kept = ((X >= c_lo[:, None]) & (X <= c_hi[:, None])).all(dim=2)
    gone = ~(search.spec.per_poly_max(slack) <= 0).any(dim=1)
    assert bool((~unsafe | (kept & ~gone[:, None])).all())
    assert bool(((c_lo >= lo) & (c_hi <= hi)).all())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_nets_unsat_never_contradicted_and_sat_confirmed(tmp_path: Path, seed: int) -> None:
    """Thresholds around the sampled maximum of y0 - y1 give both verdicts; every unsat is
    checked against 10^5 samples, every sat against onnxruntime."""
    rng = np.random.default_rng(seed)
    layers = random_mlp(rng, [3, 16, 16, 2])
    onnx = save_model(tmp_path / "net.onnx", layers)
    lo, hi = -np.ones(3), np.ones(3)
    X = rng.uniform(lo, hi, (100_000, 3))
    Y = float64_outputs(layers, X)
    d = Y[:, 0] - Y[:, 1]
    top = float(d.max())
    verdicts = []
    for k, thr in enumerate([top - 0.05 * abs(top) - 0.01, top + 0.02 * abs(top) + 0.01]):
        vnn = tmp_path / f"p{k}.vnnlib"
        vnn.write_text(vnnlib_text(3, 2, [(lo, hi)], [[f"(>= Y_0 (+ Y_1 {thr!r}))"]]))
        r = run_instances(BabVerifier(threads=1), [Instance(onnx, vnn, 30.0, "random")])[0]
        verdicts.append(r.verdict)
        if r.verdict is Verdict.UNSAT:
            assert not bool((d >= thr).any()), "unsound: a sampled point violates an unsat property"
        elif r.verdict is Verdict.SAT:
            assert check_counterexample(onnx, vnn, r.counterexample.x, r.counterexample.y).ok
    assert verdicts[0] is Verdict.SAT  # sampled counterexamples exist below the maximum
    assert verdicts[1] is Verdict.UNSAT  # decided within the limit on 3-D inputs


def test_many_case_property_refuted_at_the_root_skips_the_attack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nn4sys-style properties (many small input boxes, each refuted by one bound) are decided
    by one CROWN pass per case; the attack runs only where the root bound does not refute.
    The 40 bands are padded extremes of dense samples, so the property holds; the 41st case's
    band excludes its centre's output, so that case alone needs (and gets) the attack."""
    from autospec_cli.verify.backends.bab.search import CaseSearch

    rng = np.random.default_rng(3)
    layers = random_mlp(rng, [1, 32, 32, 1])
    onnx = save_model(tmp_path / "idx.onnx", layers)
    edges = np.linspace(0.0, 1.0, 41)
    boxes, rows = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        y = float64_outputs(layers, np.linspace(lo, hi, 2001)[:, None])[:, 0]
        pad = 0.5 * float(y.max() - y.min()) + 0.05
        boxes.append(([float(lo)], [float(hi)]))
        rows.append([f"(>= Y_0 {float(y.max()) + pad!r})", f"(<= Y_0 {float(y.min()) - pad!r})"])
    def text(rows: list[list[str]]) -> str:  # one disjunct per (case, row), as nn4sys writes
        ors = " ".join(f"(and (>= X_0 {b[0][0]!r}) (<= X_0 {b[1][0]!r}) {r})"
                       for b, rs in zip(boxes, rows, strict=True) for r in rs)
        return f"(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (or {ors}))\n"

    holds = tmp_path / "holds.vnnlib"
    holds.write_text(text(rows))
    attacked: list[int] = []
    real_attack = CaseSearch.attack

    def spy(self: CaseSearch):  # type: ignore[no-untyped-def]
        attacked.append(1)
        return real_attack(self)

    monkeypatch.setattr(CaseSearch, "attack", spy)
    r = run_instances(BabVerifier(threads=1), [Instance(onnx, holds, 30.0)])[0]
    assert r.verdict is Verdict.UNSAT, r.message
    X = rng.uniform(0.0, 1.0, (100_000, 1))
    Y = float64_outputs(layers, X)[:, 0]
    k = np.minimum((X[:, 0] * 40).astype(int), 39)
    tops = np.array([float(rw[0].split()[-1].rstrip(")")) for rw in rows])
    assert not bool((Y >= tops[k]).any()), "unsound: a sampled point violates an unsat property"
    assert attacked == [], "cases refuted at the root were attacked"
    mid = 0.5 * (edges[20] + edges[21])
    y_mid = float(float64_outputs(layers, np.array([[mid]]))[0, 0])
    rows[20] = [f"(>= Y_0 {y_mid - 0.01!r})"]
    bad = tmp_path / "violated.vnnlib"
    bad.write_text(text(rows))
    r = run_instances(BabVerifier(threads=1), [Instance(onnx, bad, 30.0)])[0]
    assert r.verdict is Verdict.SAT, r.message
    assert check_counterexample(onnx, bad, r.counterexample.x, r.counterexample.y).ok
    assert attacked == [1], "exactly the case the root bound could not refute was attacked"


def test_needle_counterexample_at_a_corner_is_not_unsat(tmp_path: Path) -> None:
    """y = x0 + x1 reaches 2 only at the corner (1, 1); the boundary counts as a violation."""
    onnx = save_model(tmp_path / "sum.onnx", [(np.array([[1.0, 1.0]]), [0.0], False)])
    vnn = tmp_path / "p.vnnlib"
    vnn.write_text(vnnlib_text(2, 1, [([-1.0, -1.0], [1.0, 1.0])], [["(>= Y_0 2.0)"]]))
    r = run_instances(BabVerifier(threads=1, attack_restarts=0), [Instance(onnx, vnn, 20.0)])[0]
    assert r.verdict is Verdict.SAT, r.message
    assert r.extra["cex_exact"]


def test_throughput_like_regression_property(tmp_path: Path) -> None:
    """4 inputs (a window of throughput samples), one output; regression spec [ymin, ymax]
    whose counterexample region is y <= ymin or y >= ymax."""
    rng = np.random.default_rng(7)
    layers = random_mlp(rng, [4, 20, 20, 1])
    onnx = save_model(tmp_path / "tp.onnx", layers)
    lo, hi = np.zeros(4), np.full(4, 0.5)
    y = float64_outputs(layers, rng.uniform(lo, hi, (100_000, 4)))[:, 0]
    span = float(y.max() - y.min())
    wide = (float(y.min()) - 0.1 * span, float(y.max()) + 0.1 * span)
    tight = (float(y.min()) + 0.2 * span, float(y.max()) + 0.1 * span)
    results = {}
    for name, (ymin, ymax) in {"wide": wide, "tight": tight}.items():
        vnn = tmp_path / f"{name}.vnnlib"
        vnn.write_text(
            vnnlib_text(4, 1, [(lo, hi)], [[f"(<= Y_0 {ymin!r})"], [f"(>= Y_0 {ymax!r})"]])
        )
        results[name] = run_instances(BabVerifier(threads=1), [Instance(onnx, vnn, 30.0)])[0]
    assert results["wide"].verdict is Verdict.UNSAT, results["wide"].message
    assert results["tight"].verdict is Verdict.SAT, results["tight"].message
    assert results["tight"].counterexample.y[0] <= tight[0]


def test_non_relu_network_uses_auto_lirpa_fallback(tmp_path: Path) -> None:
    """A Sigmoid network cannot use the native bounds; the auto_LiRPA path still decides it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    W = np.array([[1.0, -1.0], [0.5, 0.5]], np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["x", "W", "b"], ["h"], transB=1),
            helper.make_node("Sigmoid", ["h"], ["y"]),
        ],
        "sig",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
        initializer=[
            numpy_helper.from_array(W, "W"),
            numpy_helper.from_array(np.zeros(2, np.float32), "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "sig.onnx"
    onnx.save(model, str(path))
    box = ([-1.0, -1.0], [1.0, 1.0])
    holds, violated = tmp_path / "h.vnnlib", tmp_path / "v.vnnlib"
    holds.write_text(vnnlib_text(2, 2, [box], [["(>= Y_0 0.9)"]]))  # sigmoid(2) = 0.88
    violated.write_text(vnnlib_text(2, 2, [box], [["(>= Y_0 0.85)"]]))
    r_h, r_v = run_instances(
        BabVerifier(threads=1), [Instance(path, holds, 30.0), Instance(path, violated, 30.0)]
    )
    assert r_h.verdict is Verdict.UNSAT and r_h.extra["native_bounds"] is False, r_h.message
    assert r_v.verdict is Verdict.SAT, r_v.message


def test_timeout_is_respected(tmp_path: Path) -> None:
    """y0 = sum c_j (relu(h_j) - relu(-h_j)) and y1 = sum c_j h_j (through always-active
    ReLUs) are equal, h = W x random on 8 inputs: "y0 >= y1 + 1e-3" holds but input splitting
    cannot prove it in 1 s. The answer must be timeout, soon after the limit."""
    rng = np.random.default_rng(11)
    W = rng.normal(size=(16, 8))
    c = rng.normal(size=16)
    first = (np.vstack([W, -W, W]), np.concatenate([np.zeros(32), np.full(16, 10.0)]), True)
    second = (
        np.vstack([np.concatenate([c, -c, np.zeros(16)]), np.concatenate([np.zeros(32), c])]),
        np.array([0.0, -10.0 * c.sum()]),
        False,
    )
    onnx = save_model(tmp_path / "zero.onnx", [first, second])
    vnn = tmp_path / "p.vnnlib"
    vnn.write_text(vnnlib_text(8, 2, [(-np.ones(8), np.ones(8))], [["(>= Y_0 (+ Y_1 0.001))"]]))
    v = BabVerifier(threads=1, attack_restarts=0)
    v.verify_instance(Instance(onnx, vnn, 0.01))  # load (cached) outside the measured call
    t0 = time.monotonic()
    r = verify_guarded(v, Instance(onnx, vnn, 1.0))
    assert r.verdict is Verdict.TIMEOUT, r.message
    assert time.monotonic() - t0 < 4.0


def test_bad_options_are_rejected() -> None:
    with pytest.raises(VerifierError):
        BabVerifier(batch=0)
    with pytest.raises(VerifierError):
        BabVerifier(rel_tol=-1.0)
    with pytest.raises(VerifierError):
        BabVerifier(alpha_steps=-1)
    with pytest.raises(VerifierError):
        BabVerifier(branching="random")


# ----------------------------------------------------------------------------- ACAS Xu


@pytest.mark.parametrize(
    "net,prop", [("1_1", 1), ("1_1", 2), ("2_1", 2), ("3_5", 2), ("2_4", 1), ("1_5", 2)]
)
def test_acasxu_verdicts_match_expected(shared_data: Path, net: str, prop: int) -> None:
    inst = acas_instance(shared_data, net, prop, 60.0)
    want = {(r["onnx"], r["vnnlib"]): EXPECTED[r["expected"]] for r in acas_rows(shared_data)}
    r = run_instances(BabVerifier(threads=1), [inst])[0]
    assert r.verdict.value == want[(inst.onnx.name, inst.vnnlib.name)], r.message
    if r.verdict is Verdict.SAT:
        assert r.extra["cex_exact"]


@pytest.mark.slow
def test_acasxu_all_90_no_wrong_verdicts(shared_data: Path) -> None:
    d = shared_data.joinpath(*ACAS)
    v = BabVerifier(threads=2)
    wrong, solved = [], 0
    for row in acas_rows(shared_data):
        r = verify_guarded(v, Instance(d / row["onnx"], d / row["vnnlib"], float(row["timeout"])))
        if r.verdict.decided:
            solved += 1
            if r.verdict.value != EXPECTED[row["expected"]]:
                wrong.append((row["onnx"], row["vnnlib"], r.verdict.value))
    assert not wrong, wrong
    assert solved >= 80


@pytest.mark.slow
@pytest.mark.marabou
def test_agrees_with_marabou_on_acasxu(shared_data: Path) -> None:
    from autospec_cli.verify.registry import make_backend

    try:
        marabou = make_backend("marabou")
    except VerifierError as e:
        pytest.skip(str(e))
    ok, why = type(marabou).available()
    if not ok:
        pytest.skip(why)
    for net, prop in [("1_1", 1), ("2_1", 2), ("1_2", 2)]:
        inst = acas_instance(shared_data, net, prop, 116.0)
        a = verify_guarded(BabVerifier(threads=2), inst)
        b = verify_guarded(marabou, inst)
        if a.verdict.decided and b.verdict.decided:
            assert a.verdict is b.verdict, (net, prop, a.message, b.message)
