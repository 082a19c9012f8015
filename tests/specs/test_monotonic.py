"""Monotonicity specifications: the generator, the pair metric and the spec file format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.data.dataset import Dataset
from autospec_cli.errors import SpecError
from autospec_cli.specs.generators import generate_specs, get_generator
from autospec_cli.specs.model import Spec, SpecSet
from autospec_cli.specs.monotonic import evaluate_monotonic, pair_counts


def two_regimes(n: int = 400, seed: int = 0) -> Dataset:
    """Increasing in every input where x0 < 0.5, decreasing where x0 >= 0.5."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3))
    y = np.where(X[:, 0] < 0.5, X.sum(axis=1), -X.sum(axis=1)) + rng.normal(0, 1e-3, n)
    return Dataset(X=X, y=y, task="regression", name="regimes", features=["a", "b", "c"])


def test_pair_counts_by_hand() -> None:
    X = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 2.0]])
    y = np.array([0.0, 1.0, -1.0, 5.0])
    c = pair_counts(X, y)
    # comparable: (0,1) up, (0,2) down, (0,3) up, (2,1) up; (1,3) and (2,3) are not
    assert (c.comparable, c.increasing, c.decreasing) == (4, 3, 1)
    assert c.agreement("increasing") == 0.75


def test_generator_finds_both_directions_on_synthetic_data() -> None:
    ds = two_regimes()
    ss = generate_specs(ds, "monotonic", max_depth=1, threshold=0.95)
    assert ss.is_monotonic and len(ss) == 2
    by_side = {bool(s.hi[0] < 0.5): s for s in ss.specs}
    assert by_side[True].direction == "increasing"
    assert by_side[False].direction == "decreasing"
    for s in ss.specs:
        assert s.purity is not None and s.purity >= 0.95 and s.confidence < s.purity
        assert np.all(np.isfinite(s.lo)) and np.all(np.isfinite(s.hi))
    # scored on a fresh (evaluation) sample, both boxes keep agreeing
    ev = evaluate_monotonic(ss, two_regimes(seed=1).X, two_regimes(seed=1).y)
    assert ev["agreement"] > 0.95 and ev["comparable_pairs"] > 100
    # the same specs with flipped directions score the complement
    flipped = SpecSet.from_json(ss.to_json())
    for s in flipped.specs:
        s.direction = "decreasing" if s.direction == "increasing" else "increasing"
    ev2 = evaluate_monotonic(flipped, two_regimes(seed=1).X, two_regimes(seed=1).y)
    assert ev2["agreement"] < 0.05


def test_threshold_drops_boxes_without_a_trend() -> None:
    rng = np.random.default_rng(0)
    X = rng.random((300, 2))
    y = rng.normal(size=300)  # no monotone trend anywhere
    gen = get_generator("monotonic", max_depth=1, threshold=0.8).fit(X, y, task="regression")
    assert gen.specs_ == []


def test_monotonic_rejects_classification() -> None:
    from autospec_cli.errors import ConfigError

    with pytest.raises(ConfigError, match="regression"):
        get_generator("monotonic").fit(np.zeros((4, 1)), np.array([0, 1, 0, 1]),
                                       task="classification")


def test_spec_file_round_trip_and_old_files(tmp_path: Path) -> None:
    ss = generate_specs(two_regimes(), "monotonic", max_depth=1)
    path = ss.save(tmp_path / "m.json")
    back = SpecSet.load(path)
    assert [s.direction for s in back.specs] == [s.direction for s in ss.specs]
    assert all(s.kind == "monotonic" for s in back.specs)
    old = {"version": 1, "task": "regression", "features": ["a"], "algorithm": "tree",
           "specs": [{"id": "t-0", "lo": [0.0], "hi": [1.0], "y_lo": 0.0, "y_hi": 1.0}]}
    loaded = SpecSet.from_json(old)
    assert loaded.specs[0].kind == "reach" and not loaded.is_monotonic
    assert "kind" not in loaded.specs[0].to_json()  # reach specs are written as before


@pytest.mark.parametrize("patch,match", [({"direction": "sideways"}, "direction"),
                                         ({"kind": "weird"}, "unknown kind")])
def test_malformed_monotonic_spec(patch: dict, match: str) -> None:
    d = Spec(id="m", lo=np.zeros(1), hi=np.ones(1), kind="monotonic",
             direction="increasing").to_json()
    d.update(patch)
    with pytest.raises(SpecError, match=match):
        Spec.from_json(json.loads(json.dumps(d)))


def test_cli_monotonic_on_classification_data_is_one_error_line(cli_runner,
                                                                tmp_path: Path) -> None:
    from gen_helpers import spiral

    data = spiral().save_npz(tmp_path / "spiral.npz")
    out = tmp_path / "m.json"
    code, _, err = cli_runner("specs", "generate", str(data), "--algo", "monotonic",
                              "-o", str(out))
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "regression" in errors[0], err
    assert not out.exists()
