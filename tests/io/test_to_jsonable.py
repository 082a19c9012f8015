"""to_jsonable: the one conversion of numpy, paths, enums and non-finite floats to plain JSON."""

from __future__ import annotations

import enum
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autospec_cli.campaign.runner import encode_result
from autospec_cli.io import to_jsonable
from autospec_cli.verify.base import Verdict


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    LOW = 1


def test_numpy_paths_enums_tuples_and_keys() -> None:
    obj = {
        "a": np.array([[1, 2], [3, 4]], dtype=np.int64), "b": np.float32(0.5),
        "c": np.int16(7), "d": np.bool_(True), "e": Path("x") / "y.onnx",
        "f": Verdict.SAT, "g": Colour.RED, "h": Level.LOW, "i": (1, (2.5, "s")),
        2: "int key", None: "none key", Verdict.UNSAT: "enum key",
        np.int64(3): "numpy key",
    }
    out = to_jsonable(obj)
    assert out == {
        "a": [[1, 2], [3, 4]], "b": 0.5, "c": 7, "d": True, "e": str(Path("x") / "y.onnx"),
        "f": "sat", "g": "red", "h": 1, "i": [1, [2.5, "s"]],
        "2": "int key", "null": "none key", "unsat": "enum key",
        "3": "numpy key",
    }
    # plain builtins, not subclasses that only look like them
    assert type(out["f"]) is str and type(out["h"]) is int and type(out["c"]) is int
    assert type(out["b"]) is float and type(out["d"]) is bool
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    assert to_jsonable({True: 1, 2.5: 2}) == {"true": 1, "2.5": 2}


def test_non_finite_floats_become_none_inside_arrays_too() -> None:
    arr = np.array([1.0, np.nan, np.inf, -np.inf])
    assert to_jsonable(arr) == [1.0, None, None, None]
    assert to_jsonable({"x": float("nan"), "y": np.float64(-np.inf)}) == {"x": None, "y": None}


def test_other_objects_become_strings_unless_strict() -> None:
    class Thing:
        def __str__(self) -> str:
            return "thing"

    assert to_jsonable([Thing()]) == ["thing"]
    assert to_jsonable({3, 1, 2}) == [1, 2, 3]
    with pytest.raises(TypeError, match="Thing"):
        to_jsonable({"x": Thing()}, strict=True)
    with pytest.raises(TypeError):
        to_jsonable({"x": {1, 2}}, strict=True)
    with pytest.raises(TypeError, match="keys must be"):
        to_jsonable({(1, 2): 0}, strict=True)
    with pytest.raises(ValueError):
        to_jsonable({"x": [1.0, float("nan")]}, strict=True)


def test_job_results_keep_refusing_nan_and_convert_numpy() -> None:
    assert encode_result({"b": np.float64(0.25), "a": np.arange(2), "v": Verdict.ERROR}) == (
        '{"a":[0,1],"b":0.25,"v":"error"}')
    with pytest.raises(ValueError):
        encode_result({"x": np.float64("nan")})
    with pytest.raises(TypeError):
        encode_result({"x": object()})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids), max_leaves=20)


@given(json_values)
def test_plain_json_passes_through_unchanged(value: object) -> None:
    assert to_jsonable(value) == value
    assert to_jsonable(value, strict=True) == value


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=8))
def test_floats_round_trip_or_become_none(xs: list[float]) -> None:
    out = to_jsonable(np.asarray(xs, dtype=np.float64))
    assert out == [x if math.isfinite(x) else None for x in xs]


def test_csv_text_columns_from_the_first_row_or_chosen() -> None:
    from autospec_cli.io import csv_text

    rows = [{"a": 1, "b": "x"}, {"a": 2, "b": "y,z"}]
    assert csv_text(rows) == 'a,b\n1,x\n2,"y,z"\n'
    assert csv_text([]) == ""
    assert csv_text(rows, ["b"]) == 'b\nx\n"y,z"\n'  # other keys left out
    assert csv_text([], ["b", "a"]) == "b,a\n"
    with pytest.raises(ValueError):
        csv_text([{"a": 1}, {"a": 2, "c": 3}])
