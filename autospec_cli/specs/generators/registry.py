"""Finding generators by name, and mining a :class:`SpecSet` from a :class:`Dataset`.

Generators are plug-ins of the entry-point group ``autospec_cli.generators``
(``name = "module:Class"``); this package declares its own four the same way in
``pyproject.toml``. :data:`GENERATORS` is a :class:`autospec_cli.plugins.Registry`, with the
precedence, errors and lazy loading every kind of plug-in shares.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from autospec_cli.data.bins import dataset_edges
from autospec_cli.data.dataset import Dataset
from autospec_cli.data.kinds import kinds_of
from autospec_cli.errors import ParameterError
from autospec_cli.params import parse_pairs
from autospec_cli.plugins import Registry
from autospec_cli.progress import ProgressFn
from autospec_cli.specs.generators.base import SpecGenerator
from autospec_cli.specs.model import SpecSet

GROUP = "autospec_cli.generators"

#: The spec generators (see :mod:`autospec_cli.plugins` for where they come from).
GENERATORS: Registry[type[SpecGenerator]] = Registry("generator", GROUP, base=SpecGenerator)


def available_generators() -> list[str]:
    """Names of every registered generator, sorted."""
    return GENERATORS.names()


def generator_class(name: str) -> type[SpecGenerator]:
    """The generator class registered as ``name``; :class:`PluginError` if unknown."""
    return GENERATORS.load(name)


def parse_generator_options(name: str, pairs: Iterable[str]) -> dict[str, Any]:
    """Parse ``key=value`` strings against generator ``name``'s declared parameters."""
    return parse_pairs(generator_class(name).parameters, pairs, f"generator {name}")


def generator_params(name: str) -> dict[str, Any]:
    """The hyperparameters of generator ``name`` with their defaults."""
    return generator_class(name)().get_params()


def get_generator(name: str, **params: Any) -> SpecGenerator:
    """An unfitted generator ``name`` with the given hyperparameters (checked at fit time)."""
    cls = generator_class(name)
    known = cls().get_params()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ParameterError(
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
    domain (per-feature min and max of the generation data), the class names and, for a
    labelled (binned) target, the bin edges (given to the generator's ``fit`` too).
    """
    dataset.require_classes("mining classification specifications")
    if "random_state" in generator_params(algo) and "random_state" not in params:
        params["random_state"] = seed
    gen = get_generator(algo, **params)
    if progress is not None:
        progress(f"mining {algo} specs", 0, 1)
    edges = dataset_edges(dataset)
    gen.fit(dataset.X, dataset.y, task=dataset.task, features=dataset.features,
            target_bins=edges)
    if progress is not None:
        progress(f"mining {algo} specs", 1, 1)
    return SpecSet(
        task=dataset.task, features=list(dataset.features), algorithm=algo, specs=gen.specs_,
        params=gen.get_params(),
        dataset={"sha256": dataset.sha256(), "name": dataset.name, "n": dataset.n},
        domain=(dataset.X.min(axis=0), dataset.X.max(axis=0)),
        classes=None if dataset.classes is None else list(dataset.classes),
        target_bins=edges,
        feature_kinds=kinds_of(dataset.meta) or None,
    )
