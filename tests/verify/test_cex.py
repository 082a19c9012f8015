"""Counterexample parsing (VNN-COMP formats) and the VNN-COMP check rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autospec_cli.errors import VerifierError
from autospec_cli.verify.base import Counterexample
from autospec_cli.verify.cex import (
    check_counterexample,
    parse_vnncomp_counterexample,
    relative_error,
)
from autospec_cli.vnnlib.property import Case, Polytope, Property


class LinearRunner:
    """y = W x + b, a stand-in for OnnxRunner."""

    def __init__(self, W, b):
        self.W, self.b = np.asarray(W, float), np.asarray(b, float)
        self.n_inputs, self.n_outputs = self.W.shape[1], self.W.shape[0]

    def run(self, X):
        return np.atleast_2d(X) @ self.W.T + self.b


# y = (x0 + 1, x1); property: x in [-1, 1]^2 and y1 >= y0 (i.e. y0 - y1 <= 0)
RUNNER = LinearRunner(np.eye(2), [1.0, 0.0])
PROP = Property([Case([-1, -1], [1, 1], [Polytope([[1.0, -1.0]], [0.0])])], 2, 2)


def test_parse_vnncomp_form_multiline() -> None:
    text = "((X_0 0.5)\n (X_1 -1e-3)\n (Y_0 1.5)\n (Y_1 -0.001))\n"
    cex = parse_vnncomp_counterexample(text, 2, 2)
    assert cex.x.tolist() == [0.5, -0.001]
    assert cex.y.tolist() == [1.5, -0.001]


def test_parse_2021_style_with_verdict_and_equals() -> None:
    text = "violated\n(and (= X_1 2.0) (= X_0 1)\n(= Y_0 -3.5E+2))"
    cex = parse_vnncomp_counterexample(text)
    assert cex.x.tolist() == [1.0, 2.0]
    assert cex.y.tolist() == [-350.0]


def test_parse_without_outputs_gives_empty_y() -> None:
    cex = parse_vnncomp_counterexample("((X_0 1) (X_1 2))", 2, 3)
    assert cex.y.size == 0


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("((X_0 1) (X_2 2))", "indices"),
        ("((X_0 1) (X_0 2))", "twice"),
        ("((Y_0 1))", "no (X_i"),
        ("((X_0 1) (X_1 2) (Z_0 3))", "unexpected"),
        ("((X_0 1))", "expected 2"),
        ("((X_0 abc))", "unexpected"),
    ],
)
def test_parse_rejects_malformed(text: str, fragment: str) -> None:
    with pytest.raises(VerifierError, match=fragment.replace("(", r"\(")):
        parse_vnncomp_counterexample(text, 2, 2)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=8),
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=0, max_size=5),
)
def test_to_vnncomp_round_trips(xs: list[float], ys: list[float]) -> None:
    cex = Counterexample(np.array(xs), np.array(ys))
    back = parse_vnncomp_counterexample(cex.to_vnncomp(), len(xs), len(ys) or None)
    assert back.x.tolist() == xs
    assert back.y.tolist() == ys


def test_valid_counterexample_passes_exactly() -> None:
    chk = check_counterexample(RUNNER, PROP, [-1.0, 1.0], [0.0, 1.0])
    assert chk.ok and chk.exact and chk.case == 0
    assert chk.y_model.tolist() == [0.0, 1.0]


def test_without_reported_outputs_the_model_output_is_checked() -> None:
    assert check_counterexample(RUNNER, PROP, [-1.0, 1.0]).ok
    assert not check_counterexample(RUNNER, PROP, [1.0, -1.0]).ok


def test_outputs_must_match_within_relative_1e3() -> None:
    ok = check_counterexample(RUNNER, PROP, [-1.0, 1.0], [0.0, 1.0 + 0.9e-3])
    bad = check_counterexample(RUNNER, PROP, [-1.0, 1.0], [0.0, 1.0 + 1.1e-3])
    assert ok.ok and not ok.exact
    assert not bad.ok and "relative error" in bad.reason


def test_box_tolerance_is_1e4() -> None:
    # x0 slightly below -1: y0 - y1 = x0 + 1 - x1 <= 0 still holds
    assert check_counterexample(RUNNER, PROP, [-1.0 - 0.9e-4, 1.0]).ok
    out = check_counterexample(RUNNER, PROP, [-1.0 - 1.1e-4, 1.0])
    assert not out.ok and "outside" in out.reason


def test_output_constraint_tolerance_is_1e4() -> None:
    # x = (0, 0.99995): y0 - y1 = 5e-5 > 0, accepted within the 1e-4 tolerance only
    near = check_counterexample(RUNNER, PROP, [0.0, 0.99995])
    assert near.ok and not near.exact
    far = check_counterexample(RUNNER, PROP, [0.0, 0.9998])
    assert not far.ok and "no unsafe" in far.reason


def test_wrong_sizes_and_nan_are_rejected() -> None:
    assert "inputs" in check_counterexample(RUNNER, PROP, [0.0]).reason
    assert "outputs" in check_counterexample(RUNNER, PROP, [-1.0, 1.0], [0.0]).reason
    assert "NaN" in check_counterexample(RUNNER, PROP, [np.nan, 1.0]).reason


def test_counterexample_must_violate_the_case_whose_box_holds_it() -> None:
    # case 0: box around 0, unsafe y0 >= 10 (never); case 1: far box, unsafe y1 >= y0 (always there)
    prop = Property(
        [
            Case([-1, -1], [1, 1], [Polytope([[-1.0, 0.0]], [-10.0])]),
            Case([5, 5], [6, 6], [Polytope([[1.0, -1.0]], [0.0])]),
        ],
        2,
        2,
    )
    assert not check_counterexample(
        RUNNER, prop, [-1.0, 1.0]
    ).ok  # in box 0, violates only case 1's
    assert check_counterexample(LinearRunner(np.eye(2), [0.0, 0.0]), prop, [5.0, 5.5]).case == 1


def test_relative_error_uses_absolute_difference_for_tiny_outputs() -> None:
    assert relative_error(np.array([1e-3]), np.array([0.0])) == pytest.approx(1e-3)
    assert relative_error(np.array([2.0]), np.array([1.0])) == pytest.approx(1.0)
