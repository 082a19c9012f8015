"""The contract every specification generator meets (scikit-learn's ``check_estimator`` idea).

A generator is a keyword-only dataclass: the constructor stores hyperparameters unchanged,
``fit(X, y, *, task, features)`` validates them, learns ``specs_`` and returns the generator,
``get_params()`` reproduces it, and results are deterministic for a ``random_state``.
:func:`check_generator` runs every check below on a generator (a registered name or the class)
and raises ``AssertionError`` naming each one that failed::

    from autospec_cli.testing.generators import check_generator

    def test_my_generator():
        check_generator("mygen")          # or check_generator(MyGenerator)

Each ``check_*`` function can also be used alone. The data are small synthetic sets built here
(``regression_data``, ``classification_data``); pass your own ``X, y`` when a generator needs a
particular shape of data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from autospec_cli.errors import ConfigError
from autospec_cli.specs.generators.base import SpecGenerator
from autospec_cli.specs.generators.registry import generator_class

#: a value no hyperparameter accepts: every generator must refuse it with ConfigError at fit
BAD_VALUE = "not-a-valid-value"


def regression_data(n: int = 200, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Windows of a positive random walk: ``k`` past values -> the next one."""
    rng = np.random.default_rng(seed)
    series = np.abs(np.cumsum(rng.normal(0.0, 1.0, n + k)) + 50.0)
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], k).copy()
    return X, series[k:].copy()


def classification_data(n: int = 180, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs in 2-D with labels 0, 1, 2."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    y = np.arange(n) % 3
    return centres[y] + rng.normal(0.0, 0.8, (n, 2)), y


def generator_cls(generator: str | type[SpecGenerator]) -> type[SpecGenerator]:
    """The class of a registered generator name, or the class itself."""
    return generator_class(generator) if isinstance(generator, str) else generator


def _data(cls: type[SpecGenerator]) -> tuple[np.ndarray, np.ndarray, str]:
    if "regression" in cls.tasks:
        return (*regression_data(), "regression")
    return (*classification_data(), "classification")


def _fitting_with(cls: type[SpecGenerator], edges: np.ndarray) -> type[SpecGenerator]:
    """``cls`` whose ``fit`` always receives the bin edges ``edges``."""

    class WithBins(cls):  # type: ignore[valid-type, misc]
        def fit(self, X: Any, y: Any, *, task: str, features: Any = None,
                target_bins: Any = None) -> SpecGenerator:
            return super().fit(X, y, task=task, features=features, target_bins=edges)

    WithBins.__name__ = WithBins.__qualname__ = cls.__name__
    return WithBins


def _specs_json(gen: SpecGenerator) -> str:
    return json.dumps([s.to_json() for s in gen.specs_], sort_keys=True)


# -- the checks: each takes the class and generation data ---------------------------------------


def check_constructor_stores_parameters(
    cls: type[SpecGenerator], X: np.ndarray, y: np.ndarray, task: str
) -> None:
    defaults = cls().get_params()
    weird = {p: -7 for p in defaults}
    assert cls(**weird).get_params() == weird, "the constructor must store parameters unchanged"
    try:
        cls(1)  # type: ignore[call-arg]
    except TypeError:
        pass
    else:
        raise AssertionError("hyperparameters must be keyword-only")


def check_get_params_round_trip(
    cls: type[SpecGenerator], X: np.ndarray, y: np.ndarray, task: str
) -> None:
    params = cls().get_params()
    json.dumps(params)  # provenance is written to JSON
    assert cls(**params).get_params() == params, "cls(**get_params()) must reproduce it"


def check_fit_returns_self(
    cls: type[SpecGenerator], X: np.ndarray, y: np.ndarray, task: str
) -> None:
    gen = cls()
    assert gen.fit(X, y, task=task) is gen, "fit must return the generator"
    assert gen.specs_, "fit must mine at least one specification"
    assert gen.n_features_in_ == X.shape[1]


def check_deterministic(
    cls: type[SpecGenerator], X: np.ndarray, y: np.ndarray, task: str
) -> None:
    params = cls().get_params()
    seeded = {"random_state": 3} if "random_state" in params else {}
    a = cls(**seeded).fit(X, y, task=task)
    b = cls(**seeded).fit(X, y, task=task)
    assert _specs_json(a) == _specs_json(b), "two fits with one random_state differ"


def check_specs_inside_data_domain(
    cls: type[SpecGenerator], X: np.ndarray, y: np.ndarray, task: str
) -> None:
    specs = cls().fit(X, y, task=task).specs_
    lo_d, hi_d = X.min(axis=0), X.max(axis=0)
    assert len({s.id for s in specs}) == len(specs), "spec ids must be unique"
    for s in specs:
        assert s.lo.shape == s.hi.shape == (X.shape[1],), f"{s.id}: box of the wrong width"
        assert np.all(s.lo <= s.hi), f"{s.id}: lo > hi"
        assert np.all(s.lo <= hi_d) and np.all(s.hi >= lo_d), f"{s.id}: outside the data domain"
        assert 1 <= s.support <= X.shape[0], f"{s.id}: support {s.support}"
        if s.kind == "monotonic":  # a direction instead of an output constraint
            assert s.direction in ("increasing", "decreasing"), f"{s.id}: direction"
        elif task == "classification":
            assert s.label is not None and s.label in set(y.tolist()), f"{s.id}: label"
        else:
            assert s.y_lo is not None and s.y_hi is not None and s.y_lo <= s.y_hi, \
                f"{s.id}: output range"


def check_bad_parameters_raise_config_error(
    cls: type[SpecGenerator], X: np.ndarray, y: np.ndarray, task: str
) -> None:
    for name in cls().get_params():
        try:
            cls(**{name: BAD_VALUE}).fit(X, y, task=task)
        except ConfigError:
            continue
        except Exception as e:  # any other type escaping is the failure
            raise AssertionError(f"{name}={BAD_VALUE!r} raised {type(e).__name__}: {e}") from e
        raise AssertionError(f"{name}={BAD_VALUE!r} was accepted")


def check_task_refusals(
    cls: type[SpecGenerator], X: np.ndarray, y: np.ndarray, task: str
) -> None:
    unsupported = [t for t in ("classification", "regression") if t not in cls.tasks]
    for bad_task in ("ranking", *unsupported):
        try:
            cls().fit(X, y, task=bad_task)
        except ConfigError:
            continue
        raise AssertionError(f"task {bad_task!r} was accepted")


CHECKS: tuple[Callable[[type[SpecGenerator], np.ndarray, np.ndarray, str], None], ...] = (
    check_constructor_stores_parameters,
    check_get_params_round_trip,
    check_fit_returns_self,
    check_deterministic,
    check_specs_inside_data_domain,
    check_bad_parameters_raise_config_error,
    check_task_refusals,
)


def check_generator(
    generator: str | type[SpecGenerator],
    X: Any = None,
    y: Any = None,
    task: str | None = None,
    *,
    target_bins: Any = None,
) -> None:
    """Run every check; ``AssertionError`` lists the failed ones with their reasons.

    Without ``X, y`` the generator gets regression windows when it supports regression, else
    three labelled blobs. ``target_bins`` (labels that are bins of a real-valued target) is
    passed to every ``fit``.
    """
    cls = generator_cls(generator)
    if target_bins is not None:
        cls = _fitting_with(cls, np.asarray(target_bins, dtype=np.float64))
    if X is None or y is None or task is None:
        X, y, task = _data(cls)
    X, y = np.asarray(X), np.asarray(y)
    failures = []
    for check in CHECKS:
        try:
            check(cls, X, y, task)
        except AssertionError as e:
            failures.append(f"{check.__name__}: {e}")
    if failures:
        raise AssertionError(f"generator {cls.name}:\n  " + "\n  ".join(failures))
