"""VNN-LIB 2.0 queries the standard's compat transform misreads: asserted conjunctions of input
bounds, and strict comparisons (read one float32 step further, never as the boundary)."""

from __future__ import annotations

import numpy as np

from autospec_cli.vnnlib.reader_v2 import parse_vnnlib2, split_asserted_ands

HEAD = """(vnnlib-version <2.0>)
(declare-network N
    (declare-input X real [2,1])
    (declare-output Y real [2])
)
"""


def test_asserted_and_of_bounds_is_one_box():
    text = HEAD + """; bounds as conjunctions
(assert (and (>= X[0,0] 1.0) (<= X[0,0] 2.0)))
(assert (and (>= X[1,0] -1.0) (and (<= X[1,0] 3.0))))
(assert (or (>= Y[0] 5.0) (<= Y[1] 0.0)))
"""
    prop = parse_vnnlib2(text)
    assert len(prop.cases) == 1
    np.testing.assert_array_equal(prop.cases[0].lo, [1.0, -1.0])
    np.testing.assert_array_equal(prop.cases[0].hi, [2.0, 3.0])
    assert len(prop.cases[0].disjuncts) == 2


def test_strict_comparisons_exclude_the_boundary_by_one_float32_step():
    text = HEAD + """(assert (>= X[0,0] 0.0))
(assert (< X[0,0] 1.0))
(assert (> X[1,0] -1.0))
(assert (<= X[1,0] 1.0))
(assert (> Y[0] 1.0))
"""
    (case,) = parse_vnnlib2(text).cases
    assert case.hi[0] == np.nextafter(np.float32(1.0), np.float32(0.0))
    assert case.lo[1] == np.nextafter(np.float32(-1.0), np.float32(0.0))
    assert not case.unsafe(np.array([[1.0, 0.0]]))[0]  # y0 = 1 does not satisfy y0 > 1
    assert case.unsafe(np.array([[np.nextafter(np.float32(1), np.float32(2)), 0.0]]))[0]


def test_query_without_either_form_is_unchanged():
    text = HEAD + "(assert (>= X[0,0] 0.0))\n"
    assert split_asserted_ands(text) == text
