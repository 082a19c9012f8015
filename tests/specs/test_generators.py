"""The generator contract (a ``check_generator`` suite over every registered generator),
the registry, provenance, Algorithm 1 on a hand-computed case and hyperparameter errors."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from gen_helpers import count_containing, spiral, throughput_windows

from autospec_cli import plugins
from autospec_cli.data.dataset import Dataset
from autospec_cli.errors import ConfigError, InputError
from autospec_cli.specs.generators.base import Boxes, SpecGenerator, build_specs
from autospec_cli.specs.generators.registry import (
    available_generators,
    generate_specs,
    generator_class,
    get_generator,
)
from autospec_cli.specs.model import Spec, SpecSet

GENERATORS = available_generators()
#: generators whose boxes partition their domain: each generation point in exactly one box
PARTITIONING = {"grid", "tree"}


def test_builtin_generators_are_registered_through_entry_points() -> None:
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="autospec_cli.generators")}
    assert {"grid", "cluster", "tree", "human"} <= names
    assert {"grid", "cluster", "tree", "human"} <= set(GENERATORS)


# -- check_generator: the contract every registered generator must meet -----------------------
@pytest.mark.parametrize("name", GENERATORS)
def test_constructor_stores_parameters_without_validation(name: str) -> None:
    cls = generator_class(name)
    defaults = cls().get_params()
    weird = {p: -7 for p in defaults}
    gen = cls(**weird)  # no validation in __init__
    assert gen.get_params() == weird
    with pytest.raises(TypeError):
        cls(1)  # keyword-only


@pytest.mark.parametrize("name", GENERATORS)
def test_get_params_reproduces_the_generator(name: str) -> None:
    gen = get_generator(name)
    clone = generator_class(name)(**gen.get_params())
    assert clone.get_params() == gen.get_params()
    json.dumps(gen.get_params())  # provenance must be JSON


@pytest.mark.parametrize("name", GENERATORS)
def test_regression_specs_are_well_formed(name: str) -> None:
    ds = throughput_windows()
    gen = get_generator(name)
    assert gen.fit(ds.X, ds.y, task="regression", features=ds.features) is gen
    _check_specs(gen.specs_, ds, partition=name in PARTITIONING)
    for s in gen.specs_:
        assert s.label is None
        if s.is_monotonic:  # a direction instead of an output range
            assert name == "monotonic" and s.direction in ("increasing", "decreasing")
            continue
        assert math.isfinite(s.y_lo) and math.isfinite(s.y_hi) and s.y_lo <= s.y_hi


@pytest.mark.parametrize("name", GENERATORS)
def test_classification_specs_or_a_clear_refusal(name: str) -> None:
    ds = spiral()
    gen = get_generator(name)
    if "classification" not in gen.tasks:
        with pytest.raises(ConfigError, match="does not support classification"):
            gen.fit(ds.X, ds.y, task="classification")
        return
    if name == "human":  # labelled throughput only: spiral labels are no bins
        with pytest.raises(ConfigError, match="bins of the throughput"):
            gen.fit(ds.X, ds.y, task="classification")
        return
    gen.fit(ds.X, ds.y, task="classification")
    _check_specs(gen.specs_, ds, partition=name in PARTITIONING)
    for s in gen.specs_:
        assert s.label in (0, 1, 2)
        members = ds.y[s.contains(ds.X)] if name in PARTITIONING else None
        if members is not None:  # Algorithm 1: the majority label of the box's members
            assert np.bincount(members).argmax() == s.label


def _check_specs(specs: list[Spec], ds: Dataset, *, partition: bool) -> None:
    assert specs and all(isinstance(s, Spec) for s in specs)
    assert len({s.id for s in specs}) == len(specs)
    for s in specs:
        assert s.lo.shape == s.hi.shape == (ds.d,)
        assert np.all(s.lo <= s.hi)
        assert s.support >= 1
    covered = count_containing(specs, ds.X)
    if partition:
        assert np.all(covered == 1)
        assert sum(s.support for s in specs) == ds.n


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_json(name: str) -> None:
    ds = throughput_windows(seed=3)
    a = generate_specs(ds, name, seed=11).to_json()
    b = generate_specs(ds, name, seed=11).to_json()
    assert json.dumps(a) == json.dumps(b)


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_features_are_refused(name: str, bad: float) -> None:
    ds = throughput_windows()
    X = ds.X.copy()
    X[5, 1] = bad
    with pytest.raises(InputError, match="NaN or infinity"):
        get_generator(name).fit(X, ds.y, task="regression")


@pytest.mark.parametrize("name", GENERATORS)
def test_malformed_input_is_refused(name: str) -> None:
    ds = throughput_windows()
    gen = get_generator(name)
    with pytest.raises(InputError):
        gen.fit(ds.X, ds.y[:-1], task="regression")
    with pytest.raises(InputError):
        gen.fit(ds.X[:0], ds.y[:0], task="regression")
    with pytest.raises(InputError):
        gen.fit(ds.X, ds.y, task="regression", features=["a"])
    with pytest.raises(ConfigError, match="unknown task"):
        gen.fit(ds.X, ds.y, task="ranking")
    y = ds.y.copy()
    y[0] = np.nan
    with pytest.raises(InputError):
        gen.fit(ds.X, y, task="regression")


def test_classification_targets_must_be_class_indices() -> None:
    ds = spiral()
    with pytest.raises(InputError, match="integer class indices"):
        get_generator("tree").fit(ds.X, ds.y + 0.5, task="classification")
    with pytest.raises(InputError, match=">= 0"):
        get_generator("tree").fit(ds.X, ds.y - 1, task="classification")


# -- provenance --------------------------------------------------------------------------------
def test_generate_specs_records_provenance_and_round_trips() -> None:
    ds = spiral()
    ss = generate_specs(ds, "cluster", seed=5, k=4)
    assert ss.algorithm == "cluster" and ss.task == "classification"
    assert ss.params == get_generator("cluster", k=4, random_state=5).get_params()
    assert ss.params["random_state"] == 5
    assert ss.dataset == {"sha256": ds.sha256(), "name": "spiral", "n": ds.n}
    np.testing.assert_array_equal(ss.domain[0], ds.X.min(axis=0))
    np.testing.assert_array_equal(ss.domain[1], ds.X.max(axis=0))
    assert ss.classes == ["arm0", "arm1", "arm2"] and ss.features == ["x0", "x1"]
    back = SpecSet.from_json(json.loads(json.dumps(ss.to_json())))
    assert json.dumps(back.to_json()) == json.dumps(ss.to_json())


def test_explicit_random_state_wins_over_seed() -> None:
    ss = generate_specs(spiral(), "tree", seed=5, random_state=9)
    assert ss.params["random_state"] == 9
    assert "random_state" not in generate_specs(spiral(), "grid", seed=5).params


# -- registry ----------------------------------------------------------------------------------
def test_unknown_generator_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError,
                       match="unknown generator 'forest'.*cluster, grid, human, monotonic, tree"):
        get_generator("forest")


def test_unknown_parameter_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="no parameter depth; its parameters are max_depth"):
        get_generator("tree", depth=3)


@pytest.fixture
def installed_entry_points() -> Iterator[Callable[[list[object]], None]]:
    """Replace the installed entry points the plug-in registries see (restored afterwards)."""
    with pytest.MonkeyPatch.context() as mp:

        def install(eps: list[object]) -> None:
            mp.setattr(plugins, "entry_points", lambda group: eps)
            plugins.refresh()

        yield install
    plugins.refresh()


def test_builtins_work_without_package_metadata(installed_entry_points) -> None:
    installed_entry_points([])
    assert available_generators() == ["cluster", "grid", "human", "monotonic", "tree"]
    assert type(get_generator("grid")).__name__ == "GridGenerator"


def test_a_broken_plugin_is_a_config_error(installed_entry_points) -> None:
    class EP:
        def __init__(self, name: str, value: str) -> None:
            self.name, self.value = name, value

    installed_entry_points([EP("missing", "no_such_module_xyz:Gen"),
                            EP("notgen", "json:JSONDecoder")])
    with pytest.raises(ConfigError, match="cannot be loaded"):
        get_generator("missing")
    with pytest.raises(ConfigError, match="not a SpecGenerator"):
        get_generator("notgen")


# -- Algorithm 1 on a hand-computed case -------------------------------------------------------
def test_algorithm1_regression_mean_minus_plus_std() -> None:
    X = np.array([[0.0], [1.0], [2.0], [8.0], [10.0]])
    y = np.array([1.0, 2.0, 6.0, 4.0, 4.0])
    specs = get_generator("grid", beta=2).fit(X, y, task="regression").specs_
    assert [s.support for s in specs] == [3, 2]
    std = math.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 3)
    assert specs[0].y_lo == pytest.approx(3 - std) and specs[0].y_hi == pytest.approx(3 + std)
    assert specs[1].y_lo == specs[1].y_hi == 4.0
    assert specs[0].lo[0] == 0.0 and specs[0].hi[0] == np.nextafter(5.0, -np.inf)
    assert specs[1].lo[0] == 5.0 and specs[1].hi[0] == 10.0


def test_algorithm1_classification_majority_ties_to_smallest_label() -> None:
    X = np.array([[0.0], [1.0], [2.0], [8.0], [9.0], [10.0], [10.0]])
    y = np.array([2, 1, 1, 3, 0, 3, 0])
    specs = get_generator("grid", beta=2).fit(X, y, task="classification").specs_
    assert [(s.label, s.support) for s in specs] == [(1, 3), (0, 4)]


def test_build_specs_handles_overlapping_members() -> None:
    boxes = Boxes(lo=np.zeros((2, 1)), hi=np.ones((2, 1)),
                  owner=np.array([0, 0, 1, 1, 1]), member=np.array([0, 1, 1, 2, 3]))
    y = np.array([0.0, 2.0, 2.0, 2.0, 100.0])  # point 1 belongs to both boxes, point 4 to none
    a, b = build_specs(boxes, y, "regression", "x")
    assert (a.support, a.y_lo, a.y_hi) == (2, 0.0, 2.0)
    assert (b.support, b.y_lo, b.y_hi) == (3, 2.0, 2.0)
    assert [a.id, b.id] == ["x-0", "x-1"]


# -- hyperparameter errors ---------------------------------------------------------------------
N = throughput_windows().n


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("grid", {"beta": 0}, "beta must be between 1 and"),
        ("grid", {"beta": -3}, "beta must be between 1 and"),
        ("grid", {"beta": N + 1}, "at most the number of generation points"),
        ("grid", {"beta": 2.5}, "beta must be an integer"),
        ("grid", {"beta": True}, "beta must be an integer"),
        ("cluster", {"k": 0}, "k must be between 1 and"),
        ("cluster", {"k": N + 1}, "at most the number of generation points"),
        ("cluster", {"n_init": 0}, "n_init must be >= 1"),
        ("cluster", {"random_state": "x"}, "random_state must be an integer"),
        ("tree", {"max_depth": 0}, "max_depth must be >= 1"),
        ("tree", {"min_samples_leaf": 0}, "min_samples_leaf must be between 1"),
        ("tree", {"method": "forest"}, "method must be one of auto, exact, hist"),
        ("tree", {"max_bins": 1}, "max_bins must be between 2 and 65536"),
        ("human", {"n_bins": 0}, "n_bins must be between 1"),
        ("human", {"tau": -0.1}, "tau must be between 0"),
        ("human", {"tau": float("nan")}, "tau must be a finite number"),
        ("human", {"rules": ["level", "up"]}, "rules must be a non-empty list"),
        ("human", {"rules": []}, "rules must be a non-empty list"),
    ],
)
def test_bad_hyperparameters_raise_config_error_at_fit(
    name: str, params: dict, message: str
) -> None:
    ds = throughput_windows()
    gen = get_generator(name, **params)  # accepted unchanged by the constructor
    with pytest.raises(ConfigError, match=message) as err:
        gen.fit(ds.X, ds.y, task="regression", features=ds.features)
    assert "\n" not in str(err.value)


def test_subclass_contract_is_small() -> None:
    """A plug-in needs only ``name`` and ``_boxes``: one box holding every point."""
    from dataclasses import dataclass

    @dataclass(kw_only=True, eq=False)
    class Everything(SpecGenerator):
        name = "everything"

        def _boxes(self, X, y, task, features):  # type: ignore[no-untyped-def]
            return Boxes.from_assignment(X.min(0)[None], X.max(0)[None], np.zeros(len(X), int))

    ds = spiral()
    (spec,) = Everything().fit(ds.X, ds.y, task="classification").specs_
    assert spec.support == ds.n and spec.id == "everything-0"
    assert spec.label == np.bincount(ds.y).argmax()
