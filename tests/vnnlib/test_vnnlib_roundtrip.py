"""Writer -> reader round trips (exact floats), and VNN-LIB 2.0 output checked by the
standard's own parser (PyPI ``vnnlib`` 1.x) against our reader of the 1.0 twin."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autospec_cli.errors import VnnlibError
from autospec_cli.vnnlib.builders import (
    classification_property,
    regression_property,
    robustness_property,
)
from autospec_cli.vnnlib.property import Case, Polytope, Property
from autospec_cli.vnnlib.reader import read_vnnlib
from autospec_cli.vnnlib.writer import TINY, fmt_float, for_vnnlib2, render_vnnlib1, render_vnnlib2

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
moderate = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
coef = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 2.0, -0.5]), moderate)
normal = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False)
# coefficients within a 1e9 ratio (the official transformer zeroes |a| < 1e-9 of a row's max)
coef2 = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 2.0, -0.5]),
                  st.floats(1e-3, 1e5), st.floats(-1e5, -1e-3))


@st.composite
def boxes(draw: st.DrawFn, n: int, values: st.SearchStrategy[float] = finite
          ) -> tuple[np.ndarray, np.ndarray]:
    a = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    b = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    return np.minimum(a, b), np.maximum(a, b)


@st.composite
def polytopes(draw: st.DrawFn, n_out: int, nonzero: bool = False) -> Polytope:
    k = draw(st.integers(1, 3))
    c = coef2 if nonzero else coef
    A = np.array(draw(st.lists(st.lists(c, min_size=n_out, max_size=n_out), min_size=k,
                               max_size=k)))
    b = np.array(draw(st.lists(normal if nonzero else finite, min_size=k, max_size=k)))
    if nonzero:  # constant rows are folded by the 2.0 writer; tiny rows get rescaled by it
        A[~A.any(axis=1), 0] = 1.0
        shift = np.array(draw(st.lists(st.sampled_from([0, 0, -35, -400, -1000]),
                                       min_size=k, max_size=k)))
        A, b = np.ldexp(A, shift[:, None]), np.ldexp(b, shift)
    return Polytope(A, b)


@st.composite
def properties(draw: st.DrawFn, values: st.SearchStrategy[float] = finite,
               nonzero: bool = False) -> Property:
    n_in = draw(st.integers(1, 4))
    n_out = draw(st.integers(1, 4))
    n_cases = draw(st.integers(1, 4))
    cases, seen = [], set()
    for _ in range(n_cases):
        lo, hi = draw(boxes(n_in, values))
        key = (lo.tobytes(), hi.tobytes())
        if key in seen:  # identical boxes are merged by readers (same meaning)
            continue
        seen.add(key)
        polys = draw(st.lists(polytopes(n_out, nonzero), min_size=1, max_size=3))
        cases.append(Case(lo, hi, polys))
    return Property(cases, n_in, n_out)


def assert_same(p: Property, q: Property) -> None:
    assert (p.n_inputs, p.n_outputs, len(p.cases)) == (q.n_inputs, q.n_outputs, len(q.cases))
    for c, d in zip(p.cases, q.cases, strict=True):
        assert np.array_equal(c.lo, d.lo) and np.array_equal(c.hi, d.hi)
        assert len(c.disjuncts) == len(d.disjuncts)
        for s, t in zip(c.disjuncts, d.disjuncts, strict=True):
            assert np.array_equal(s.A, t.A) and np.array_equal(s.b, t.b)


def by_box(p: Property) -> Property:
    """Cases in a canonical order (the official transformer groups and reorders them)."""
    cases = sorted(p.cases, key=lambda c: (c.lo.tolist(), c.hi.tolist()))
    return Property(cases, p.n_inputs, p.n_outputs)


@SETTINGS
@given(st.one_of(finite, st.sampled_from([5e-324, -0.0, 1e300, 2.0**-1074 * 3, 0.1])))
def test_fmt_float_is_exact_and_positional(v: float) -> None:
    s = fmt_float(v)
    assert "e" not in s.lower() and "." in s
    assert float(s) == v and math.copysign(1, float(s)) == math.copysign(1, v)


@SETTINGS
@given(properties())
def test_vnnlib1_round_trip_exact(prop: Property) -> None:
    assert_same(prop, read_vnnlib(render_vnnlib1(prop, comment="round trip\nsecond line")))


@SETTINGS
@given(st.integers(2, 10).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(0, n - 1), boxes(3))))
def test_classification_round_trip(args: tuple) -> None:
    n, label, (lo, hi) = args
    p = classification_property(lo, hi, label, n)
    q = read_vnnlib(render_vnnlib1(p), n_inputs=3, n_outputs=n)
    assert_same(p, q)
    assert "(>= Y_" in render_vnnlib1(p)  # written as Y_j >= Y_c, as VNN-COMP tools expect


@SETTINGS
@given(boxes(2), st.one_of(st.just(-math.inf), moderate), st.one_of(st.just(math.inf), moderate))
def test_regression_round_trip(box: tuple, y_lo: float, y_hi: float) -> None:
    if not (math.isfinite(y_lo) or math.isfinite(y_hi)) or y_lo > y_hi:
        return
    p = regression_property(*box, y_lo, y_hi)
    assert len(p.cases[0].disjuncts) == math.isfinite(y_lo) + math.isfinite(y_hi)
    assert_same(p, read_vnnlib(render_vnnlib1(p)))


@SETTINGS
@given(boxes(4, st.floats(-1e6 + 5, 1e6)), st.floats(0, 10), st.integers(0, 2))
def test_robustness_round_trip(box: tuple, eps: float, label: int) -> None:
    x0 = box[0]
    p = robustness_property(x0, eps, label, 3, domain_lo=-1e6 + 5, domain_hi=1e6)
    assert np.all(p.cases[0].lo >= -1e6 + 5) and np.all(p.cases[0].hi <= 1e6)
    slack = 2 * np.spacing(np.abs(x0) + eps)  # x0 -+ eps are rounded to floats
    assert np.all(p.cases[0].hi - p.cases[0].lo <= 2 * eps + slack)
    assert np.all(p.cases[0].lo <= x0) and np.all(x0 <= p.cases[0].hi)
    assert_same(p, read_vnnlib(render_vnnlib1(p)))


def _shape_for(n: int, seed: int) -> list[int]:
    return [1, n] if seed % 3 == 0 else ([n] if seed % 3 == 1 else [1, 1, n])


@SETTINGS
@given(properties(normal, nonzero=True), st.integers(0, 2))
def test_vnnlib2_official_parser_matches_our_reader(prop: Property, seed: int) -> None:
    pytest.importorskip("vnnlib.compat")
    text2 = render_vnnlib2(prop, input_shape=_shape_for(prop.n_inputs, seed),
                           output_shape=_shape_for(prop.n_outputs, seed + 1), network_name="net")
    official = read_vnnlib(text2)  # dispatched to reader2 (the official parser)
    assert official.meta["vnnlib_version"] == "2.0"
    written = for_vnnlib2(prop)  # rows with tiny coefficients rescaled exactly, else unchanged
    ours = read_vnnlib(render_vnnlib1(written))
    assert_same(by_box(ours), by_box(official))
    assert_same(by_box(written), by_box(official))


def _exactly_unsafe(case: Case, y: np.ndarray) -> bool:
    """Does ``y`` satisfy one of ``case``'s polytopes, evaluated in exact rational arithmetic?"""
    yq = [Fraction(float(v)) for v in y]
    return any(all(sum(Fraction(float(a)) * v for a, v in zip(row, yq, strict=True))
                   <= Fraction(float(b)) for row, b in zip(p.A, p.b, strict=True))
               for p in case.disjuncts)


@SETTINGS
@given(properties(nonzero=False), st.data())
def test_vnnlib2_rewrite_never_shrinks_the_counterexample_region(prop: Property,
                                                                   data: st.DataObject) -> None:
    try:
        written = for_vnnlib2(prop)
    except VnnlibError:  # every polytope contradictory, or a hopelessly scaled row: said clearly
        return
    for c in prop.cases:
        ys = np.array(data.draw(st.lists(st.lists(normal, min_size=prop.n_outputs,
                                                  max_size=prop.n_outputs), min_size=1,
                                         max_size=5)))
        xs = np.vstack([c.lo, c.hi])
        if not np.all(np.isfinite(xs)):
            continue
        for y in ys:
            if _exactly_unsafe(c, y):
                # Exact arithmetic: float products of tiny coefficients underflow to 0, which
                # would count a y as unsafe that is not (and the rescaled rows evaluate right).
                assert all(any(_exactly_unsafe(w, y) for w in written.cases
                               if np.all(w.lo <= x) and np.all(x <= w.hi)) for x in xs)


def test_vnnlib2_subnormals_tiny_rows_and_constant_rows() -> None:
    pytest.importorskip("vnnlib.compat")
    sub = 5e-324
    polys = [Polytope([[1.0, 0.0]], [sub]),             # b subnormal: rounded up to TINY
             Polytope([[1e-125, 0.0]], [0.0]),          # official parser zeroes 1e-125
             Polytope([[0.0, 0.0], [1.0, 1.0]], [-1.0, 2.0]),  # 0 <= -1: never holds
             Polytope([[0.0, 0.0], [0.0, 1.0]], [1.0, 3.0])]   # 0 <= 1 holds: row dropped
    prop = Property([Case([-sub, 0.0], [sub, 1.0], polys)], 2, 2)
    got = read_vnnlib(render_vnnlib2(prop))
    (case,) = got.cases
    assert case.lo.tolist() == [-TINY, 0.0] and case.hi.tolist() == [TINY, 1.0]
    assert [p.A.tolist() for p in case.disjuncts] == [[[1.0, 0.0]], [[2.0**416 * 1e-125, 0.0]],
                                                       [[0.0, 1.0]]]
    assert [p.b.tolist() for p in case.disjuncts] == [[TINY], [0.0], [3.0]]
    assert 1.0 <= 2.0**416 * 1e-125 < 2.0
    bad = Property([Case([0.0], [1.0], [Polytope([[0.0]], [-1.0])])], 1, 1)
    with pytest.raises(VnnlibError, match="never be violated"):
        render_vnnlib2(bad)


def test_vnnlib2_multidimensional_indices() -> None:
    pytest.importorskip("vnnlib.compat")
    lo, hi = np.arange(6.0), np.arange(6.0) + 0.5
    p = classification_property(lo, hi, 1, 4)
    text = render_vnnlib2(p, input_shape=[1, 2, 3], output_shape=[2, 2])
    assert "X[0,1,2]" in text and "Y[1,1]" in text and "(vnnlib-version <2.0>)" in text
    q = read_vnnlib(text, n_inputs=6, n_outputs=4)
    assert q.meta["input_shape"] == [1, 2, 3]
    assert_same(p, q)
