"""GDVB campaign job functions (``fn(params) -> dict``, imported by workers by name).

- ``autospec_cli.bench.distill_jobs:train_problem``: distil one transformed network for one
  training seed and export it to ONNX under the campaign folder.

GDVB's verification jobs are the ``verify.instance`` jobs of :mod:`autospec_cli.verifyrun.jobs`
(see :mod:`autospec_cli.bench.run`). Paths in params are absolute, so any worker that sees the
campaign folder (a shared file system for Dask workers on other machines) can run them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

TRAIN_KIND = "autospec_cli.bench.distill_jobs:train_problem"


def _finite(metrics: dict[str, float]) -> dict[str, float | None]:
    return {k: (float(v) if math.isfinite(float(v)) else None) for k, v in metrics.items()}


def train_problem(params: dict[str, Any]) -> dict[str, Any]:
    """Distil ``params["arch"]`` from ``params["teacher"]`` for training seed ``params["seed"]``
    and write ``params["onnx"]`` (absolute path). Returns the metrics and the neuron count."""
    import torch

    from autospec_cli.bench.distill import DEFAULT_INPUT_NORM, distill, export_net, load_teacher
    from autospec_cli.bench.problems import load_seed_data, map_inputs
    from autospec_cli.bench.transform import NetSpec

    torch.set_num_threads(int(params.get("threads", 1)))
    spec = NetSpec.from_dict(params["arch"])
    d = params["data"]
    data = load_seed_data(d["source"], d["input_shape"], split_seed=int(d["split_seed"]),
                          test_fraction=float(d["test_fraction"]))
    teacher = load_teacher(params["teacher"])
    ids = float(params["ids"])
    net = distill(teacher, spec, data, ids=ids, seed=int(params["seed"]),
                  epochs=int(params["epochs"]), lr=float(params["lr"]),
                  batch=int(params["batch"]),
                  input_norm=str(params.get("input_norm", DEFAULT_INPUT_NORM)))
    sample = map_inputs(data.X_test[:16], data.input_shape, spec.input_shape, ids)
    out = Path(params["onnx"])
    out.parent.mkdir(parents=True, exist_ok=True)
    export_net(net.model, spec, out, sample)
    return {"onnx": str(out), "neurons": spec.neurons, "layers": spec.n_layers,
            **_finite(net.metrics)}

