"""The ``lirpa`` backend: sound (never unsat where a counterexample exists), never sat,
batched verdicts equal per-property verdicts, errors and time limits are contained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conformance import BackendConformance, build_problems, save_model

from autospec_cli.errors import VerifierError
from autospec_cli.verify.backends.lirpa import LirpaVerifier, bound_property_batch, judge
from autospec_cli.verify.base import Instance, Verdict
from autospec_cli.verify.registry import make_backend
from autospec_cli.verify.runner import run_instances
from autospec_cli.vnnlib.builders import classification_property, regression_property
from autospec_cli.vnnlib.property import Case, Polytope, Property
from autospec_cli.vnnlib.writer import write_vnnlib


class TestLirpaConformance(BackendConformance):
    backend = "lirpa"
    options = {"method": "crown"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Instance]:
    probs = build_problems(tmp_path_factory.mktemp("lirpa-tiny"))
    return {p.name: Instance(p.onnx, p.vnnlib, 20.0, "tiny") for p in probs}


@pytest.mark.parametrize("method", ["crown", "alpha-crown"])
def test_obviously_holding_properties_are_unsat(tiny: dict[str, Instance], method: str) -> None:
    v = LirpaVerifier(method=method, alpha_iterations=5)
    r = run_instances(v, [tiny["lin_unsat"], tiny["abs_unsat"]])
    assert [x.verdict for x in r] == [Verdict.UNSAT, Verdict.UNSAT], [x.message for x in r]
    assert r[1].extra["margin"] > 0


def test_ibp_is_looser_than_crown(tiny: dict[str, Instance]) -> None:
    """|x0| via two ReLUs: IBP's interval is [0, 2], CROWN's is exact enough to prove y < 1.5."""
    r = LirpaVerifier(method="ibp").verify_instance(tiny["abs_unsat"])
    assert r.verdict is Verdict.UNKNOWN and r.extra["margin"] < 0


def test_never_sat(tiny: dict[str, Instance]) -> None:
    results = LirpaVerifier().verify_many(list(tiny.values()))
    assert all(r.verdict in (Verdict.UNSAT, Verdict.UNKNOWN) for r in results)


def random_net(rng: np.random.Generator, path: Path, n_in: int, n_out: int) -> Path:
    w = int(rng.integers(3, 9))
    layers = [(rng.normal(0, 1, (w, n_in)), rng.normal(0, 0.5, w), True),
              (rng.normal(0, 1, (w, w)) / np.sqrt(w), rng.normal(0, 0.5, w), True),
              (rng.normal(0, 1, (n_out, w)), rng.normal(0, 0.5, n_out), False)]
    return save_model(path, layers)


def net_outputs(onnx: Path, X: np.ndarray) -> np.ndarray:
    from autospec_cli.models.runtime import OnnxRunner

    return np.asarray(OnnxRunner(onnx).run(X), dtype=np.float64).reshape(len(X), -1)


@pytest.fixture(scope="module")
def random_suite(tmp_path_factory: pytest.TempPathFactory) -> list[Instance]:
    """Random small nets with regression and classification properties (builders + writer),
    thresholds placed around the sampled output range so some hold and some do not."""
    d = tmp_path_factory.mktemp("lirpa-random")
    rng = np.random.default_rng(2024)
    out = []
    for k in range(4):
        n_in, n_out = 3, (1 if k % 2 == 0 else 3)
        onnx = random_net(rng, d / "onnx" / f"net{k}.onnx", n_in, n_out)
        for j in range(8):
            centre = rng.uniform(-1, 1, n_in)
            radius = rng.uniform(0.01, 0.3) * np.ones(n_in)
            lo, hi = centre - radius, centre + radius
            Y = net_outputs(onnx, lo + (hi - lo) * rng.random((256, n_in)))
            if n_out == 1:
                spread = Y.max() - Y.min() + 1e-3
                slack = rng.uniform(-0.4, 0.6) * spread
                prop = regression_property(lo, hi, Y.min() - slack, Y.max() + slack)
            else:
                label = int(np.bincount(Y.argmax(axis=1), minlength=n_out).argmax())
                prop = classification_property(lo, hi, label, n_out)
            vnn = write_vnnlib(d / "vnnlib" / f"net{k}_p{j}.vnnlib", prop)
            out.append(Instance(onnx, vnn, 20.0, "random"))
    return out


def test_never_unsat_where_attack_finds_a_counterexample(random_suite: list[Instance]) -> None:
    attack = run_instances(make_backend("attack", samples=512, restarts=4, steps=30), random_suite)
    bounds = run_instances(make_backend("lirpa", method="crown"), random_suite)
    wrong = [str(i.vnnlib.name) for i, a, b in zip(random_suite, attack, bounds, strict=True)
             if a.verdict is Verdict.SAT and b.verdict is Verdict.UNSAT]
    assert not wrong, f"lirpa said unsat where attack found a counterexample: {wrong}"
    verdicts = [b.verdict for b in bounds]
    assert Verdict.UNSAT in verdicts and Verdict.SAT in [a.verdict for a in attack]  # not vacuous
    assert Verdict.SAT not in verdicts and Verdict.ERROR not in verdicts


@pytest.mark.parametrize("method", ["ibp", "crown"])
def test_batched_equals_one_by_one(random_suite: list[Instance], method: str) -> None:
    v = LirpaVerifier(method=method, batch_size=5)
    batched = v.verify_many(random_suite)
    single = [v.verify_instance(i) for i in random_suite]
    assert [r.verdict for r in batched] == [r.verdict for r in single]
    np.testing.assert_allclose([r.extra["margin"] for r in batched],
                               [r.extra["margin"] for r in single], rtol=1e-4, atol=1e-5)


def test_library_batch_matches_single_calls() -> None:
    import torch

    from autospec_cli.models.arch import MLP

    torch.manual_seed(5)
    model = MLP(4, [10, 5], 1)
    rng = np.random.default_rng(5)
    props = []
    for _ in range(40):
        lo = rng.uniform(-2, 1, 4)
        hi = lo + rng.uniform(0.01, 0.5, 4)
        c = rng.uniform(-0.5, 0.5)
        y_lo, y_hi = c - rng.uniform(0.05, 1), c + rng.uniform(0.05, 1)
        props.append(regression_property(lo, hi, y_lo, y_hi))
    batched = bound_property_batch(model, props)
    single = [bound_property_batch(model, [p])[0] for p in props]
    assert batched == single and 0 < sum(batched) < len(props)


def test_multi_case_property_needs_every_case() -> None:
    import torch

    from autospec_cli.models.arch import MLP

    torch.manual_seed(1)
    model = MLP(2, [4], 1)
    lo, hi = np.zeros(2), np.full(2, 0.1)
    with torch.no_grad():
        y = float(model(torch.tensor([[0.05, 0.05]])).item())
    holds = Case(lo, hi, [Polytope([[1.0]], [y - 100.0])])  # y <= y - 100: impossible
    fails = Case(lo, hi, [Polytope([[1.0]], [y + 100.0])])  # y <= y + 100: always
    assert bound_property_batch(model, [Property([holds], 2, 1)]) == [True]
    assert bound_property_batch(model, [Property([holds, fails], 2, 1)]) == [False]


def test_judge_padding_never_decides() -> None:
    lb = np.array([[1.0, 0.0, 0.0], [1.0, -1.0, 0.0]])
    b = np.array([[0.0, np.inf, np.inf], [0.0, 0.0, np.inf]])
    poly = np.array([[0, -1, -1], [0, 1, -1]])
    safe, margin = judge(lb, b, poly, np.array([1, 2]), 1e-5)
    assert safe.tolist() == [True, False]
    assert margin.tolist() == [1.0, -1.0]


def test_acasxu_never_sat_and_a_small_box_is_proven(shared_data: Path, tmp_path: Path) -> None:
    d = shared_data / "vnncomp2021" / "acasxu"
    net = d / "ACASXU_run2a_2_1_batch_2000.onnx"  # prop_2 is violated on this network
    insts = [Instance(net, d / f"prop_{k}.vnnlib", 30, "acasxu") for k in (1, 2)]
    results = run_instances(LirpaVerifier(), insts)
    verdicts = [r.verdict for r in results]
    assert verdicts == [Verdict.UNKNOWN, Verdict.UNKNOWN], [r.message for r in results]
    # CROWN alone proves prop_1's output constraint on a tiny box at the centre of its box
    from autospec_cli.vnnlib.reader import read_vnnlib

    case = read_vnnlib(d / "prop_1.vnnlib", n_inputs=5, n_outputs=5).cases[0]
    mid = (case.lo + case.hi) / 2
    small = Property([Case(mid - 1e-4, mid + 1e-4, case.disjuncts)], 5, 5)
    vnn = write_vnnlib(tmp_path / "small.vnnlib", small)
    r = run_instances(LirpaVerifier(), [Instance(net, vnn, 30, "acasxu")])[0]
    assert r.verdict is Verdict.UNSAT, r.message


def test_errors_are_one_line_and_contained(tiny: dict[str, Instance], tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    ok = tiny["lin_unsat"]
    results = LirpaVerifier().verify_many([
        Instance(ok.onnx, tmp_path / "missing.vnnlib", 10), Instance(bad, ok.vnnlib, 10), ok])
    assert [r.verdict for r in results] == [Verdict.ERROR, Verdict.ERROR, Verdict.UNSAT]
    assert all("\n" not in r.message and r.message for r in results[:2])


def test_zero_time_limit_is_a_timeout(tiny: dict[str, Instance]) -> None:
    inst = tiny["abs_unsat"]
    r = LirpaVerifier().verify_instance(Instance(inst.onnx, inst.vnnlib, 0.0))
    assert r.verdict is Verdict.TIMEOUT


def test_options_are_checked() -> None:
    with pytest.raises(VerifierError):
        make_backend("lirpa", method="beta-crown")
    with pytest.raises(VerifierError):
        LirpaVerifier(batch_size=0)
    assert LirpaVerifier.available()[0]
