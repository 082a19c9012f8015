"""GDVB report plots draw only the factors the benchmark varies."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from autospec_cli.report import gdvb


@pytest.mark.parametrize(("levels", "expected"), [
    # an MLP seed: conv held at 1 -> no conv axis
    ({f"i{k}": {"neu": n, "fc": 1.0, "conv": 1.0, "idm": d, "scl": s}
      for k, (n, d, s) in enumerate([(0.5, 1, 1), (1, 0.5, 2), (0.25, 0.75, 0.5)])},
     ["neu", "idm", "scl"]),
    # fewer than three vary: every factor present stays (a radar needs three axes)
    ({"a": {"neu": 0.5, "fc": 1.0, "scl": 1.0}, "b": {"neu": 1.0, "fc": 1.0, "scl": 1.0}},
     ["neu", "fc", "scl"]),
])
def test_radar_and_parallel_axes_are_the_varied_factors(tmp_path: Path, monkeypatch,
                                                        levels, expected) -> None:
    seen: dict[str, list[str]] = {}

    def radar(vals, path, *, factors, **kw):
        seen["radar"] = list(factors)
        return path

    def parallel(rows, factors, path, **kw):
        seen["parallel"] = list(factors)
        return path

    monkeypatch.setattr(gdvb, "radar_chart", radar)
    monkeypatch.setattr(gdvb, "parallel_coordinates", parallel)
    monkeypatch.setattr(gdvb, "cactus_plot", lambda series, path, **kw: path)
    monkeypatch.setattr(gdvb, "cactus_series", lambda records, board: [])
    monkeypatch.setattr(gdvb, "solved_levels", lambda records, board, how: {})
    monkeypatch.setattr(gdvb, "classify", lambda record, conflicted: "correct")
    gdvb._plots(tmp_path, [SimpleNamespace(instance=next(iter(levels)))], None, levels)
    assert seen == {"radar": expected, "parallel": expected}
