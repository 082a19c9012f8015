"""The attack falsifier: finds real counterexamples, never claims unsat, respects its limits."""

from __future__ import annotations

import numpy as np
import pytest
from conformance import BackendConformance, save_model, vnnlib_text

from autospec_cli.errors import VerifierError
from autospec_cli.verify.backends.attack import AttackVerifier, cuda_status
from autospec_cli.verify.base import Instance, Verdict
from autospec_cli.verify.falsify import case_margins, snap_float32
from autospec_cli.verify.runner import run_instances
from autospec_cli.vnnlib.property import Case, Polytope


class TestAttackConformance(BackendConformance):
    backend = "attack"
    options = {"samples": 256, "restarts": 8, "steps": 50}


@pytest.fixture(scope="module")
def needle(tmp_path_factory) -> Instance:
    """12 inputs in [-1, 1]; unsafe iff sum(x) >= 11.5: only near the all-ones corner.

    Random points and random corners (1 in 4096 is the right one) essentially never hit it;
    the gradient of the margin points straight at it.
    """
    d = tmp_path_factory.mktemp("needle")
    n = 12
    W = np.vstack([np.zeros(n), np.ones(n)])
    onnx = save_model(d / "needle.onnx", [(W, [0.0, -11.5], False)])
    vnn = d / "needle.vnnlib"
    vnn.write_text(vnnlib_text(n, 2, [([-1.0] * n, [1.0] * n)], [["(>= Y_1 Y_0)"]]))
    return Instance(onnx, vnn, 20.0, "needle")


def test_finds_vnncomp_test_sat_and_never_unsat_on_test_unsat(shared_data) -> None:
    d = shared_data / "vnncomp2021" / "test"
    sat, unsat = run_instances(AttackVerifier(), [
        Instance(d / "test_sat.onnx", d / "test_prop.vnnlib", 20, "test"),
        Instance(d / "test_unsat.onnx", d / "test_prop.vnnlib", 5, "test"),
    ])
    assert sat.verdict is Verdict.SAT, sat.message
    assert sat.extra["cex_exact"], sat.extra
    assert unsat.verdict in (Verdict.UNKNOWN, Verdict.TIMEOUT), unsat.message


def test_finds_an_acasxu_violation(shared_data) -> None:
    d = shared_data / "vnncomp2021" / "acasxu"
    r = run_instances(AttackVerifier(), [Instance(d / "ACASXU_run2a_2_1_batch_2000.onnx",
                                                  d / "prop_2.vnnlib", 20, "acasxu")])[0]
    assert r.verdict is Verdict.SAT and r.extra["cex_exact"], r.message


def test_gradient_search_finds_what_sampling_misses(needle: Instance) -> None:
    sampling_only = AttackVerifier(samples=256, restarts=0).verify_instance(needle)
    assert sampling_only.verdict is Verdict.UNKNOWN
    r = run_instances(AttackVerifier(samples=256, restarts=4, steps=50), [needle])[0]
    assert r.verdict is Verdict.SAT, r.message
    assert r.extra["phase"] == "gradient search"
    assert r.counterexample.x.sum() >= 11.5


def test_deterministic_for_a_seed(needle: Instance) -> None:
    a = AttackVerifier(samples=64, restarts=4, steps=30, seed=3).verify_instance(needle)
    b = AttackVerifier(samples=64, restarts=4, steps=30, seed=3).verify_instance(needle)
    assert a.verdict is b.verdict is Verdict.SAT
    np.testing.assert_array_equal(a.counterexample.x, b.counterexample.x)


def test_counterexample_is_onnxruntime_output_at_float32_point(needle: Instance) -> None:
    from autospec_cli.models.runtime import OnnxRunner

    r = AttackVerifier(samples=64, restarts=4, steps=50).verify_instance(needle)
    x = r.counterexample.x
    np.testing.assert_array_equal(x, x.astype(np.float32).astype(np.float64))
    np.testing.assert_array_equal(r.counterexample.y, OnnxRunner(needle.onnx).run(x[None])[0])


def test_time_limit_gives_timeout(needle: Instance) -> None:
    from dataclasses import replace

    r = AttackVerifier().verify_instance(replace(needle, timeout=1e-9))
    assert r.verdict is Verdict.TIMEOUT


def test_options_are_validated() -> None:
    with pytest.raises(VerifierError, match="samples"):
        AttackVerifier(samples=-1)
    with pytest.raises(VerifierError, match="device"):
        AttackVerifier(device="tpu")


@pytest.mark.skipif(cuda_status()[0], reason="a CUDA GPU is present")
def test_cuda_without_gpu_is_a_clear_error() -> None:
    with pytest.raises(VerifierError, match="device=cuda is not usable"):
        AttackVerifier(device="cuda")


@pytest.mark.skipif(not cuda_status()[0], reason="needs onnxruntime-gpu and a CUDA GPU")
def test_cuda_finds_the_needle(needle: Instance) -> None:
    r = run_instances(AttackVerifier(device="cuda", samples=256, restarts=4, steps=50), [needle])[0]
    assert r.verdict is Verdict.SAT, r.message


def test_margin_is_min_over_disjuncts_of_max_over_rows() -> None:
    case = Case([0, 0], [1, 1], [Polytope([[1, 0], [0, 1]], [0, 0]), Polytope([[-1, 0]], [-5])])
    Y = np.array([[-1.0, -2.0], [1.0, -3.0], [6.0, 9.0]])
    np.testing.assert_allclose(case_margins(case, Y), [-1.0, 1.0, -1.0])
    assert np.array_equal(case_margins(case, Y) <= 0, case.unsafe(Y))


def test_snap_keeps_float32_points_inside_the_box() -> None:
    lo = np.array([-0.30353115613746867, 0.1])
    hi = np.array([-0.29855281193475053, 0.1])
    X = snap_float32(np.array([[lo[0], 0.1], [hi[0], 0.1]]), lo, hi)
    assert np.all(X[:, 0] >= lo[0]) and np.all(X[:, 0] <= hi[0])
    np.testing.assert_array_equal(X, X.astype(np.float32).astype(np.float64))
