"""Fixtures for the VNN-LIB tests: tiny ONNX models built with onnx.helper (no torch)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest


def linear_onnx(path: Path, W: np.ndarray, b: np.ndarray | None = None,
                input_shape: list | None = None) -> Path:
    """Write ``y = W x + b`` as an ONNX model (input ``[N, d]`` with a symbolic batch)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    W = np.asarray(W, dtype=np.float32)
    k, d = W.shape
    b = np.zeros(k, dtype=np.float32) if b is None else np.asarray(b, dtype=np.float32)
    shape = input_shape or ["N", d]
    nodes = []
    src = "x"
    if len(shape) != 2:
        nodes.append(helper.make_node("Flatten", ["x"], ["xf"], axis=1))
        src = "xf"
    nodes.append(helper.make_node("Gemm", [src, "W", "b"], ["y"], transB=1))
    graph = helper.make_graph(
        nodes, "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", k])],
        initializer=[numpy_helper.from_array(W, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.fixture()
def make_onnx(tmp_path: Path) -> Callable[..., Path]:
    """``make_onnx(W, b=None, name="net.onnx", input_shape=None)`` -> path of a linear model."""

    def make(W: np.ndarray, b: np.ndarray | None = None, name: str = "net.onnx",
             input_shape: list | None = None) -> Path:
        return linear_onnx(tmp_path / "models" / name, np.asarray(W), b, input_shape)

    return make
