"""Activation-splitting branch and bound: sound split bounds, verdicts checked independently."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conformance import save_model, vnnlib_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autospec_cli.errors import ConfigError
from autospec_cli.verify.backends.bab import crown
from autospec_cli.verify.backends.bab import relu_bounds as rb
from autospec_cli.verify.backends.bab.relu_split import (
    ReluSplitConfig,
    relu_chain,
    relu_split_search,
)
from autospec_cli.vnnlib.property import Case, Polytope

# ----------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _one_thread():
    """Small batched products: several torch threads only fight over the cores."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def random_layers(rng: np.random.Generator, sizes: list[int]) -> crown.Layers:
    """A random MLP as float64 ``(W, b)`` pairs with float32-representable weights."""
    out = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        W = rng.normal(0, 1 / np.sqrt(a), (b, a)).astype(np.float32).astype(np.float64)
        bias = rng.normal(0, 0.3, b).astype(np.float32).astype(np.float64)
        out.append((torch.as_tensor(W), torch.as_tensor(bias)))
    return out


def pre_activations(layers: crown.Layers, X: torch.Tensor) -> torch.Tensor:
    """Packed hidden pre-activations (N, H) of the rows of X."""
    zs = []
    for W, b in layers[:-1]:
        Z = X @ W.T + b
        zs.append(Z)
        X = Z.clamp(min=0)
    return torch.cat(zs, 1)


def robustness_case(layers: crown.Layers, x0: np.ndarray, eps: float) -> Case:
    """Counterexample region of an L-inf ball: some other output >= the predicted one."""
    y0 = crown.forward(layers, torch.as_tensor(x0)[None])[0].numpy()
    c, n_out = int(y0.argmax()), y0.size
    polys = []
    for j in range(n_out):
        if j != c:
            A = np.zeros((1, n_out))
            A[0, c], A[0, j] = 1.0, -1.0
            polys.append(Polytope(A, [0.0]))
    return Case(x0 - eps, x0 + eps, polys)


def exact_confirm(layers: crown.Layers, case: Case):
    """A ``confirm`` that replays x in float64 exactly (inside the box, output unsafe)."""

    def confirm(x: np.ndarray) -> np.ndarray | None:
        y = crown.forward(layers, torch.as_tensor(x, dtype=torch.float64)[None])[0].numpy()
        ok = case.contains(x[None])[0] and case.unsafe(y[None])[0]
        return y if ok else None

    return confirm


def case_margin(layers: crown.Layers, case: Case, X: torch.Tensor) -> torch.Tensor:
    Y = crown.forward(layers, X)
    per = [
        (Y @ torch.as_tensor(p.A).T - torch.as_tensor(p.b)).max(dim=1).values
        for p in case.disjuncts
    ]
    return torch.stack(per, 1).min(dim=1).values


def strongest_attack(layers: crown.Layers, case: Case, seed: int) -> float:
    """Smallest margin found by dense sampling, the box's corners' neighbourhood and PGD."""
    g = torch.Generator().manual_seed(seed)
    lo, hi = torch.as_tensor(case.lo), torch.as_tensor(case.hi)
    X = lo + (hi - lo) * torch.rand(40_000, lo.numel(), generator=g, dtype=torch.float64)
    best = float(case_margin(layers, case, X).min())
    X = X[:400].clone()
    for t in range(100):
        X.requires_grad_(True)
        m = case_margin(layers, case, X)
        (grad,) = torch.autograd.grad(m.sum(), X)
        step = 0.05 * (1 - t / 100) + 0.001
        X = torch.minimum(torch.maximum(X.detach() - step * (hi - lo) * grad.sign(), lo), hi)
        best = min(best, float(case_margin(layers, case, X).min()))
    return best


# ----------------------------------------------------------------------------- bounds


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 100_000),
    n_splits=st.integers(0, 6),
    random_multipliers=st.booleans(),
    iters=st.sampled_from([0, 8]),
)
def test_split_bounds_contain_every_point_that_obeys_the_splits(
    seed: int, n_splits: int, random_multipliers: bool, iters: int
) -> None:
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, [3, 10, 10, 8, 3])
    lo = torch.as_tensor(rng.uniform(-1, 0.5, 3))
    hi = lo + torch.as_tensor(rng.uniform(0.2, 1.0, 3))
    L, U = rb.intermediate_bounds(layers, lo, hi)
    X = lo + (hi - lo) * torch.rand(10_000, 3, generator=torch.Generator().manual_seed(seed))
    Z = pre_activations(layers, X.double())
    # root intermediate bounds hold at every sample
    assert bool(((Z >= L) & (Z <= U)).all())
    # splits consistent with one sampled point's activation pattern (so the domain is not empty)
    unstable = torch.nonzero((L < 0) & (U > 0)).flatten()
    chosen = unstable[torch.randperm(unstable.numel())[:n_splits]]
    sign = torch.zeros(2, L.numel(), dtype=torch.int8)
    sign[0, chosen] = torch.where(Z[0, chosen] >= 0, 1, -1).to(torch.int8)
    sign[1, chosen] = -sign[0, chosen]  # the sibling subdomain (may be empty)
    low, up = rb.split_bounds(L, U, sign)
    C = torch.as_tensor(rng.normal(size=(2, 3)))
    alpha = beta = None
    if random_multipliers:  # any alpha in [0, 1] and any beta >= 0 must give a sound bound
        alpha = torch.as_tensor(rng.uniform(0, 1, (2, 2, L.numel())))
        beta = torch.as_tensor(rng.exponential(1.0, (2, 2, L.numel())))
    bd = rb.subdomain_lower(layers, lo, hi, C, low, up, sign, alpha, beta, iters=iters)
    Y = crown.forward(layers, X.double()) @ C.T
    for s in range(2):
        obeys = ((sign[s] == 0) | ((sign[s] > 0) & (Z >= 0)) | ((sign[s] < 0) & (Z <= 0))).all(1)
        if s == 0:
            assert bool(obeys[0])
        if not bool(obeys.any()):
            continue
        Ys, Xs = Y[obeys], X[obeys].double()
        assert bool((Ys >= bd.lb[s] - 1e-9).all())
        lin = Xs @ bd.A[s].T + bd.bias[s]  # the linear certificate holds point by point
        assert bool((Ys >= lin - 1e-9).all())
        assert bool((bd.scale[s] >= bd.lb[s].abs()).all())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000), n_splits=st.integers(1, 8))
def test_refined_bounds_contain_every_point_that_obeys_the_splits(seed: int, n_splits: int
                                                                  ) -> None:
    """Per-subdomain re-bounding after splits: still valid on every obeying sample, never
    looser than the split root bounds, and 'empty' only where no sample obeys."""
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, [3, 12, 12, 12, 3])
    lo = torch.as_tensor(rng.uniform(-1, 0.5, 3))
    hi = lo + torch.as_tensor(rng.uniform(0.2, 1.5, 3))
    L, U = rb.intermediate_bounds(layers, lo, hi)
    X = lo + (hi - lo) * torch.rand(20_000, 3, generator=torch.Generator().manual_seed(seed))
    Z = pre_activations(layers, X.double())
    unstable = torch.nonzero((L < 0) & (U > 0)).flatten()
    n = 6
    sign = torch.zeros(n, L.numel(), dtype=torch.int8)
    for s in range(n):  # random splits: some subdomains empty, some not
        chosen = unstable[torch.randperm(unstable.numel())[:n_splits]]
        ref = Z[int(rng.integers(len(Z))), chosen]
        flip = torch.as_tensor(rng.uniform(size=chosen.numel()) < 0.2 * s)
        sign[s, chosen] = torch.where((ref >= 0) ^ flip, 1, -1).to(torch.int8)
    low0, up0 = rb.split_bounds(L, U, sign)
    low, up, empty = rb.refine_bounds(layers, lo, hi, low0, up0, sign)
    live = ~empty
    assert bool((low[live] >= low0[live]).all()) and bool((up[live] <= up0[live]).all())
    for s in range(n):
        obeys = ((sign[s] == 0) | ((sign[s] > 0) & (Z >= 0)) | ((sign[s] < 0) & (Z <= 0))).all(1)
        if bool(obeys.any()):
            assert not bool(empty[s]), f"subdomain {s} has points but was called empty"
            Zs = Z[obeys]
            assert bool(((Zs >= low[s] - 1e-9) & (Zs <= up[s] + 1e-9)).all())


def test_refining_tightens_deep_bounds_after_a_first_layer_split() -> None:
    rng = np.random.default_rng(7)
    layers = random_layers(rng, [4, 20, 20, 20, 2])
    lo, hi = -torch.ones(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    L, U = rb.intermediate_bounds(layers, lo, hi)
    first = torch.nonzero((L[:20] < 0) & (U[:20] > 0)).flatten()[:4]
    sign = torch.zeros(2, L.numel(), dtype=torch.int8)
    sign[0, first], sign[1, first] = 1, -1
    low0, up0 = rb.split_bounds(L, U, sign)
    low, up, _ = rb.refine_bounds(layers, lo, hi, low0, up0, sign)
    gain = float(((up - low) - (up0 - low0))[:, 20:].abs().sum())
    assert gain > 1.0  # later layers got tighter, not only the split neurons


def test_beta_tightens_a_split_bound() -> None:
    """With the split constraint's multipliers the bound is tighter than without them."""
    rng = np.random.default_rng(1)
    layers = random_layers(rng, [4, 20, 20, 2])
    lo, hi = -torch.ones(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    L, U = rb.intermediate_bounds(layers, lo, hi)
    unstable = torch.nonzero((L < 0) & (U > 0)).flatten()[:6]
    sign = torch.zeros(12, L.numel(), dtype=torch.int8)
    for i, n in enumerate(unstable):
        sign[2 * i, n], sign[2 * i + 1, n] = 1, -1
    low, up = rb.split_bounds(L, U, sign)
    C = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    plain = rb.subdomain_lower(layers, lo, hi, C, low, up, sign, iters=20, use_beta=False)
    # the multipliers from zero with the slopes held: the bound can only improve
    beta = rb.subdomain_lower(
        layers, lo, hi, C, low, up, sign, plain.alpha, iters=20, lr_alpha=0.0, use_beta=True
    )
    assert bool((beta.lb >= plain.lb - 1e-9).all())
    assert float((beta.lb - plain.lb).max()) > 1e-3


def test_alpha_optimisation_never_loosens_the_root_bound() -> None:
    rng = np.random.default_rng(2)
    layers = random_layers(rng, [5, 24, 24, 24, 3])
    lo, hi = -torch.ones(5, dtype=torch.float64) * 0.5, torch.ones(5, dtype=torch.float64) * 0.5
    L, U = rb.intermediate_bounds(layers, lo, hi)
    sign = torch.zeros(1, L.numel(), dtype=torch.int8)
    C = torch.as_tensor(rng.normal(size=(3, 3)))
    plain = rb.subdomain_lower(layers, lo, hi, C, L[None], U[None], sign)
    opt = rb.subdomain_lower(layers, lo, hi, C, L[None], U[None], sign, iters=20)
    assert bool((opt.lb >= plain.lb).all()) and float((opt.lb - plain.lb).max()) > 1e-3
    # plain is CROWN: close to the existing module's full CROWN (not equal: interval bounds
    # intersected in, outward widening, and CROWN is not monotone in intermediate bounds)
    ref = crown.crown_lower(layers, lo[None], hi[None], C, intermediate="backward").lb
    assert bool(((plain.lb - ref).abs() <= 0.02 * (1 + ref.abs())).all())


def test_float64_rounding_is_far_below_the_refutation_margin() -> None:
    """The same bound in float32 and float64: float64's error is ~1e-9 of their gap, which
    must leave the margin ``1e-6 (1 + |b| + scale)`` many orders of magnitude to spare."""
    rng = np.random.default_rng(4)
    layers = random_layers(rng, [20, 64, 64, 64, 64, 64, 64, 10])
    lo = torch.as_tensor(rng.uniform(-1, 1, 20))
    hi = lo + 0.05
    L, U = rb.intermediate_bounds(layers, lo, hi)
    unstable = torch.nonzero((L < 0) & (U > 0)).flatten()[:8]
    sign = torch.zeros(4, L.numel(), dtype=torch.int8)
    sign[:, unstable] = torch.as_tensor(
        rng.choice([-1, 1], (4, unstable.numel())), dtype=torch.int8
    )
    low, up = rb.split_bounds(L, U, sign)
    C = torch.as_tensor(rng.normal(size=(3, 10)))
    bd = rb.subdomain_lower(layers, lo, hi, C, low, up, sign, iters=5)
    f32 = [(W.float(), b.float()) for W, b in layers]
    bd32 = rb.subdomain_lower(
        f32, lo.float(), hi.float(), C.float(), low.float(), up.float(), sign, bd.alpha, bd.beta
    )
    gap = (bd32.lb.double() - bd.lb).abs()
    margin = 1e-6 * (1 + bd.scale)
    assert bool((gap * 1e-8 < margin * 1e-6).all())  # float64 error estimate vs margin


# ----------------------------------------------------------------------------- verdicts


def _random_problem(seed: int) -> tuple[crown.Layers, Case]:
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(2, 6))
    layers = random_layers(rng, [n_in, 16, 16, 16, 3])
    x0 = rng.uniform(-1, 1, n_in)
    return layers, robustness_case(layers, x0, float(rng.uniform(0.1, 0.6)))


# fsb is the default and runs in CI; babsr (11 s more) runs with the slow tests.
@pytest.mark.parametrize("branching", ["fsb", pytest.param("babsr", marks=pytest.mark.slow)])
def test_verdicts_on_random_nets_hold_up_to_sampling_and_attack(branching: str) -> None:
    """unsat: no sampled or attacked point is unsafe; sat: the point replays; both occur."""
    seen: dict[str, int] = {}
    # weak bounds (no root optimisation, 2 steps per batch) so that many cases branch
    cfg = ReluSplitConfig(branching=branching, attack_restarts=0, root_iters=0, iters=2, batch=16)
    branched = 0
    for seed in range(24):
        layers, case = _random_problem(seed)
        out = relu_split_search(
            layers,
            case,
            deadline=time.monotonic() + 8,
            confirm=exact_confirm(layers, case),
            config=cfg,
        )
        seen[out.verdict] = seen.get(out.verdict, 0) + 1
        branched += out.verdict == "unsat" and int(out.stats["subdomains"]) > 4
        if out.verdict == "unsat":
            assert strongest_attack(layers, case, seed) > 0, f"seed {seed}: unsat but unsafe"
        elif out.verdict == "sat":
            assert out.x is not None and exact_confirm(layers, case)(out.x) is not None
    assert seen.get("sat", 0) >= 2 and seen.get("unsat", 0) >= 8, seen
    assert seen.get("unknown", 0) + seen.get("timeout", 0) <= 1, seen
    assert branched >= 3


def test_fully_split_leaves_are_decided_by_their_linear_program() -> None:
    """Without optimised multipliers bounds stay loose until every ReLU is split; the leaves'
    LP multipliers (checked by the sound bound) still decide the case."""
    decided = leaves = 0
    cfg = ReluSplitConfig(attack_restarts=0, root_iters=0, iters=0, beta=False, batch=8)
    for seed in range(6):
        rng = np.random.default_rng(900 + seed)
        layers = random_layers(rng, [2, 6, 6, 2])
        case = robustness_case(layers, rng.uniform(-1, 1, 2), float(rng.uniform(0.2, 0.8)))
        confirm = exact_confirm(layers, case)
        out = relu_split_search(
            layers, case, deadline=time.monotonic() + 20, confirm=confirm, config=cfg
        )
        leaves += int(out.stats.get("leaf_lps", 0))
        if out.verdict == "unsat":
            assert strongest_attack(layers, case, seed) > 0
            decided += 1
        elif out.verdict == "sat":
            assert confirm(out.x) is not None
            decided += 1
    assert decided >= 5 and leaves > 0


def test_agrees_with_input_splitting_where_both_decide() -> None:
    """The existing input-splitting search is complete on these 2-4 input nets: compare."""
    from autospec_cli.verify.backends.bab.search import Bounder, CaseSearch, SearchConfig

    agree, branched = 0, 0
    for seed in range(100, 116):
        layers, case = _random_problem(seed)
        mods: list[torch.nn.Module] = []
        for i, (W, b) in enumerate(layers):
            lin = torch.nn.Linear(W.shape[1], W.shape[0]).double()
            lin.weight.data, lin.bias.data = W.clone(), b.clone()
            mods += [lin] + ([torch.nn.ReLU()] if i < len(layers) - 1 else [])
        model = torch.nn.Sequential(*mods)
        confirm = exact_confirm(layers, case)
        bounder = Bounder(model.float(), case.lo.size)
        ref = CaseSearch(bounder, case, SearchConfig(), time.monotonic() + 20, confirm).run()
        out = relu_split_search(
            layers,
            case,
            deadline=time.monotonic() + 20,
            confirm=confirm,
            config=ReluSplitConfig(attack_restarts=0, root_iters=0, iters=3),
        )
        if {ref.verdict, out.verdict} <= {"sat", "unsat"}:
            assert ref.verdict == out.verdict, f"seed {seed}"
            agree += 1
        branched += int(out.stats.get("subdomains", 0)) > 0
    assert agree >= 12 and branched >= 2


def test_a_violated_property_is_found_by_the_attack_and_replayed() -> None:
    rng = np.random.default_rng(7)
    layers = random_layers(rng, [4, 16, 16, 3])
    case = robustness_case(layers, rng.uniform(-1, 1, 4), 3.0)  # a huge ball: violated
    out = relu_split_search(
        layers, case, deadline=time.monotonic() + 20, confirm=exact_confirm(layers, case)
    )
    assert out.verdict == "sat" and out.x is not None and out.y is not None
    assert case.contains(out.x[None])[0] and case.unsafe(out.y[None])[0]


def test_unconfirmed_candidates_never_make_sat() -> None:
    """A caller that rejects every point (say, onnxruntime disagrees) gets no sat."""
    rng = np.random.default_rng(7)
    layers = random_layers(rng, [4, 16, 16, 3])
    case = robustness_case(layers, rng.uniform(-1, 1, 4), 3.0)
    out = relu_split_search(
        layers,
        case,
        deadline=time.monotonic() + 3,
        confirm=lambda x: None,
        config=ReluSplitConfig(max_live=200),
    )
    assert out.verdict in ("unknown", "timeout")
    assert out.stats["candidates"] > 0


def test_live_subdomain_cap_gives_unknown_and_deadline_gives_timeout() -> None:
    rng = np.random.default_rng(11)
    layers = random_layers(rng, [8, 40, 40, 40, 4])
    case = robustness_case(layers, rng.uniform(-1, 1, 8), 0.4)
    cfg = ReluSplitConfig(attack_restarts=0, max_live=4, batch=2, iters=1, root_iters=1)
    out = relu_split_search(
        layers, case, deadline=time.monotonic() + 30, confirm=lambda x: None, config=cfg
    )
    assert out.verdict == "unknown" and "live subdomains" in out.phase
    late = relu_split_search(layers, case, deadline=time.monotonic() - 1, confirm=lambda x: None)
    assert late.verdict == "timeout"


def test_a_net_without_hidden_neurons_is_decided_or_unknown() -> None:
    W = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    layers = [(W, torch.zeros(1, dtype=torch.float64))]
    holds = Case([0.0, 0.0], [1.0, 1.0], [Polytope([[1.0]], [-2.0])])  # y <= -2: impossible
    out = relu_split_search(layers, holds, deadline=time.monotonic() + 5, confirm=lambda x: None)
    assert out.verdict == "unsat"
    violated = Case([0.0, 0.0], [1.0, 1.0], [Polytope([[1.0]], [0.5])])
    out = relu_split_search(
        layers, violated, deadline=time.monotonic() + 5, confirm=exact_confirm(layers, violated)
    )
    assert out.verdict == "sat"


@pytest.mark.parametrize(
    "bad",
    [
        {"branching": "widest"},
        {"batch": 0},
        {"iters": -1},
        {"rel_tol": 0.0},
    ],
)
def test_bad_configuration_is_a_typed_error(bad: dict) -> None:
    layers = random_layers(np.random.default_rng(0), [2, 4, 2])
    case = Case([0.0, 0.0], [1.0, 1.0], [Polytope([[1.0, -1.0]], [0.0])])
    with pytest.raises(ConfigError):
        relu_split_search(
            layers,
            case,
            deadline=time.monotonic() + 1,
            confirm=lambda x: None,
            config=ReluSplitConfig(**bad),
        )


def test_relu_chain_appends_an_identity_after_a_final_relu() -> None:
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2), torch.nn.ReLU()
    )
    layers = relu_chain(net, 3)
    assert layers is not None and len(layers) == 3
    x = torch.rand(16, 3, dtype=torch.float64)
    assert torch.allclose(crown.forward(layers, x), net.double()(x))
    assert relu_chain(net.float(), 4) is None  # wrong input size
    sig = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Sigmoid(), torch.nn.Linear(5, 2))
    assert relu_chain(sig, 3) is None


# ----------------------------------------------------------------------------- Marabou


@pytest.mark.slow
@pytest.mark.marabou
def test_verdicts_agree_with_marabou_on_small_relu_nets(tmp_path: Path) -> None:
    from autospec_cli.verify.backends.external import MarabouVerifier, find_marabou
    from autospec_cli.verify.base import Instance

    if find_marabou() is None:
        pytest.skip("Marabou executable not installed")
    compared, kinds = 0, set()
    for seed in range(8):
        rng = np.random.default_rng(500 + seed)
        sizes = [3, 10, 10, 3]
        raw = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            W = rng.normal(0, 1 / np.sqrt(a), (b, a)).astype(np.float32)
            raw.append((W, rng.normal(0, 0.3, b).astype(np.float32), i < len(sizes) - 2))
        layers = [(torch.as_tensor(W).double(), torch.as_tensor(b).double()) for W, b, _ in raw]
        x0 = rng.uniform(-1, 1, 3)
        eps = float(rng.uniform(0.05, 0.4))
        case = robustness_case(layers, x0, eps)
        c = int(np.nonzero(case.disjuncts[0].A[0] > 0)[0][0])
        onnx = save_model(tmp_path / f"n{seed}.onnx", raw)
        lo, hi = case.lo, case.hi
        disj = [[f"(>= Y_{j} Y_{c})"] for j in range(3) if j != c]
        prop = tmp_path / f"p{seed}.vnnlib"
        prop.write_text(vnnlib_text(3, 3, [(lo, hi)], disj))
        theirs = MarabouVerifier().verify_instance(Instance(onnx, prop, 60.0, "tiny"))
        ours = relu_split_search(
            layers, case, deadline=time.monotonic() + 30, confirm=exact_confirm(layers, case)
        )
        if theirs.verdict.value in ("sat", "unsat") and ours.verdict in ("sat", "unsat"):
            assert theirs.verdict.value == ours.verdict, f"seed {seed}"
            compared += 1
            kinds.add(ours.verdict)
    assert compared >= 6 and kinds == {"sat", "unsat"}


# ----------------------------------------------------------------------------- eran


def _eran_rows(shared: Path) -> list[dict[str, str]]:
    with open(shared / "vnncomp2021" / "eran" / "expected.csv", newline="") as fh:
        return [r for r in csv.DictReader(fh) if "relu" in r["onnx"]]


@pytest.mark.slow
def test_an_easy_eran_relu_instance_is_proved(shared_data: Path) -> None:
    """mnist_relu_9_200 with a known ``holds`` verdict (decided in seconds by the 2021 winner)."""
    from autospec_cli.models.onnx_to_torch import load_onnx_as_torch
    from autospec_cli.models.runtime import OnnxRunner
    from autospec_cli.verify.backends.bab.backend import confirm_in_onnxruntime
    from autospec_cli.vnnlib.reader import read_vnnlib

    folder = shared_data / "vnncomp2021" / "eran"
    row = next(r for r in _eran_rows(shared_data) if "idx_8098_" in r["vnnlib"])
    assert row["expected"] == "holds"
    torch.set_num_threads(1)
    runner = OnnxRunner(folder / row["onnx"], threads=1)
    layers = relu_chain(load_onnx_as_torch(folder / row["onnx"]).eval(), runner.n_inputs)
    assert layers is not None and len(layers) == 10  # 9 hidden layers + identity after the ReLU
    prop = read_vnnlib(folder / row["vnnlib"], n_inputs=784, n_outputs=10)
    for case in prop.cases:
        out = relu_split_search(
            layers,
            case,
            deadline=time.monotonic() + 120,
            confirm=lambda x, case=case: confirm_in_onnxruntime(runner, case, x),
        )
        assert out.verdict == "unsat", out.phase


# ----------------------------------------------------------------------------- conv nets


def _small_convnet(seed: int) -> torch.nn.Module:
    """Conv -> BN -> ReLU -> pad -> avg-pool -> flatten -> linear -> ReLU -> linear, eval mode."""
    from autospec_cli.models.graph_modules import Reshape

    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 2), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
        torch.nn.ZeroPad2d((1, 0, 1, 0)), torch.nn.AvgPool2d(2), Reshape((12,)),
        torch.nn.Linear(12, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3),
    )
    with torch.no_grad():
        bn = net[1]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5)
    return net.eval()


class _Shaped(torch.nn.Module):
    """A model taking flattened (N, 25) inputs in front of a (1, 5, 5) network."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net, self.net_input_shape = net, (1, 5, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(-1, 1, 5, 5))


def test_conv_pool_runs_become_dense_layers_that_reproduce_the_net() -> None:
    model = _Shaped(_small_convnet(0))
    layers = relu_chain(model, 25)
    assert layers is not None and [tuple(W.shape) for W, _ in layers] == [(48, 25), (6, 48),
                                                                          (3, 6)]
    x = torch.rand(32, 25, dtype=torch.float64)
    with torch.no_grad():
        ref = model.double()(x)
    assert torch.allclose(crown.forward(layers, x), ref, atol=1e-10)
    # no input shape known: a conv run cannot be expanded
    assert crown.extract_affine_relu(_small_convnet(0)) is None
    # max pooling is not affine
    pooled = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 2), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    assert crown.extract_affine_relu(pooled, (1, 5, 5)) is None


def test_dense_expansion_beyond_its_cap_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(crown, "MAX_DENSE", 100)
    assert relu_chain(_Shaped(_small_convnet(0)), 25) is None


def test_verdicts_on_random_conv_nets_hold_up_to_sampling_and_attack() -> None:
    seen: dict[str, int] = {}
    for seed in range(10):
        model = _Shaped(_small_convnet(seed))
        layers = relu_chain(model, 25)
        assert layers is not None
        net64 = model.double()
        x0 = np.random.default_rng(seed).uniform(0, 1, 25)
        case = robustness_case(layers, x0, 0.1 + 0.15 * (seed % 5))
        out = relu_split_search(layers, case, deadline=time.monotonic() + 8,
                                confirm=exact_confirm(layers, case), network=net64,
                                config=ReluSplitConfig(refine=seed % 2 == 0))
        seen[out.verdict] = seen.get(out.verdict, 0) + 1
        if out.verdict == "unsat":
            assert strongest_attack(layers, case, seed) > 0, f"seed {seed}: unsat but unsafe"
        elif out.verdict == "sat":
            assert out.x is not None and exact_confirm(layers, case)(out.x) is not None
    assert seen.get("unsat", 0) >= 3 and seen.get("sat", 0) >= 1, seen


def test_activation_splitting_after_lirpa_bounded_the_same_cached_model(tmp_path: Path) -> None:
    """In a portfolio, `lirpa` bounds the process-wide cached torch model before `bab`;
    activation splitting then built its float64 attack network by deep-copying that model,
    which auto_LiRPA had made uncopyable: every such instance ended in `error` (19 of the
    13,500 MNIST study instances). The same sequence must give a verdict."""
    from autospec_cli.verify.backends.bab import BabVerifier
    from autospec_cli.verify.backends.lirpa import LirpaVerifier
    from autospec_cli.verify.base import Instance, Verdict
    from autospec_cli.verify.loading import clear_caches

    rng = np.random.default_rng(11)
    sizes = [24, 16, 16, 3]
    layers = [(rng.normal(0, 1 / np.sqrt(a), (b, a)), rng.normal(0, 0.1, b), i < 2)
              for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))]
    onnx = save_model(tmp_path / "mlp.onnx", layers)
    x0 = rng.uniform(0.3, 0.7, 24)
    vnn = tmp_path / "p.vnnlib"
    vnn.write_text(vnnlib_text(24, 3, [(x0 - 0.05, x0 + 0.05)], [["(>= Y_1 Y_0)"],
                                                                  ["(>= Y_2 Y_0)"]]))
    inst = Instance(onnx, vnn, 30.0)
    clear_caches()
    LirpaVerifier(method="alpha-crown").verify_instance(inst)
    r = BabVerifier(threads=1, split="relu").verify_instance(inst)
    assert r.verdict is not Verdict.ERROR, r.message
    assert r.verdict in (Verdict.SAT, Verdict.UNSAT), r.message
