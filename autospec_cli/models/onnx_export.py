"""Export torch models to ONNX (one file, batch axis free) and check the result.

Uses the TorchScript exporter (``torch.onnx.export(dynamo=False)``): the dynamo exporter in
torch 2.13 fixes the batch to 1 and writes a side ``.onnx.data`` file. Models with a
``folded()`` method (:class:`~.arch.MLP`, :class:`~.arch.ConvNet`) are exported in folded
form, so the graph maps raw inputs to raw outputs with no normalisation nodes. The file is
checked with ``onnx.checker`` and compared with the torch model through onnxruntime before it
is moved into place; a mismatch raises :class:`ModelError` and leaves nothing behind.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from autospec_cli.errors import ModelError
from autospec_cli.io import atomic_path
from autospec_cli.models.runtime import OnnxRunner


def export_module(model: nn.Module) -> nn.Module:
    """The module that gets exported: ``model.folded()`` when available, in eval mode."""
    folded = getattr(model, "folded", None)
    module = folded() if callable(folded) else model
    return module.eval()


def compare_outputs(expected: np.ndarray, actual: np.ndarray, *, rtol: float = 1e-4,
                    atol: float = 1e-4) -> float:
    """Largest violation of ``|a - e| <= atol·max(1, max|e|) + rtol·|e|`` (<= 0 means equal)."""
    e = np.asarray(expected, dtype=np.float64).reshape(len(expected), -1)
    a = np.asarray(actual, dtype=np.float64).reshape(e.shape)
    scale = max(1.0, float(np.abs(e).max(initial=0.0)))
    return float(np.max(np.abs(a - e) - (atol * scale + rtol * np.abs(e)), initial=-1.0))


def export_onnx(
    model: nn.Module,
    input_shape: Sequence[int],
    path: str | os.PathLike[str],
    *,
    force: bool = False,
    opset: int = 17,
    fold: bool = True,
    sample_inputs: np.ndarray | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-4,
) -> Path:
    """Write ``model`` as ONNX to ``path`` (atomically) and return the path.

    ``input_shape`` is one sample's shape without the batch (e.g. ``(4,)`` or ``(1, 28, 28)``);
    the graph's input is ``input`` of shape ``(batch, *input_shape)``, its output ``output``.
    The file is checked (``onnx.checker``) and its onnxruntime outputs are compared with the
    torch model's on ``sample_inputs`` (rows of raw inputs; default 16 random rows) within
    ``rtol``/``atol`` (relative to the output scale). Refuses to overwrite without ``force``.
    """
    module = export_module(model) if fold else model.eval()
    shape = tuple(int(v) for v in input_shape)
    x = _check_inputs(sample_inputs, shape)
    with torch.no_grad():
        expected = model.eval()(torch.as_tensor(x)).reshape(len(x), -1).numpy()
    with atomic_path(path, force=force) as tmp:
        _torch_export(module, shape, tmp, opset)
        check_onnx_file(tmp, x, expected, rtol=rtol, atol=atol)
    return Path(path)


def _check_inputs(sample_inputs: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if sample_inputs is None:
        rng = np.random.default_rng(0)
        return rng.standard_normal((16, *shape)).astype(np.float32)
    x = np.asarray(sample_inputs, dtype=np.float32)
    n = int(np.prod(shape))
    if x.size % n or len(x) == 0:
        raise ModelError(f"sample inputs of shape {x.shape} do not fit the input shape {shape}")
    return x.reshape(-1, *shape)


def _torch_export(module: nn.Module, shape: tuple[int, ...], dest: Path, opset: int) -> None:
    dummy = torch.zeros(2, *shape)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, (dummy,), str(dest), dynamo=False, opset_version=opset,
                input_names=["input"], output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                do_constant_folding=True,
            )
    except Exception as e:  # noqa: BLE001 - the exporter raises many types
        first = str(e).splitlines()[0] if str(e) else ""
        raise ModelError(f"ONNX export failed: {type(e).__name__}: {first}") from None


def check_onnx_file(path: str | os.PathLike[str], x: np.ndarray, expected: np.ndarray, *,
                    rtol: float = 1e-4, atol: float = 1e-4) -> Any:
    """``onnx.checker`` plus an onnxruntime run of ``x`` against ``expected`` outputs."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"exported ONNX fails the checker: {str(e).splitlines()[0]}") from None
    runner = OnnxRunner(path)
    if runner.batch_mode != "native":
        raise ModelError("exported ONNX model does not accept a batch")
    worst = compare_outputs(expected, runner.run(x), rtol=rtol, atol=atol)
    if worst > 0:
        raise ModelError(f"exported ONNX model disagrees with the torch model by up to {worst:.3g} "
                         "beyond tolerance; the export is unreliable for this architecture")
    return runner
