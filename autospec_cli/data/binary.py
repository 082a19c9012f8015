"""Benign-vs-attack labels: every attack class merged into one.

Intrusion-detection data (CIC-IDS2017 flows, NSL-KDD with ``label="label"``) name the attack
of each row; AutoSpec's intrusion experiment also runs as a two-class task. :func:`binary_labels`
maps the benign class (named ``BENIGN``, ``benign`` or ``normal``, in any case) to 0 and
every other class to 1, naming the classes ``benign`` and ``attack``; which original classes
went where is kept in ``meta["binary_labels"]``.
"""

from __future__ import annotations

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.errors import ConfigError

BENIGN_NAMES: tuple[str, ...] = ("benign", "normal")
CLASSES: list[str] = ["benign", "attack"]
META_KEY = "binary_labels"


def benign_class(classes: list[str]) -> int:
    """The index of the benign class (``BENIGN`` / ``normal``, case-insensitive)."""
    found = [i for i, c in enumerate(classes) if str(c).strip().lower() in BENIGN_NAMES]
    if len(found) != 1:
        shown = ", ".join(map(repr, classes[:8])) + (", ..." if len(classes) > 8 else "")
        what = "none" if not found else "more than one"
        raise ConfigError(f"binary labels need exactly one benign class (BENIGN or normal); "
                          f"{what} among the classes {shown}", param="binary_labels")
    return found[0]


def binary_labels(ds: Dataset) -> Dataset:
    """``ds`` with labels benign = 0, attack = 1 (a classification dataset with a benign
    class); a dataset already in that form is returned unchanged."""
    if ds.task != "classification" or not ds.classes:
        raise ConfigError(f"binary labels apply to classification data with named classes; "
                          f"{ds.name or 'the dataset'} is {ds.task}", param="binary_labels")
    if list(ds.classes) == CLASSES:
        return ds
    b = benign_class(list(ds.classes))
    y = (ds.y != b).astype(np.int64)
    meta = dict(ds.meta)
    meta[META_KEY] = {"benign": ds.classes[b],
                      "attack": [c for i, c in enumerate(ds.classes) if i != b]}
    return Dataset(X=ds.X, y=y, features=list(ds.features), task="classification",
                   name=ds.name, classes=list(CLASSES), groups=ds.groups, meta=meta)
