"""The verifier conformance suite, shipped as :mod:`autospec_cli.testing.verifiers`.

The backend test files import it under this name (``from conformance import ...``);
``BackendConformance`` is the suite's pytest mixin.
"""

from __future__ import annotations

from autospec_cli.testing.verifiers import (
    VERDICTS,
    Problem,
    build_problems,
    save_model,
    vnnlib_text,
    write_benchmark_folder,
)
from autospec_cli.testing.verifiers import VerifierConformance as BackendConformance

__all__ = [
    "VERDICTS",
    "BackendConformance",
    "Problem",
    "build_problems",
    "save_model",
    "vnnlib_text",
    "write_benchmark_folder",
]
