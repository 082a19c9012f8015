"""Finding generators by name, and mining a :class:`SpecSet` from a :class:`Dataset`.

Generators are plug-ins: a package declares them in the entry-point group
``autospec_cli.generators`` (``name = "module:Class"``); this package declares its own four
the same way in ``pyproject.toml``. When the package metadata is missing (running from a
source tree that was never installed) the built-in mapping below is used. Entry points are
read and classes imported only when a generator is asked for.
"""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import entry_points
from typing import Any

from autospec_cli.data.dataset import Dataset
from autospec_cli.errors import ConfigError
from autospec_cli.progress import ProgressFn
from autospec_cli.specs.generators.base import SpecGenerator
from autospec_cli.specs.model import SpecSet

GROUP = "autospec_cli.generators"

BUILTIN: dict[str, str] = {
    "grid": "autospec_cli.specs.generators.grid:GridGenerator",
    "cluster": "autospec_cli.specs.generators.cluster:ClusterGenerator",
    "tree": "autospec_cli.specs.generators.tree:TreeGenerator",
    "human": "autospec_cli.specs.generators.human:HumanGenerator",
}


def _targets() -> dict[str, str]:
    """Generator name -> ``module:attr``: built-ins, then entry points (which may override)."""
    found = dict(BUILTIN)
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep.value
    return found


def available_generators() -> list[str]:
    """Names of every registered generator, sorted."""
    return sorted(_targets())


def generator_class(name: str) -> type[SpecGenerator]:
    """The generator class registered as ``name``; :class:`ConfigError` if unknown."""
    targets = _targets()
    if name not in targets:
        raise ConfigError(
            f"unknown generator {name!r}; choose one of {', '.join(sorted(targets))}"
        )
    module, _, attr = targets[name].partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"generator {name!r} ({targets[name]}) cannot be loaded: {e}") from None
    if not (inspect.isclass(obj) and issubclass(obj, SpecGenerator)):
        raise ConfigError(f"generator {name!r} ({targets[name]}) is not a SpecGenerator class")
    return obj


def generator_params(name: str) -> dict[str, Any]:
    """The hyperparameters of generator ``name`` with their defaults."""
    return generator_class(name)().get_params()


def get_generator(name: str, **params: Any) -> SpecGenerator:
    """An unfitted generator ``name`` with the given hyperparameters (checked at fit time)."""
    cls = generator_class(name)
    known = cls().get_params()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(
            f"generator {name!r} has no parameter {', '.join(unknown)}; "
            f"its parameters are {', '.join(known) or 'none'}"
        )
    return cls(**params)


def generate_specs(
    dataset: Dataset, algo: str, *, seed: int = 0, progress: ProgressFn | None = None,
    **params: Any,
) -> SpecSet:
    """Mine a spec set from ``dataset`` with generator ``algo``, recording its provenance.

    ``seed`` becomes the generator's ``random_state`` unless ``params`` sets one. The set
    records the algorithm, ``get_params()``, the dataset (sha256, name, size), the input
    domain (per-feature min and max of the generation data) and the class names.
    """
    if "random_state" in generator_params(algo) and "random_state" not in params:
        params["random_state"] = seed
    gen = get_generator(algo, **params)
    if progress is not None:
        progress(f"mining {algo} specs", 0, 1)
    gen.fit(dataset.X, dataset.y, task=dataset.task, features=dataset.features)
    if progress is not None:
        progress(f"mining {algo} specs", 1, 1)
    return SpecSet(
        task=dataset.task, features=list(dataset.features), algorithm=algo, specs=gen.specs_,
        params=gen.get_params(),
        dataset={"sha256": dataset.sha256(), "name": dataset.name, "n": dataset.n},
        domain=(dataset.X.min(axis=0), dataset.X.max(axis=0)),
        classes=None if dataset.classes is None else list(dataset.classes),
    )
