"""Human throughput rules (level bins; increase, decrease, stable trends), hand-computed."""

from __future__ import annotations

import numpy as np
import pytest
from gen_helpers import throughput_windows

from autospec_cli.errors import ConfigError
from autospec_cli.specs.generators.human import window_slopes
from autospec_cli.specs.generators.registry import get_generator

# k = 3 past values; the largest value seen is 100, so the 10 bins are 10 wide; tau 0.01 -> 1/step
X = np.array([
    [12.0, 14.0, 16.0],   # slope +2: increase, last in bin 1; all in bin 1
    [15.0, 13.0, 11.0],   # slope -2: decrease, last in bin 1; all in bin 1
    [50.0, 50.5, 51.0],   # slope 0.5: stable, bin 5; all in bin 5
    [30.0, 45.0, 60.0],   # slope 15: increase, last in bin 6; bins differ: no level rule
    [0.0, 0.0, 0.0],      # slope 0: stable, bin 0; all in bin 0
])
Y = np.array([18.0, 10.0, 52.0, 100.0, 0.0])
FEATURES = ["ul_brate[t-3]", "ul_brate[t-2]", "ul_brate[t-1]"]


def _fit(**params):
    return get_generator("human", **params).fit(X, Y, task="regression", features=FEATURES).specs_


def test_hand_computed_rules() -> None:
    prev = lambda v: float(np.nextafter(v, -np.inf))  # noqa: E731
    got = {s.id: s for s in _fit()}
    expected = {  # id: (support, lo, hi, y_lo, y_hi)
        "human-level-0": (1, [0] * 3, [prev(10)] * 3, 0, 10),
        "human-level-1": (2, [10] * 3, [prev(20)] * 3, 10, 20),
        "human-level-5": (1, [50] * 3, [prev(60)] * 3, 50, 60),
        "human-increase-1": (1, [12, 14, 16], [12, 14, 16], 16, 100),
        "human-increase-6": (1, [30, 45, 60], [30, 45, 60], 60, 100),
        "human-decrease-1": (1, [15, 13, 11], [15, 13, 11], 0, 11),
        "human-stable-0": (1, [0, 0, 0], [0, 0, 0], 0, 0),
        "human-stable-5": (1, [50, 50.5, 51], [50, 50.5, 51], 50, 51),
    }
    assert list(got) == list(expected)
    for sid, (support, lo, hi, y_lo, y_hi) in expected.items():
        s = got[sid]
        assert s.support == support, sid
        np.testing.assert_array_equal(s.lo, lo, err_msg=sid)
        np.testing.assert_array_equal(s.hi, hi, err_msg=sid)
        assert (s.y_lo, s.y_hi) == (y_lo, y_hi), sid


def test_trend_groups_take_the_extremities_of_their_windows() -> None:
    X2 = np.vstack([X, [[10.0, 12.0, 19.0]]])  # another increase with its last value in bin 1
    specs = get_generator("human", rules="increase").fit(
        X2, np.append(Y, 20.0), task="regression").specs_
    inc1 = next(s for s in specs if s.id == "human-increase-1")
    assert inc1.support == 2
    np.testing.assert_array_equal(inc1.lo, [10, 12, 16])
    np.testing.assert_array_equal(inc1.hi, [12, 14, 19])
    assert (inc1.y_lo, inc1.y_hi) == (16, 100)


def test_tau_moves_windows_between_trend_and_stable() -> None:
    specs = _fit(tau=0.05, rules=["stable"])  # 5 per step: w0, w1 and w2 are now stable
    assert {s.id: s.support for s in specs} == {
        "human-stable-0": 1, "human-stable-1": 2, "human-stable-5": 1}


def test_rule_subsets_and_comma_strings() -> None:
    assert {s.id.split("-")[1] for s in _fit(rules="level, decrease")} == {"level", "decrease"}
    assert {s.id.split("-")[1] for s in _fit(rules=("stable",))} == {"stable"}


def test_slopes_are_least_squares_fits() -> None:
    rng = np.random.default_rng(0)
    W = rng.random((20, 5))
    ref = [np.polyfit(np.arange(5), w, 1)[0] for w in W]
    np.testing.assert_allclose(window_slopes(W), ref, rtol=1e-10, atol=1e-12)


def test_real_looking_windows_give_overlapping_rules() -> None:
    ds = throughput_windows(n=500)
    specs = get_generator("human").fit(ds.X, ds.y, task="regression", features=ds.features).specs_
    trend = [s for s in specs if "level" not in s.id]
    assert sum(s.support for s in trend) == ds.n  # each window has exactly one trend
    assert all(s.y_lo <= s.y_hi for s in specs)


def test_refusals() -> None:
    with pytest.raises(ConfigError, match="bins of the throughput"):  # labelled form only
        get_generator("human").fit(X, np.array([0, 1, 0, 1, 0]), task="classification")
    with pytest.raises(ConfigError, match="at least 2 past values"):
        get_generator("human").fit(X[:, :1], Y, task="regression")
    with pytest.raises(ConfigError, match="one throughput series"):
        get_generator("human").fit(X, Y, task="regression",
                                   features=["ul_brate[t-2]", "ul_brate[t-1]", "nof_ue[t-1]"])
    with pytest.raises(ConfigError, match="oldest first"):
        get_generator("human").fit(X, Y, task="regression", features=FEATURES[::-1])
