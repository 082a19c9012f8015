"""VNN-LIB properties: the case model, builders, writers (1.0 and 2.0), readers and the
VNN-COMP benchmark folder.

A property describes the *counterexample region* (``sat`` = the specification is violated);
see :mod:`autospec_cli.vnnlib.property` for the case form every part shares.
"""

from autospec_cli.vnnlib.benchmark import (
    BenchmarkItem,
    BenchmarkRow,
    read_benchmark,
    read_instances,
    read_manifest,
    write_benchmark,
)
from autospec_cli.vnnlib.builders import (
    classification_property,
    regression_property,
    robustness_property,
    spec_to_property,
)
from autospec_cli.vnnlib.property import Case, Polytope, Property
from autospec_cli.vnnlib.reader import read_vnnlib
from autospec_cli.vnnlib.writer import render_vnnlib1, render_vnnlib2, write_vnnlib

__all__ = [
    "BenchmarkItem",
    "BenchmarkRow",
    "Case",
    "Polytope",
    "Property",
    "classification_property",
    "read_benchmark",
    "read_instances",
    "read_manifest",
    "read_vnnlib",
    "regression_property",
    "render_vnnlib1",
    "render_vnnlib2",
    "robustness_property",
    "spec_to_property",
    "write_benchmark",
    "write_vnnlib",
]
