"""The demo's fixed settings, shared by its specification and verification parts."""

from __future__ import annotations

from typing import Any

#: Generator hyperparameters used by the demo, per dataset and row (recorded in summary.json).
#: A row's name is its generator, or ``generator-variant`` for a second setting of one.
#: ``throughput-labelled`` is the throughput data with the target cut into bins (§5.2).
DEMO_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "spiral": {
        "grid": {"beta": 10},
        "cluster": {"k": 30},
        "tree": {"max_depth": 8, "min_samples_leaf": 3},
    },
    "throughput": {
        "grid": {"beta": 10},
        "cluster": {"k": 30},
        "tree": {"max_depth": 6, "min_samples_leaf": 20},
        "human": {},
    },
    "throughput-labelled": {
        "grid": {"beta": 10},
        "cluster": {"k": 30},
        "tree": {"max_depth": 6, "min_samples_leaf": 20},
        "human": {},
        "human-level-stable": {"rules": "level,stable"},
    },
}

#: The paper's published comparison on throughput (AutoSpec §5.2): the tree's F1 over the
#: next best generator and over the human rules, as relative gains.
PAPER_GAINS: dict[str, float] = {"next best generator": 0.18, "human rules": 0.39}


def algorithm_of(row: str) -> str:
    """The generator of a demo row (``human-level-stable`` -> ``human``)."""
    return row.split("-", 1)[0]
