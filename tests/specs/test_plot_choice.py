"""`specs plot` without --features-xy: the most constrained features, and the scale rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.errors import ConfigError
from autospec_cli.specs.model import Spec, SpecSet
from autospec_cli.specs.plot import (
    AxisScale,
    auto_scale,
    axis_limits,
    axis_scale,
    choose_features,
    constraint_scores,
    heavy_tailed,
    plot_specs_2d,
)

INF = np.inf


def _four_features() -> tuple[SpecSet, np.ndarray, np.ndarray]:
    """Data uniform on [0, 10]^4; specs bound feature 2 tightly, feature 0 loosely, and
    feature 3 with a box that covers all of its (constant) data."""
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 10, size=(400, 4))
    X[:, 3] = 5.0
    X[0, :3], X[1, :3] = 0.0, 10.0  # exact ranges [0, 10]
    specs = [Spec("a", [0, -INF, 1, 5], [5, INF, 2, 5], label=0, support=9),   # f0 .5 f2 .1
             Spec("b", [5, -INF, 6, 5], [10, INF, 8, 5], label=1, support=4)]  # f0 .5 f2 .2
    ss = SpecSet("classification", ["f0", "f1", "f2", "f3"], "hand", specs)
    return ss, X, (X[:, 0] > 5).astype(int)


def test_scores_are_the_fraction_of_the_range_left_out() -> None:
    ss, X, _ = _four_features()
    lin = [AxisScale("linear")] * 4
    scores = constraint_scores(ss, np.arange(2), X, lin)
    # f0: both halves -> 1 - 0.5; f1 unbounded -> 0; f2: 1 - (0.1 + 0.2) / 2; f3 constant -> 0
    assert scores == pytest.approx([0.5, 0.0, 0.85, 0.0])
    (fx, fy), _ = choose_features(ss, X, np.arange(2), "linear")
    assert (fx, fy) == (2, 0)
    # only spec b drawn: f2 leaves out 0.8, f0 0.5
    assert constraint_scores(ss, np.array([1]), X, lin) == pytest.approx([0.5, 0, 0.8, 0])


def test_ties_go_to_the_lower_index_and_no_spec_means_the_first_two() -> None:
    ss, X, _ = _four_features()
    (fx, fy), scores = choose_features(ss, X, np.array([], dtype=np.int64))
    assert (fx, fy) == (0, 1) and not scores.any()


def test_heavy_tail_rule() -> None:
    rng = np.random.default_rng(0)
    lognormal = rng.lognormal(0, 2.5, 5000)              # positive, heavy tail -> log
    flows = np.where(rng.uniform(size=5000) < 0.6, 0.0, lognormal)  # zeros -> symlog
    assert heavy_tailed(lognormal) and auto_scale(lognormal).kind == "log"
    sym = auto_scale(flows)
    assert sym.kind == "symlog"
    nz = np.abs(flows[flows != 0])
    assert sym.linthresh <= np.quantile(nz, 0.05) < 10 * sym.linthresh  # a power of ten below
    assert np.log10(sym.linthresh) == int(np.log10(sym.linthresh))
    for col in (rng.uniform(0, 100, 500), rng.normal(size=500),
                (rng.uniform(size=500) < 0.1).astype(float),   # a 0/1 flag: median at min
                rng.integers(0, 3, 500).astype(float) * (rng.uniform(size=500) < 0.3),
                np.full(50, 7.0)):
        assert auto_scale(col).kind == "linear"
    # the boundary: the median exactly at 1 % of the range is heavy-tailed, just above is not
    base = np.concatenate([np.zeros(10), [1000.0]])
    at = np.concatenate([np.full(6, 10.0), base])      # median 10 = 1 % of 1000
    above = np.concatenate([np.full(6, 10.5), base])
    assert heavy_tailed(at) and not heavy_tailed(above)


def test_explicit_scales_and_limits() -> None:
    col = np.array([0.0, 1.0, 10.0, 1000.0])
    assert axis_scale(col, "linear").kind == "linear"
    assert axis_scale(col, "symlog") == AxisScale("symlog", 1.0)
    with pytest.raises(ConfigError, match="use symlog"):
        axis_scale(col, "log", "bytes")
    with pytest.raises(ConfigError, match="must be one of"):
        axis_scale(col, "cubic")
    lo, hi = axis_limits(np.array([1.0, 1e4]), AxisScale("log"))  # 4 decades, 5 % each side
    assert (np.log10(lo), np.log10(hi)) == pytest.approx((-0.2, 4.2))
    assert axis_limits(np.array([0.0, 10.0]), AxisScale("linear")) == pytest.approx((-0.5, 10.5))


def test_symlog_transform_is_matplotlibs() -> None:
    from matplotlib.scale import SymmetricalLogTransform

    v = np.array([-1e5, -3.0, -0.5, 0.0, 0.2, 2.0, 7.5, 1e6])
    ours = AxisScale("symlog", 2.0)
    theirs = SymmetricalLogTransform(10, 2.0, 1.0)
    assert ours.transform(v) == pytest.approx(theirs.transform(v))
    assert ours.inverse(ours.transform(v)) == pytest.approx(v)


def test_log_choice_skips_features_with_values_below_zero() -> None:
    ss, X, _ = _four_features()
    X = X.copy()
    X[:, 2] -= 5.0  # f2 (the best) can no longer be drawn on a log axis
    X[:, 0] += 1.0
    X[:, 1] += 1.0
    (fx, fy), scores = choose_features(ss, X, np.arange(2), "log")
    assert fx != 2 and fy != 2 and scores[2] == -np.inf
    X[:, 0] -= 5.0
    X[:, 1] -= 5.0  # only the constant f3 is left positive
    with pytest.raises(ConfigError, match="only 1 of the features"):
        choose_features(ss, X, np.arange(2), "log")


def test_plot_reports_the_choice_and_draws_a_png(tmp_path: Path) -> None:
    ss, X, y = _four_features()
    info = plot_specs_2d(ss, X, y, tmp_path / "p.png")
    assert info["features"] == ["f2", "f0"] and info["chosen"] == "most constrained"
    assert info["scales"] == ["linear", "linear"] and info["specs_drawn"] == 2
    data = (tmp_path / "p.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    given = plot_specs_2d(ss, X, y, tmp_path / "q.png", features_xy=(1, 0))
    assert given["features"] == ["f1", "f0"] and given["chosen"] == "given"


def test_cli_plots_heavy_tailed_flows_with_a_chosen_pair(cli_runner, tmp_path: Path) -> None:
    from autospec_cli.data.dataset import Dataset

    rng = np.random.default_rng(3)
    n = 400
    X = np.c_[rng.uniform(0, 1, n), np.where(rng.uniform(size=n) < 0.5, 0, rng.lognormal(3, 3, n)),
              rng.lognormal(2, 2.5, n), rng.normal(size=n)]
    y = (X[:, 2] > 20).astype(int)
    ds = Dataset(X=X, y=y, features=["u", "bytes", "iat", "z"], task="classification",
                 name="flows", classes=["benign", "attack"])
    data = ds.save_npz(tmp_path / "d.npz")
    # narrow on iat's log axis, bounded on bytes, loose on u, unbounded on z
    specs = SpecSet("classification", ds.features, "hand", [
        Spec("s0", [0.0, 0.0, 0.1, -INF], [0.9, 100.0, 1.0, INF], label=0, support=5),
        Spec("s1", [0.1, 0.0, 20.0, -INF], [1.0, 1e4, 200.0, INF], label=1, support=5),
    ]).save(tmp_path / "s.json")
    out = tmp_path / "p.png"
    code, stdout, err = cli_runner("specs", "plot", str(specs), str(data), "-o", str(out),
                                   "--json")
    assert code == 0, err
    info = json.loads(stdout)
    assert info["features"] == ["iat", "bytes"] and info["chosen"] == "most constrained"
    assert info["scales"] == ["log", "symlog"] and info["linthresh"][0] is None
    assert out.stat().st_size > 5000
    code, stdout, err = cli_runner("specs", "plot", str(specs), str(data), "-o", str(out),
                                   "--force", "--scale", "linear")
    assert code == 0, err
    assert "the two features the specs constrain most" in stdout and "[log]" not in stdout
