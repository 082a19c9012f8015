"""Specification generators (AutoSpec Algorithms 2-4 and the human throughput rules).

Every generator follows one contract (:class:`SpecGenerator`) and is registered under the
entry-point group ``autospec_cli.generators``; :func:`generate_specs` mines a
:class:`~autospec_cli.specs.model.SpecSet` from a dataset with the named one.
"""

from autospec_cli.specs.generators.base import Boxes, SpecGenerator
from autospec_cli.specs.generators.registry import (
    GENERATORS,
    available_generators,
    generate_specs,
    generator_class,
    generator_params,
    get_generator,
    parse_generator_options,
)

__all__ = [
    "Boxes",
    "GENERATORS",
    "SpecGenerator",
    "available_generators",
    "generate_specs",
    "generator_class",
    "generator_params",
    "get_generator",
    "parse_generator_options",
]
