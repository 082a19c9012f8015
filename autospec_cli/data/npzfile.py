"""NPZ datasets: our own format (written by ``Dataset.save_npz``) or any NPZ with ``X``, ``y``."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.data.generic import encode_classes, infer_task
from autospec_cli.data.kinds import META_KEY as KINDS_KEY
from autospec_cli.data.kinds import FeatureKinds
from autospec_cli.data.nonfinite import apply_nan_policy
from autospec_cli.data.table import check_file
from autospec_cli.errors import InputError


def load_npz(
    path: str | os.PathLike[str], *, task: str | None = None, nan_policy: str = "drop"
) -> Dataset:
    """Our NPZ format (``Dataset.save_npz``) exactly, or a generic NPZ with ``X`` and ``y``.

    A generic ``X`` with more than two dimensions (images) is flattened row-major; its
    features are named ``x0, x1, ...`` and its task inferred like a CSV label column.
    """
    p = check_file(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"{p}: not a readable NPZ file ({e})") from None
    missing = [k for k in ("X", "y") if k not in arrays]
    if missing:
        raise InputError(
            f"{p}: NPZ without array(s) {', '.join(missing)}; "
            f"it has {', '.join(sorted(arrays)) or 'none'}"
        )
    X, y = arrays["X"], arrays["y"]
    if X.ndim < 2 or y.ndim != 1 or len(y) != len(X):
        raise InputError(f"{p}: X must be (n, ...) and y (n,), got {X.shape} and {y.shape}")
    if len(y) == 0:
        raise InputError(f"{p} has no data rows")
    meta: dict = {"format": "npz", "source": str(p)}
    if X.ndim > 2:
        meta["input_shape"] = list(X.shape[1:])
        X = X.reshape(len(X), -1)
    if "task" in arrays and "features" in arrays:
        ds = Dataset(
            X=X,
            y=y,
            features=[str(f) for f in arrays["features"]],
            task=str(arrays["task"]),  # type: ignore[arg-type]
            name=str(arrays.get("name", p.stem)) or p.stem,
            classes=[str(c) for c in arrays["classes"]] if "classes" in arrays else None,
            groups=arrays.get("groups"),
            meta=meta,
        )
        if "target_bin_edges" in arrays:  # written by save_npz for binned targets
            edges = arrays["target_bin_edges"].astype(np.float64)
            ds.meta["target_bins"] = {"edges": edges.tolist(), "n": int(edges.size - 1)}
        if "feature_kinds" in arrays:  # written by save_npz: integer / one-hot features
            try:
                kinds = FeatureKinds.from_json(json.loads(str(arrays["feature_kinds"])))
            except ValueError as e:
                raise InputError(f"{p}: malformed feature_kinds ({e})") from None
            kinds.check_features(ds.features)
            ds.meta[KINDS_KEY] = kinds.to_json()
    else:
        ds = _generic_npz(X, y, task, p, meta)
    X2, y2, keep, nan_meta = apply_nan_policy(
        ds.X, ds.y, ds.features, nan_policy, source=str(p), regression=ds.task == "regression"
    )
    if not keep.all():
        ds = Dataset(
            X=X2,
            y=y2,
            features=ds.features,
            task=ds.task,
            name=ds.name,
            classes=ds.classes,
            groups=None if ds.groups is None else ds.groups[keep],
            meta=ds.meta,
        )
    else:
        ds.X, ds.y = X2, y2
    ds.meta.update(nan_meta)
    return ds


def _generic_npz(X: np.ndarray, y: np.ndarray, task: str | None, p: Path, meta: dict) -> Dataset:
    features = [f"x{j}" for j in range(X.shape[1])]
    if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
        raise InputError(f"{p}: X holds {X.dtype} values; it must be numeric")
    task = task or infer_task([str(v) for v in y.tolist()])
    if task == "regression":
        if not np.issubdtype(y.dtype, np.number):
            raise InputError(f"{p}: y holds {y.dtype} values; a regression target must be numeric")
        return Dataset(X=X, y=y, features=features, task="regression", name=p.stem, meta=meta)
    codes, classes = encode_classes([str(v) for v in y.tolist()])
    return Dataset(
        X=X,
        y=codes,
        features=features,
        task="classification",
        name=p.stem,
        classes=classes,
        meta=meta,
    )
