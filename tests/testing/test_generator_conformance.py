"""The shipped generator contract (``check_generator``) over every registered generator, and
the suite catching planted faults."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from autospec_cli.data.bins import bin_edges, bin_indices
from autospec_cli.errors import ConfigError
from autospec_cli.specs.generators.base import Boxes, SpecGenerator, check_seed
from autospec_cli.specs.generators.registry import available_generators, generator_class
from autospec_cli.testing.generators import (
    check_bad_parameters_raise_config_error,
    check_deterministic,
    check_generator,
    classification_data,
    regression_data,
)


@pytest.mark.parametrize("name", available_generators())
def test_every_registered_generator_meets_the_contract(name: str) -> None:
    check_generator(name)


@pytest.mark.parametrize("name", available_generators())
def test_classification_capable_generators_meet_it_on_labels(name: str) -> None:
    if "classification" not in generator_class(name).tasks:
        pytest.skip(f"{name} mines regression specifications only")
    if name == "human":  # labelled throughput: windows whose labels are bins of the target
        X, y = regression_data()
        edges = bin_edges(y, 5)
        check_generator(name, X, bin_indices(y, edges)[0], "classification", target_bins=edges)
        return
    check_generator(name, *classification_data(), "classification")


# -- planted faults ----------------------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class _OneBox(SpecGenerator):
    """One box around all points; ``random_state`` only shifts it (or not) by design."""

    name = "onebox"
    width: int = 1
    random_state: int | None = 0

    def _validate(self, n: int, d: int) -> None:
        if not isinstance(self.width, int) or self.width < 1:
            raise ConfigError(f"width must be an integer >= 1, got {self.width!r}")
        check_seed(self.random_state)

    def _boxes(self, X, y, task, features) -> Boxes:  # type: ignore[no-untyped-def]
        lo, hi = X.min(axis=0, keepdims=True), X.max(axis=0, keepdims=True)
        return Boxes.from_assignment(lo, hi, np.zeros(X.shape[0], dtype=np.int64))


@dataclass(eq=False, kw_only=True)
class _Unseeded(_OneBox):
    """Ignores random_state: a different box on every fit."""

    name = "unseeded"

    def _boxes(self, X, y, task, features) -> Boxes:  # type: ignore[no-untyped-def]
        b = super()._boxes(X, y, task, features)
        b.hi = b.hi + np.random.default_rng().random()
        return b


@dataclass(eq=False, kw_only=True)
class _Lenient(_OneBox):
    """Never validates width: a bad value crashes deep inside instead of a ConfigError."""

    name = "lenient"

    def _validate(self, n: int, d: int) -> None:
        self.width + 1  # noqa: B018 - TypeError on a string, the planted fault


def test_a_conforming_plugin_passes() -> None:
    check_generator(_OneBox)


def test_nondeterminism_is_caught() -> None:
    with pytest.raises(AssertionError, match="one random_state differ"):
        check_deterministic(_Unseeded, *regression_data(), "regression")
    with pytest.raises(AssertionError, match="check_deterministic"):
        check_generator(_Unseeded)


def test_a_parameter_that_escapes_validation_is_caught() -> None:
    with pytest.raises(AssertionError, match="width='not-a-valid-value' raised TypeError"):
        check_bad_parameters_raise_config_error(_Lenient, *regression_data(), "regression")
