"""HiGHS encodings of ReLU networks (``bab``'s exact leaves and bound tightening): sound LP and
MILP bounds, exact optima, refutations that sampling never contradicts, replayed witnesses,
and ``bab`` deciding with ``leaf=milp`` what splitting alone leaves ``unknown``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conformance import save_model, vnnlib_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_relu_split import pre_activations, random_layers

from autospec_cli.errors import VerifierError
from autospec_cli.verify.backends.bab import BabVerifier, crown, milp
from autospec_cli.verify.backends.bab import relu_bounds as rb
from autospec_cli.verify.base import Instance, Verdict
from autospec_cli.verify.cex import check_counterexample
from autospec_cli.verify.runner import run_instances

pytest.importorskip("highspy")


def box_samples(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, n: int) -> torch.Tensor:
    """Uniform points plus every corner of the box."""
    d = lo.size
    corners = np.array(np.meshgrid(*[[0, 1]] * d)).reshape(d, -1).T
    X = np.vstack([rng.uniform(lo, hi, (n, d)), lo + corners * (hi - lo)])
    return torch.as_tensor(X)


def root_bounds(layers: crown.Layers, lo: np.ndarray, hi: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    low, up = rb.intermediate_bounds(layers, torch.as_tensor(lo), torch.as_tensor(hi))
    return low.numpy(), up.numpy()


# ----------------------------------------------------------------------------- tightening


@pytest.mark.parametrize("mode", ["lp", "milp"])
@pytest.mark.parametrize("seed", [0, 1])
def test_tightened_bounds_contain_every_sampled_preactivation(mode: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = [3, 16, 16, 16, 2] if mode == "lp" else [3, 10, 10, 10, 2]  # MILPs cost more
    layers = random_layers(rng, sizes)
    lo, hi = -np.ones(3), np.ones(3)
    low0, up0 = root_bounds(layers, lo, hi)
    low, up, rep = milp.tighten(layers, lo, hi, low0, up0, mode=mode)
    assert rep.solves > 0 and rep.layers_done == 2
    assert np.all(low >= low0) and np.all(up <= up0)  # only tighter bounds are kept
    assert rep.improved > 0  # CROWN's bounds on a 3-layer net leave room
    Z = pre_activations(layers, box_samples(rng, lo, hi, 20_000)).numpy()
    assert np.all(Z >= low[None]) and np.all(Z <= up[None])


def test_milp_tightening_is_at_least_as_tight_as_lp() -> None:
    rng = np.random.default_rng(3)
    layers = random_layers(rng, [2, 10, 10, 1])
    lo, hi = -np.ones(2), np.ones(2)
    low0, up0 = root_bounds(layers, lo, hi)
    l_lp, u_lp, _ = milp.tighten(layers, lo, hi, low0, up0, mode="lp")
    l_mi, u_mi, _ = milp.tighten(layers, lo, hi, low0, up0, mode="milp")
    slack = 1e-4 * (1 + np.abs(l_lp) + np.abs(u_lp))  # the MILP's wider safety margin
    assert np.all(l_mi >= l_lp - slack) and np.all(u_mi <= u_lp + slack)
    assert float((u_mi - l_mi).sum()) < float((u_lp - l_lp).sum())


def test_tighten_stops_at_its_deadline() -> None:
    import time

    rng = np.random.default_rng(0)
    layers = random_layers(rng, [5, 40, 40, 40, 2])
    lo, hi = -np.ones(5), np.ones(5)
    low0, up0 = root_bounds(layers, lo, hi)
    t0 = time.monotonic()
    low, up, rep = milp.tighten(layers, lo, hi, low0, up0, mode="milp", deadline=t0 + 0.3)
    assert time.monotonic() - t0 < 3.0
    assert np.all(low >= low0) and np.all(up <= up0)


# ----------------------------------------------------------------------------- exact optima


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_milp_minimum_equals_dense_grid_minimum(seed: int) -> None:
    """2 inputs: a 600x600 grid finds the minimum of y0 up to its Lipschitz slack; the MILP's
    optimum matches it and its rigorous side (the dual bound) is below every grid value."""
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, [2, 10, 10, 1])
    lo, hi = np.array([-1.0, -0.5]), np.array([1.0, 1.5])
    low, up = root_bounds(layers, lo, hi)
    enc = milp.Encoding(layers, lo, hi, low, up, integer=True)
    assert enc.outputs is not None
    c = np.zeros(enc.n_cols)
    c[enc.outputs[0]] = 1.0
    res = enc.solve(c)
    g = np.linspace(0, 1, 600)
    X = torch.as_tensor(np.stack(np.meshgrid(g, g), -1).reshape(-1, 2) * (hi - lo) + lo)
    y = crown.forward(layers, X)[:, 0].numpy()
    lip = float(np.prod([np.abs(W.numpy()).sum(1).max() for W, _ in layers]))
    step = float((hi - lo).max()) / 599
    assert res.bound <= y.min() + 1e-6
    assert y.min() - res.value <= lip * step  # the grid cannot miss the optimum by more
    x = res.point[enc.x]
    y_at = float(crown.forward(layers, torch.as_tensor(x)[None])[0, 0])
    assert abs(y_at - res.value) < 1e-5 * (1 + abs(y_at))  # the point is a real input


def test_lp_safe_bound_is_below_every_sample() -> None:
    rng = np.random.default_rng(5)
    layers = random_layers(rng, [4, 20, 20, 3])
    lo, hi = -np.ones(4), np.ones(4)
    low, up = root_bounds(layers, lo, hi)
    enc = milp.Encoding(layers, lo, hi, low, up, integer=False)
    assert enc.outputs is not None
    Y = crown.forward(layers, box_samples(rng, lo, hi, 20_000)).numpy()
    for j in range(3):
        for sgn in (1.0, -1.0):
            c = np.zeros(enc.n_cols)
            c[enc.outputs[j]] = sgn
            res = enc.solve(c)
            assert res.exact and np.isfinite(res.bound)
            assert res.bound <= float((sgn * Y[:, j]).min())
            assert res.bound >= res.value - 1e-6 * (1 + abs(res.value))  # and nearly tight


# ----------------------------------------------------------------------------- decisions


def _threshold_case(seed: int, sizes: list[int]) -> tuple[crown.Layers, np.ndarray, np.ndarray,
                                                              float]:
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, sizes)
    lo, hi = -np.ones(sizes[0]), np.ones(sizes[0])
    Y = crown.forward(layers, box_samples(rng, lo, hi, 50_000)).numpy()
    return layers, lo, hi, float((Y[:, 0] - Y[:, 1]).max())


def _replay(layers: crown.Layers, lo: np.ndarray, hi: np.ndarray, A: np.ndarray, b: np.ndarray):
    def confirm(x: np.ndarray) -> np.ndarray | None:
        x32 = np.clip(x.astype(np.float32).astype(np.float64), lo, hi)
        y = crown.forward(layers, torch.as_tensor(x32)[None])[0].numpy()
        return y if bool(np.all(A @ y <= b)) else None

    return confirm


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_decide_refutes_an_unsat_case_and_falsifies_a_sat_one(seed: int) -> None:
    layers, lo, hi, top = _threshold_case(seed, [3, 16, 16, 2])
    low, up = root_bounds(layers, lo, hi)
    A = np.array([[-1.0, 1.0]])  # unsafe: y0 - y1 >= thr
    above = top + 0.01 * abs(top) + 0.01
    dec = milp.decide(layers, lo, hi, low, up, [(A, np.array([-above]))],
                      confirm=_replay(layers, lo, hi, A, np.array([-above])))
    assert dec.verdict == "refuted", dec.why
    below = top - 0.05 * abs(top) - 0.01
    confirm = _replay(layers, lo, hi, A, np.array([-below]))
    dec = milp.decide(layers, lo, hi, low, up, [(A, np.array([-below]))], confirm=confirm)
    assert dec.verdict == "candidate", dec.why
    assert confirm(dec.points[-1]) is not None  # the witness replays


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), rel=st.floats(-0.05, 0.05))
def test_decide_never_refutes_what_a_sample_violates(seed: int, rel: float) -> None:
    layers, lo, hi, top = _threshold_case(seed, [2, 8, 8, 2])
    thr = top + rel * (1 + abs(top))
    low, up = root_bounds(layers, lo, hi)
    A, b = np.array([[-1.0, 1.0]]), np.array([-thr])
    dec = milp.decide(layers, lo, hi, low, up, [(A, b)], confirm=_replay(layers, lo, hi, A, b))
    if thr <= top:  # a sampled point is unsafe
        assert dec.verdict != "refuted"
    assert dec.verdict in ("refuted", "candidate", "unknown")


def test_decide_handles_a_disjunction() -> None:
    """Two polytopes: refuted only if both are; a witness of either ends it."""
    layers, lo, hi, top = _threshold_case(4, [3, 12, 12, 2])
    low, up = root_bounds(layers, lo, hi)
    far = (np.array([[-1.0, 1.0]]), np.array([-(top + 0.5 * abs(top) + 1.0)]))
    near = (np.array([[-1.0, 1.0]]), np.array([-(top - 0.1 * abs(top) - 0.05)]))
    assert milp.decide(layers, lo, hi, low, up, [far]).verdict == "refuted"
    dec = milp.decide(layers, lo, hi, low, up, [far, near],
                      confirm=_replay(layers, lo, hi, *near))
    assert dec.verdict == "candidate"


# ----------------------------------------------------------------------------- bab


def _onnx_case(tmp_path: Path, seed: int) -> tuple[Path, Path, float]:
    """A 3-input net and an unsat property just above its sampled maximum of y0 - y1."""
    rng = np.random.default_rng(seed)
    sizes = [3, 20, 20, 2]
    raw = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        raw.append((rng.normal(0, 1 / np.sqrt(a), (b, a)), rng.normal(0, 0.3, b), i < 2))
    onnx = save_model(tmp_path / "net.onnx", raw)
    layers = [(torch.as_tensor(np.asarray(W, np.float32).astype(np.float64)),
               torch.as_tensor(np.asarray(b, np.float32).astype(np.float64))) for W, b, _ in raw]
    lo, hi = -np.ones(3), np.ones(3)
    Y = crown.forward(layers, box_samples(rng, lo, hi, 100_000)).numpy()
    top = float((Y[:, 0] - Y[:, 1]).max())
    thr = top + 0.002 * abs(top) + 0.002
    vnn = tmp_path / "p.vnnlib"
    vnn.write_text(vnnlib_text(3, 2, [(lo, hi)], [[f"(>= Y_0 (+ Y_1 {thr!r}))"]]))
    return onnx, vnn, thr


def test_bab_milp_leaf_decides_what_coarse_input_splitting_leaves_unknown(tmp_path: Path) -> None:
    onnx, vnn, _ = _onnx_case(tmp_path, 0)
    inst = Instance(onnx, vnn, 60.0, "random")
    coarse = {"threads": 1, "min_width": 0.2, "attack_restarts": 4}
    alone = run_instances(BabVerifier(leaf="none", **coarse), [inst])[0]
    assert alone.verdict is Verdict.UNKNOWN, alone.message  # the min_width floor
    exact = run_instances(BabVerifier(leaf="milp", leaf_unstable=0, **coarse), [inst])[0]
    assert exact.verdict is Verdict.UNSAT, exact.message
    assert exact.extra["stats"][0]["leaf_refuted"] > 0


def test_bab_milp_leaf_sat_is_replayed(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    raw = [(rng.normal(0, 0.6, (12, 3)), rng.normal(0, 0.3, 12), True),
           (rng.normal(0, 0.3, (2, 12)), rng.normal(0, 0.3, 2), False)]
    onnx = save_model(tmp_path / "net.onnx", raw)
    lo, hi = -np.ones(3), np.ones(3)
    layers = [(torch.as_tensor(np.asarray(W, np.float32).astype(np.float64)),
               torch.as_tensor(np.asarray(b, np.float32).astype(np.float64))) for W, b, _ in raw]
    Y = crown.forward(layers, box_samples(rng, lo, hi, 100_000)).numpy()
    thr = float((Y[:, 0] - Y[:, 1]).max()) - 1e-3
    vnn = tmp_path / "p.vnnlib"
    vnn.write_text(vnnlib_text(3, 2, [(lo, hi)], [[f"(>= Y_0 (+ Y_1 {thr!r}))"]]))
    # no attack, no bound-guided probes: only the MILP leaf can find the counterexample
    v = BabVerifier(threads=1, leaf="milp", attack_restarts=0, polish_steps=0,
                    leaf_unstable=1000)
    r = run_instances(v, [Instance(onnx, vnn, 60.0, "random")])[0]
    assert r.verdict is Verdict.SAT, r.message
    assert check_counterexample(onnx, vnn, r.counterexample.x, r.counterexample.y).ok


def test_relu_split_milp_decides_a_polytope_the_search_gives_up_on(tmp_path: Path) -> None:
    onnx, vnn, _ = _onnx_case(tmp_path, 2)
    inst = Instance(onnx, vnn, 60.0, "random")
    opts = {"threads": 1, "split": "relu", "relu_max_live": 1, "attack_restarts": 4}
    alone = run_instances(BabVerifier(leaf="none", **opts), [inst])[0]
    exact = run_instances(BabVerifier(leaf="milp", milp_refine="milp", **opts), [inst])[0]
    assert exact.verdict is Verdict.UNSAT, exact.message
    if alone.verdict is Verdict.UNKNOWN:  # the live cap stopped the search alone
        assert exact.extra["stats"][0].get("milp_refuted", 0) + \
            exact.extra["stats"][0].get("milp_refine_solves", 0) > 0


def test_milp_options_need_highspy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(milp, "available", lambda: False)
    with pytest.raises(VerifierError, match="highspy"):
        BabVerifier(leaf="milp")
    with pytest.raises(VerifierError, match="highspy"):
        BabVerifier(milp_refine="lp")
    assert BabVerifier().leaf == "none"  # auto degrades quietly
