"""Verifiers: the backend contract, the registry, running one instance, counterexample
checks, the shared falsification loop and the model/property loading cache."""

from __future__ import annotations

from autospec_cli.exports import lazy_exports

_EXPORTS = {
    "Verifier": "base",
    "Verdict": "base",
    "Instance": "base",
    "Result": "base",
    "Counterexample": "base",
    "Parameter": "base",
    "VERIFIERS": "registry",
    "make_backend": "registry",
    "get_backend_class": "registry",
    "backend_names": "registry",
    "describe_backends": "registry",
    "run_one": "runner",
    "run_instances": "runner",
    "check_counterexample": "cex",
    "descend": "falsify",
    "PGDConfig": "falsify",
    "load_property": "loading",
    "onnx_runner": "loading",
    "load_torch_model": "loading",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
