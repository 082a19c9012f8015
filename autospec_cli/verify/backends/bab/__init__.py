"""The complete branch-and-bound backend ``bab``: its search and its float64 CROWN bounds.

- :mod:`~autospec_cli.verify.backends.bab.backend`: :class:`BabVerifier`, options, fallbacks;
- :mod:`~autospec_cli.verify.backends.bab.search`: the box search and its soundness argument;
- :mod:`~autospec_cli.verify.backends.bab.crown`: batched float64 CROWN for affine/ReLU nets.
"""

from autospec_cli.verify.backends.bab.backend import BabVerifier

__all__ = ["BabVerifier"]
