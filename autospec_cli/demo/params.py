"""The demo's fixed settings, shared by its specification and verification parts."""

from __future__ import annotations

from typing import Any

#: Generator hyperparameters used by the demo, per dataset (recorded in summary.json).
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
}
