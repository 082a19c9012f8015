"""Spec metrics: hand-computed cases (overlap rule, alpha corners) and vectorised == naive."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autospec_cli.errors import ConfigError, InputError, SpecError
from autospec_cli.specs.metrics import evaluate_specs, evaluate_specs_naive
from autospec_cli.specs.model import Spec, SpecSet

INF = math.inf


def cls_set(*specs: tuple) -> SpecSet:
    return SpecSet("classification", ["a", "b"], "test",
                   [Spec(f"s{k}", lo, hi, label=lab) for k, (lo, hi, lab) in enumerate(specs)])


def reg_set(*specs: tuple) -> SpecSet:
    return SpecSet("regression", ["a"], "test",
                   [Spec(f"r{k}", [lo], [hi], y_lo=a, y_hi=b)
                    for k, (lo, hi, a, b) in enumerate(specs)])


def test_classification_by_hand_with_the_overlap_rule() -> None:
    # s0 = [0,2]x[0,2] label 0, s1 = [1,3]x[1,3] label 1: they overlap on [1,2]x[1,2]
    ss = cls_set(([0, 0], [2, 2], 0), ([1, 1], [3, 3], 1))
    X = np.array([[0.5, 0.5],   # in s0 only, y=0: TP
                  [0.5, 0.5],   # in s0 only, y=1: FP
                  [1.5, 1.5],   # in both, y=0: violates s1 -> FP (overlap rule)
                  [1.5, 1.5],   # in both, y=1: violates s0 -> FP
                  [2.5, 2.5],   # in s1 only, y=1: TP
                  [2.0, 2.0],   # on the shared corner (closed boxes): both, y=0 -> FP
                  [5.0, 5.0]])  # in none: FN
    y = np.array([0, 1, 0, 1, 1, 0, 1])
    m = evaluate_specs(ss, X, y)
    assert (m.tp, m.fp, m.fn, m.covered) == (2, 4, 1, 6)
    assert m.precision == pytest.approx(2 / 6) and m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 * (1 / 3) * (2 / 3) / (1 / 3 + 2 / 3))
    assert m.coverage == pytest.approx(6 / 7)
    assert m.spec_covered.tolist() == [5, 4] and m.spec_satisfied.tolist() == [3, 2]


def test_two_agreeing_overlapping_specs_give_a_tp() -> None:
    ss = cls_set(([0, 0], [2, 2], 1), ([1, 1], [3, 3], 1))
    m = evaluate_specs(ss, np.array([[1.5, 1.5]]), np.array([1]))
    assert (m.tp, m.fp, m.fn) == (1, 0, 0) and m.f1 == 1.0


def test_zero_denominators() -> None:
    ss = cls_set(([0, 0], [1, 1], 0))
    none_covered = evaluate_specs(ss, np.array([[5.0, 5.0]]), np.array([0]))
    assert (none_covered.precision, none_covered.recall, none_covered.f1) == (0.0, 0.0, 0.0)
    all_fp = evaluate_specs(ss, np.array([[0.5, 0.5]]), np.array([1]))
    assert (all_fp.tp, all_fp.fp, all_fp.precision, all_fp.recall, all_fp.f1) == (0, 1, 0, 0, 0)
    empty = evaluate_specs(ss, np.zeros((0, 2)), np.zeros(0, dtype=int))
    assert (empty.tp, empty.fp, empty.fn, empty.coverage) == (0, 0, 0, 0.0)


def test_regression_alpha_filter_corner_cases() -> None:
    # target range [0, 10]: widths 0, 1, 5, 10, 12 and an unbounded range
    ss = reg_set((0, 1, 2, 2), (0, 1, 1, 2), (0, 1, 0, 5), (0, 1, 0, 10), (0, 1, -1, 11),
                 (0, 1, 0, INF))
    X, y = np.array([[0.5], [0.5], [3.0]]), np.array([0.0, 10.0, 2.0])
    kept = {a: evaluate_specs(ss, X, y, alpha=a).kept.tolist()
            for a in (0.0, 0.1, 0.5, 1.0, INF)}
    assert kept[0.0] == [True, False, False, False, False, False]  # only zero-width ranges
    assert kept[0.1] == [True, True, False, False, False, False]   # width <= 1 (equality kept)
    assert kept[0.5] == [True, True, True, False, False, False]
    assert kept[1.0] == [True, True, True, True, False, False]
    assert kept[INF] == [True] * 6                                 # inf keeps even unbounded
    m = evaluate_specs(ss, X, y, alpha=0.1)
    # point (0.5, y=0) lies in r0 [2,2] and r1 [1,2]: violates -> FP; (0.5, 10) FP; 3.0: FN
    assert (m.tp, m.fp, m.fn, m.n_kept) == (0, 2, 1, 2)
    m = evaluate_specs(ss, X, y, alpha=0.1, y_range=(0.0, 100.0))  # width limit 10
    assert m.n_kept == 4 and m.y_range == (0.0, 100.0)
    X2 = np.array([[0.5], [0.5]])
    y_bound = evaluate_specs(reg_set((0, 1, 0, 5)), X2, np.array([5.0, 5.0 + 1e-9]), alpha=1.0,
                             y_range=(0.0, 10.0))
    assert (y_bound.tp, y_bound.fp) == (1, 1)  # y_lo <= y <= y_hi: the boundary satisfies
    one_point = evaluate_specs(reg_set((0, 1, 0, 5)), X2[:1], np.array([5.0]), alpha=1.0)
    assert one_point.n_kept == 0  # one target: range width 0, so only zero-width specs stay


@pytest.mark.parametrize("alpha", [-0.1, math.nan, "x"])
def test_bad_alpha_is_refused(alpha: object) -> None:
    with pytest.raises(ConfigError, match="alpha"):
        evaluate_specs(reg_set((0, 1, 0, 1)), np.array([[0.5]]), np.array([0.5]),
                       alpha=alpha)  # type: ignore[arg-type]


def test_bad_evaluation_data() -> None:
    ss = cls_set(([0, 0], [1, 1], 0))
    with pytest.raises(SpecError, match="2 features"):
        evaluate_specs(ss, np.zeros((3, 3)), np.zeros(3, dtype=int))
    with pytest.raises(InputError, match="NaN"):
        evaluate_specs(ss, np.array([[np.nan, 0.0]]), np.array([0]))
    with pytest.raises(InputError, match="targets of shape"):
        evaluate_specs(ss, np.zeros((3, 2)), np.zeros(2, dtype=int))
    with pytest.raises(InputError, match="no evaluation points"):
        evaluate_specs(reg_set((0, 1, 0, 1)), np.zeros((0, 1)), np.zeros(0))


# --- vectorised evaluation equals the naive reference --------------------------------------

coord = st.sampled_from([-INF, -1.0, 0.0, 0.5, 1.0, 2.0, INF])


@st.composite
def problems(draw: st.DrawFn) -> tuple[SpecSet, np.ndarray, np.ndarray, float]:
    d = draw(st.integers(1, 4))
    task = draw(st.sampled_from(["classification", "regression"]))
    specs = []
    for k in range(draw(st.integers(0, 12))):
        a = np.array(draw(st.lists(coord, min_size=d, max_size=d)))
        b = np.array(draw(st.lists(coord, min_size=d, max_size=d)))
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        if task == "classification":
            specs.append(Spec(f"s{k}", lo, hi, label=draw(st.integers(0, 2))))
        else:
            ya, yb = sorted(draw(st.lists(st.sampled_from([-INF, 0.0, 0.5, 1.0, 3.0, INF]),
                                          min_size=2, max_size=2)))
            specs.append(Spec(f"s{k}", lo, hi, y_lo=ya, y_hi=yb))
    n = draw(st.integers(1, 40))
    grid = st.sampled_from([-1.0, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0])  # many ties on edges
    X = np.array(draw(st.lists(st.lists(grid, min_size=d, max_size=d), min_size=n,
                               max_size=n)))
    if task == "classification":
        y = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    else:
        y = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]), min_size=n,
                                   max_size=n)))
    alpha = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0, INF]))
    ss = SpecSet(task, [f"f{j}" for j in range(d)], "random", specs)
    return ss, X, y, alpha


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.sampled_from([1, 7, 1 << 20]))
def test_vectorised_equals_naive(problem: tuple, block_pairs: int) -> None:
    ss, X, y, alpha = problem
    fast = evaluate_specs(ss, X, y, alpha=alpha, block_pairs=block_pairs)
    ref = evaluate_specs_naive(ss, X, y, alpha=alpha)
    assert (fast.tp, fast.fp, fast.fn, fast.covered, fast.n_kept) == \
        (ref.tp, ref.fp, ref.fn, ref.covered, ref.n_kept)
    assert fast.tp + fast.fp + fast.fn == X.shape[0]
    assert np.array_equal(fast.kept, ref.kept)
    assert np.array_equal(fast.spec_covered, ref.spec_covered)
    assert np.array_equal(fast.spec_satisfied, ref.spec_satisfied)
    assert (fast.precision, fast.recall, fast.f1) == (ref.precision, ref.recall, ref.f1)
