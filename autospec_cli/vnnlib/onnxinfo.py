"""The input and output tensor shapes of an ONNX model, as a VNN-LIB property sees them.

``X_i`` / ``Y_j`` index the model's single input / output tensor flattened in row-major
order, so a property fits a model when the element counts agree. A symbolic (dynamic) first
dimension is the batch and counts as 1; any other symbolic dimension is an error.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autospec_cli.errors import ModelError
from autospec_cli.models.runtime import unpacked_onnx


@dataclass(frozen=True)
class ModelIO:
    """Declared shapes (batch included, dynamic batch as 1) and flattened sizes."""

    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]

    @property
    def n_inputs(self) -> int:
        return math.prod(self.input_shape)

    @property
    def n_outputs(self) -> int:
        return math.prod(self.output_shape)


def _dims(value_info: Any, what: str, name: str) -> tuple[int, ...]:
    dims = []
    for k, d in enumerate(value_info.type.tensor_type.shape.dim):
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        elif k == 0:
            dims.append(1)
        else:
            raise ModelError(f"{name}: {what} dimension {k} is symbolic; fix it to a number")
    return tuple(dims) or (1,)


def model_io(path: str | os.PathLike[str]) -> ModelIO:
    """Read the single input and output shapes of the ONNX model at ``path`` (``.gz`` ok)."""
    import onnx

    p = Path(path)
    if not p.is_file():
        raise ModelError(f"ONNX model {p} does not exist")
    try:
        model = onnx.load_from_string(unpacked_onnx(p).read_bytes())
    except Exception as e:  # noqa: BLE001 - protobuf and gzip raise several types
        raise ModelError(f"{p}: not a readable ONNX model ({' '.join(str(e).split())})") from None
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise ModelError(f"{p}: VNN-LIB export needs one input and one output tensor "
                         f"(found {len(inputs)} and {len(model.graph.output)})")
    return ModelIO(_dims(inputs[0], "input", str(p)),
                   _dims(model.graph.output[0], "output", str(p)))
