"""Conformance suites for plug-in authors: run them in your own tests.

- :mod:`autospec_cli.testing.verifiers`: what every verifier backend must do on tiny
  problems with known verdicts (soundness, valid counterexamples, the declared capabilities).
- :mod:`autospec_cli.testing.generators`: the estimator contract every specification
  generator meets (``check_generator``).

Both are plain functions raising ``AssertionError`` with a message saying what failed, plus a
pytest mixin for the verifiers. pytest is not a dependency of this package: the mixin imports
it only when a test skips.
"""

from __future__ import annotations

from autospec_cli.exports import lazy_exports

_EXPORTS = {
    "check_verifier": "verifiers",
    "VerifierConformance": "verifiers",
    "check_generator": "generators",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
