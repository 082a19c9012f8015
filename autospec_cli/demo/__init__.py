"""The main job on built-in data (``autospec demo``): AutoSpec end to end, then verification.

- :mod:`~autospec_cli.demo.params`: the generator settings and alpha sweep the demo uses;
- :mod:`~autospec_cli.demo.pipeline`: split, mine, score and plot every spec set, then call
- :mod:`~autospec_cli.demo.verification`: train the §5.3 throughput model, export its tree
  specifications as a VNN-COMP benchmark, verify them and draw the Figure 6 counterexamples.
"""

from autospec_cli.demo.params import DEMO_PARAMS
from autospec_cli.demo.pipeline import ALPHA_SWEEP, DemoConfig, results_markdown, run_demo

__all__ = ["ALPHA_SWEEP", "DEMO_PARAMS", "DemoConfig", "results_markdown", "run_demo"]
