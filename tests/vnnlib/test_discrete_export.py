"""Export keeps discrete features discrete: inward integer rounding, one-hot disjunctions,
the relaxed marking above the limit, empty boxes dropped (vnnlib.discrete, benchmark_export)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.data.kinds import FeatureKinds
from autospec_cli.errors import InputError
from autospec_cli.specs.model import Spec, SpecSet
from autospec_cli.vnnlib.benchmark_export import export_specset
from autospec_cli.vnnlib.discrete import discretize_box
from autospec_cli.vnnlib.reader import read_vnnlib

FEATURES = ["n", "r", "p=a", "p=b", "p=c", "q=x", "q=y", "q=z", "q=w"]
KINDS = FeatureKinds(["n"], {"p": ["p=a", "p=b", "p=c"], "q": ["q=x", "q=y", "q=z", "q=w"]})
ONE = np.ones(7)
ZERO = np.zeros(7)


def box(n: tuple[float, float], p_hi=(1, 1, 1), q_hi=(1, 1, 1, 1), p_lo=(0, 0, 0),
        q_lo=(0, 0, 0, 0)) -> tuple[np.ndarray, np.ndarray]:
    lo = np.array([n[0], 0.0, *p_lo, *q_lo], dtype=float)
    hi = np.array([n[1], 1.0, *p_hi, *q_hi], dtype=float)
    return lo, hi


def test_integer_bounds_rounded_inward() -> None:
    lo, hi = box((1.5, 4.5), p_hi=(0.5, 1, 0.5), q_hi=(1, 0.4, 0.4, 0.4))
    d = discretize_box(lo, hi, KINDS, FEATURES)
    (b_lo, b_hi), = d.boxes
    assert (b_lo[0], b_hi[0]) == (2.0, 4.0) and d.rounded == [0] and d.integer_relaxed
    assert b_lo[1] == 0.0 and b_hi[1] == 1.0  # the real feature is untouched
    assert b_lo[2:5].tolist() == [0, 1, 0] and b_hi[2:5].tolist() == [0, 1, 0]
    assert d.fixed_groups == ["p", "q"] and not d.relaxed


def test_integer_box_without_integer_is_empty() -> None:
    d = discretize_box(*box((2.2, 2.8)), KINDS, FEATURES)
    assert d.empty and "no integer" in d.reason
    one = discretize_box(*box((2.2, 3.0)), KINDS, FEATURES)
    assert not one.empty and not one.integer_relaxed  # a single integer: exact


def test_onehot_group_becomes_cases_one_per_category() -> None:
    lo, hi = box((0, 9), p_hi=(1, 0.3, 1))  # p=b is excluded: p in {a, c}; q any of 4
    d = discretize_box(lo, hi, KINDS, FEATURES)
    assert d.enumerated == ["p", "q"] and len(d.boxes) == 2 * 4
    cats = {(tuple(b[0][2:5]), tuple(b[0][5:])) for b in d.boxes}
    assert len(cats) == 8
    for b_lo, b_hi in d.boxes:  # every case pins exactly one category per group
        assert np.array_equal(b_lo[2:], b_hi[2:]) and b_lo[2:5].sum() == 1
        assert b_lo[3] == 0 and b_lo[5:].sum() == 1


def test_onehot_forced_category_and_empty_group() -> None:
    forced = discretize_box(*box((0, 9), p_lo=(0, 0.7, 0)), KINDS, FEATURES)
    assert "p" in forced.fixed_groups and forced.boxes[0][0][3] == 1
    clash = discretize_box(*box((0, 9), p_lo=(0.7, 0.7, 0)), KINDS, FEATURES)
    assert clash.empty and "allows no category" in clash.reason
    none = discretize_box(*box((0, 9), q_hi=(0.4, 0.4, 0.4, 0.4)), KINDS, FEATURES)
    assert none.empty


def test_limit_relaxes_the_largest_group() -> None:
    d = discretize_box(*box((0, 9)), KINDS, FEATURES, limit=3)
    assert d.enumerated == ["p"] and d.relaxed_groups == ["q"] and d.relaxed
    assert len(d.boxes) == 3
    for b_lo, b_hi in d.boxes:  # q keeps the relaxed [0, 1] box
        assert b_lo[5:].tolist() == [0] * 4 and b_hi[5:].tolist() == [1] * 4


def _model(path: Path, d: int) -> Path:
    from autospec_cli.models.arch import MLP
    from autospec_cli.models.onnx_export import export_onnx

    export_onnx(MLP(d, [4], 2), (d,), path)
    return path


def test_export_writes_cases_marks_relaxed_and_drops_empty(tmp_path: Path) -> None:
    inf = np.inf
    specs = [
        Spec("enum", *box((-inf, 3.5), p_hi=(1, 0.5, 1)), label=0, support=9),
        Spec("empty", *box((2.2, 2.8)), label=1, support=8),
        Spec("wide", *box((1.0, inf)), label=1, support=7),
    ]
    dom = (np.array([0.0, 0, 0, 0, 0, 0, 0, 0, 0]), np.array([9.0, 1, 1, 1, 1, 1, 1, 1, 1]))
    ss = SpecSet("classification", FEATURES, "tree", specs, domain=dom, feature_kinds=KINDS)
    ss = SpecSet.from_json(json.loads(json.dumps(ss.to_json())))  # the JSON carries the kinds
    assert ss.feature_kinds == KINDS
    out = tmp_path / "bench"
    summary = export_specset(ss, _model(tmp_path / "m.onnx", 9), out, onehot_limit=8)
    assert summary.n_properties == 2 and [d["id"] for d in summary.dropped] == ["empty"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["feature_kinds"]["onehot_limit"] == 8
    assert manifest["dropped"][0]["id"] == "empty"
    enum, wide = manifest["instances"]
    assert enum["n_cases"] == 2 * 4 and not enum["meta"]["relaxed"]
    assert wide["meta"]["relaxed"] and wide["meta"]["discrete"]["onehot_relaxed"] == ["q"]
    assert wide["meta"]["integer_relaxed"] and wide["n_cases"] == 3
    prop = read_vnnlib(out / enum["vnnlib"], n_inputs=9, n_outputs=2)
    assert len(prop.cases) == 8
    assert all(c.hi[0] == 3.0 and c.lo[0] == 0.0 for c in prop.cases)


def test_export_refuses_when_every_box_is_empty(tmp_path: Path) -> None:
    ss = SpecSet("classification", FEATURES, "tree",
                 [Spec("empty", *box((2.2, 2.8)), label=1, support=8)], feature_kinds=KINDS)
    with pytest.raises(InputError, match="all 1 dropped"):
        export_specset(ss, _model(tmp_path / "m.onnx", 9), tmp_path / "b")
