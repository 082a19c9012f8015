"""Confidence-filtered specifications (AutoSpec §6.2): purity, Wilson bound, filter, sweep."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gen_helpers import spiral, throughput_windows

from autospec_cli.errors import ConfigError, SpecError
from autospec_cli.specs.confidence import (
    confidence_sweep,
    filter_specs,
    spec_confidence,
    wilson_lower,
    z_of,
)
from autospec_cli.specs.generators.registry import generate_specs
from autospec_cli.specs.model import SpecSet


def test_wilson_lower_bound_known_values() -> None:
    assert z_of(0.95) == pytest.approx(1.959964, abs=1e-6)
    # 8 of 10 at 95 %: the textbook Wilson interval is [0.4902, 0.9433]
    assert wilson_lower(np.array([8]), np.array([10]))[0] == pytest.approx(0.4902, abs=1e-4)
    low = wilson_lower(np.array([3, 30, 300, 0]), np.array([3, 30, 300, 0]))
    assert low[0] < low[1] < low[2] < 1 and low[3] == 0  # pure, more support: more confident


@pytest.mark.parametrize("algo", ["grid", "cluster", "tree"])
def test_generated_specs_record_purity(algo: str) -> None:
    ds = spiral()
    for s in generate_specs(ds, algo, seed=0).specs:
        inside = s.contains(ds.X)
        assert s.support == np.count_nonzero(inside) or algo == "cluster"
        if algo != "cluster":  # partitions: the box's members are the points inside it
            assert s.purity == pytest.approx(np.mean(ds.y[inside] == s.label))
        assert 0 <= s.confidence <= s.purity <= 1


def test_regression_purity_is_the_share_inside_the_range() -> None:
    ds = throughput_windows()
    for s in generate_specs(ds, "tree", seed=0, max_depth=3).specs:
        y = ds.y[s.contains(ds.X)]
        assert s.purity == pytest.approx(np.mean((y >= s.y_lo) & (y <= s.y_hi)))


def test_filter_thresholds_and_provenance(tmp_path: Path) -> None:
    ss = generate_specs(spiral(), "grid", seed=0, beta=6)
    conf = spec_confidence(ss)
    kept = filter_specs(ss, min_confidence=0.5, min_support=3)
    want = [s.id for s, c in zip(ss.specs, conf, strict=True) if c >= 0.5 and s.support >= 3]
    assert [s.id for s in kept.specs] == want and 0 < len(want) < len(ss.specs)
    assert kept.params["filter"]["kept"] == len(want)
    back = SpecSet.load(kept.save(tmp_path / "k.json"))
    assert [s.confidence for s in back.specs] == [s.confidence for s in kept.specs]
    with pytest.raises(ConfigError, match="min_confidence"):
        filter_specs(ss, min_confidence=1.5)
    old = SpecSet.from_json({**ss.to_json(), "specs": [
        {k: v for k, v in s.to_json().items() if k not in ("purity", "confidence")}
        for s in ss.specs]})
    with pytest.raises(SpecError, match="regenerate"):
        filter_specs(old, min_confidence=0.1)


def test_sweep_trades_recall_for_precision() -> None:
    ds = spiral(n_per_class=120)
    ss = generate_specs(ds, "grid", seed=0, beta=12)
    rows = confidence_sweep(ss, ds.X, ds.y, thresholds=[0.0, 0.5, 0.9])
    assert [r["specs"] for r in rows] == sorted((r["specs"] for r in rows), reverse=True)
    assert rows[0]["recall"] >= rows[-1]["recall"]


def test_cli_filter_and_sweep(cli_runner, tmp_path: Path) -> None:
    npz = spiral().save_npz(tmp_path / "s.npz")
    specs, kept = tmp_path / "g.json", tmp_path / "kept.json"
    assert cli_runner("specs", "generate", str(npz), "-a", "grid", "--beta", "6", "-o",
                      str(specs))[0] == 0
    code, stdout, err = cli_runner("specs", "filter", str(specs), "--min-confidence", "0.5",
                                   "--min-support", "2", "-o", str(kept), "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["kept"] == len(SpecSet.load(kept).specs) < summary["of"]
    code, _, err = cli_runner("specs", "filter", str(specs), "--min-confidence", "2", "-o",
                              str(tmp_path / "x.json"))
    assert code == 2 and "--min-confidence" in err and err.count("\n") == 1
    png = tmp_path / "pr.png"
    code, stdout, err = cli_runner("specs", "evaluate", str(specs), str(npz),
                                   "--sweep-confidence", str(png), "--json")
    assert code == 0, err
    sweep = json.loads(stdout)["sweep"]
    assert len(sweep) == 20 and sweep[0]["f1"] == json.loads(stdout)["f1"]
    assert png.read_bytes()[:4] == b"\x89PNG"
