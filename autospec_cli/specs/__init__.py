"""Specifications: the Spec / SpecSet model, generators behind one registry, metrics, plots."""

from __future__ import annotations

from autospec_cli.exports import lazy_exports

_EXPORTS = {
    "Spec": "model",
    "SpecSet": "model",
    "evaluate_specs": "metrics",
    "SpecMetrics": "metrics",
    "plot_specs_2d": "plot",
    "SpecGenerator": "generators.base",
    "generate_specs": "generators.registry",
    "GENERATORS": "generators.registry",
    "get_generator": "generators.registry",
    "available_generators": "generators.registry",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
