"""Report figures: each function writes a real PNG, atomically, and refuses empty input."""

from __future__ import annotations

from pathlib import Path

import pytest

from autospec_cli.errors import InputError, OutputExistsError
from autospec_cli.report import plots

PNG = b"\x89PNG\r\n\x1a\n"


def _png(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 200 and height > 200
    return width, height


def test_every_plot_writes_a_png(tmp_path: Path) -> None:
    out = [
        plots.scr_boxplot({"a": [1, 2, 3, float("nan")], "b": [2, 2, 5]}, tmp_path / "scr.png"),
        plots.radar_chart({"a": {"neu": 3, "fc": 1, "eps": 2}, "b": {"neu": 1, "fc": 4}},
                          tmp_path / "radar.png", title="max level"),
        plots.parallel_coordinates(
            [{"neu": 1, "act": "relu", "solved": 2}, {"neu": 5, "act": "tanh", "solved": 0},
             {"neu": 3, "act": "relu", "solved": 1}],
            ["neu", "act"], tmp_path / "pc.png", color_by="solved"),
        plots.parallel_coordinates([{"neu": 1, "v": "sat"}, {"neu": 2, "v": "unsat"}],
                                   ["neu"], tmp_path / "pc2.png", color_by="v"),
        plots.class_bars({"he": {"0": 90.0, "1": 80.0}, "xavier": {"0": 70.0, "1": 85.0}},
                         tmp_path / "cls.png", ylim=(0, 100)),
        plots.time_bars({"a": 1.5, "b": 30.0}, tmp_path / "t.png", log=True),
        plots.time_bars({"a": {"0": 1.0}, "b": {"0": 2.0, "1": 3.0}}, tmp_path / "t2.png"),
    ]
    for p in out:
        assert isinstance(p, Path) and p.parent == tmp_path
        _png(p)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_wider_box_plot_for_more_verifiers(tmp_path: Path) -> None:
    few = _png(plots.scr_boxplot({"a": [1.0]}, tmp_path / "a.png"))
    many = _png(plots.scr_boxplot({str(k): [float(k)] for k in range(9)}, tmp_path / "b.png"))
    assert many[0] > few[0]


def test_empty_inputs_and_overwrite_policy(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        plots.scr_boxplot({"a": [float("nan")]}, tmp_path / "x.png")
    with pytest.raises(InputError):
        plots.radar_chart({}, tmp_path / "x.png")
    with pytest.raises(InputError):
        plots.parallel_coordinates([{"a": 1}], ["b"], tmp_path / "x.png")
    with pytest.raises(InputError):
        plots.class_bars({}, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    p = plots.time_bars({"a": 1.0}, tmp_path / "t.png")
    plots.time_bars({"a": 2.0}, p)  # reports regenerate their figures
    with pytest.raises(OutputExistsError):
        plots.time_bars({"a": 2.0}, p, force=False)


def test_cactus_points_are_sorted_times_with_running_counts(tmp_path: Path) -> None:
    assert plots.cactus_points([3.0, 0.5, float("nan"), 2.0]) == ([0.5, 2.0, 3.0], [1, 2, 3])
    assert plots.cactus_points([]) == ([], [])
    p = plots.cactus_plot({"a": [0.5, 2.0], "b": [], "c": [0.01, 30.0]}, tmp_path / "c.png",
                          instances=4)
    _png(p)
    with pytest.raises(InputError):
        plots.cactus_plot({}, tmp_path / "x.png")


def test_radar_small_multiples_when_polygons_share_an_edge(tmp_path: Path) -> None:
    f = ["neu", "fc", "eps", "idm"]
    same = {"a": {"neu": 1, "fc": 1, "eps": 0.5, "idm": 1},
            "b": {"neu": 1, "fc": 1, "eps": 0.2, "idm": 0.5}}  # neu-fc edge shared
    apart = {"a": {"neu": 1, "fc": 0.5, "eps": 1, "idm": 0.5},
             "b": {"neu": 1, "fc": 1, "eps": 0.5, "idm": 1}}  # one shared vertex only
    assert plots.radar_overlaps(same, f) and not plots.radar_overlaps(apart, f)
    assert plots.radar_overlaps({"a": {"x": 1}, "b": {"x": 1.0}}, ["x"])
    assert not plots.radar_overlaps({"a": {"neu": 1}}, f)
    one = _png(plots.radar_chart(apart, tmp_path / "one.png", factors=f, rmax=1.0))
    multi = _png(plots.radar_chart(same, tmp_path / "multi.png", factors=f, rmax=1.0))
    forced = _png(plots.radar_chart(apart, tmp_path / "f.png", factors=f,
                                    small_multiples=True))
    # one chart is about square; two panels side by side are wide
    assert one[0] / one[1] < 1.3 and multi[0] / multi[1] > 1.5 and forced == multi


def test_stacked_time_bars_start_at_zero(tmp_path: Path) -> None:
    _png(plots.time_bars({"a": {"unsat": 1.0, "timeout": 20.0}, "b": {"sat": 0.2}},
                         tmp_path / "t.png", stacked=True))
