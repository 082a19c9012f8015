"""ONNX node attributes and constant folding with numpy.

Subgraphs that depend only on initializers and constants (weight transposes, shape
arithmetic like ``Shape -> Gather -> Concat -> Reshape``) are evaluated here, so the torch
network only contains the operations applied to the input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autospec_cli.errors import ModelError

Value = Any  # np.ndarray (a constant) or a converter's computed tensor
FoldFn = Callable[[list[Any], dict[str, Any]], np.ndarray]


def attributes(node: Any) -> dict[str, Any]:
    """A node's attributes as Python values (tensors as numpy arrays, strings decoded)."""
    from onnx import AttributeProto, helper, numpy_helper

    out: dict[str, Any] = {}
    for a in node.attribute:
        if a.type == AttributeProto.TENSOR:
            out[a.name] = numpy_helper.to_array(a.t)
            continue
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def tensor_array(tensor: Any) -> np.ndarray:
    """An initializer as numpy (floating point widened to float64 for exact folding)."""
    from onnx import numpy_helper

    arr = numpy_helper.to_array(tensor)
    return arr.astype(np.float64) if np.issubdtype(arr.dtype, np.floating) else arr


def _constant(ins: list[Any], a: dict[str, Any]) -> np.ndarray:
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in a:
            arr = np.asarray(a[key])
            return arr.astype(np.float64) if np.issubdtype(arr.dtype, np.floating) else arr
    raise ModelError(f"Constant node with unsupported attribute(s) {sorted(a)}")


def reshape_target(in_shape: tuple[int, ...], target: np.ndarray,
                   allowzero: int = 0) -> tuple[int, ...]:
    """ONNX Reshape's output shape: 0 copies the input dimension (unless allowzero), -1 infers."""
    dims = [int(v) for v in np.asarray(target).reshape(-1)]
    out = [in_shape[i] if v == 0 and not allowzero else v for i, v in enumerate(dims)]
    total = int(np.prod(in_shape))
    if out.count(-1) > 1:
        raise ModelError(f"Reshape target {dims} has more than one -1")
    if -1 in out:
        known = int(np.prod([v for v in out if v != -1]))
        if known == 0 or total % known:
            raise ModelError(f"Reshape of {in_shape} to {dims} is impossible")
        out[out.index(-1)] = total // known
    if int(np.prod(out)) != total:
        raise ModelError(f"Reshape of {in_shape} to {dims} changes the number of elements")
    return tuple(out)


def flatten_shape(shape: tuple[int, ...], axis: int) -> tuple[int, int]:
    axis = axis + len(shape) if axis < 0 else axis
    return int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))


def axes_of(ins: list[Any], a: dict[str, Any], rank: int) -> list[int] | None:
    """Squeeze/Unsqueeze/Reduce axes from the attribute (old opsets) or the second input."""
    axes = a.get("axes")
    if axes is None and len(ins) > 1 and ins[1] is not None:
        if not isinstance(ins[1], np.ndarray):
            raise ModelError("axes computed from the input are not supported")
        axes = ins[1].reshape(-1).tolist()
    return None if axes is None else [int(x) + rank if int(x) < 0 else int(x) for x in axes]


def squeeze_shape(shape: tuple[int, ...], axes: list[int] | None) -> tuple[int, ...]:
    if axes is None:
        return tuple(d for d in shape if d != 1)
    if any(shape[i] != 1 for i in axes):
        raise ModelError(f"Squeeze of axes {axes} that are not 1 in shape {shape}")
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def unsqueeze_shape(shape: tuple[int, ...], ins: list[Any], a: dict[str, Any]) -> tuple[int, ...]:
    """Unsqueeze's output shape (axes normalised against the output rank)."""
    raw = axes_of(ins, a, 0)
    if raw is None:
        raise ModelError("Unsqueeze without axes")
    rank = len(shape) + len(raw)
    axes = [x + rank if x < 0 else x for x in raw]
    out = list(shape)
    for ax in sorted(axes):
        out.insert(ax, 1)
    return tuple(out)


def _cast(ins: list[Any], a: dict[str, Any]) -> np.ndarray:
    from onnx import helper

    return ins[0].astype(helper.tensor_dtype_to_np_dtype(a["to"]))


def _div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if np.issubdtype(x.dtype, np.integer) and np.issubdtype(y.dtype, np.integer):
        return np.trunc(x / y).astype(x.dtype)
    return x / y


def _slice(ins: list[Any], a: dict[str, Any]) -> np.ndarray:
    x = ins[0]
    if len(ins) > 1:
        starts, ends = ins[1].tolist(), ins[2].tolist()
        axes = ins[3].tolist() if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = ins[4].tolist() if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    else:
        starts, ends = a["starts"], a["ends"]
        axes, steps = a.get("axes", list(range(len(starts)))), [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
        index[ax] = slice(int(s), int(e), int(st))
    return x[tuple(index)]


def _shape(ins: list[Any], a: dict[str, Any]) -> np.ndarray:
    shape = np.asarray(ins[0].shape, dtype=np.int64)
    return shape[a.get("start", 0):a.get("end", None)]


def _pad(ins: list[Any], a: dict[str, Any]) -> np.ndarray:
    x = ins[0]
    pads = ins[1].reshape(-1).tolist() if len(ins) > 1 and ins[1] is not None else a["pads"]
    value = ins[2].reshape(-1)[0] if len(ins) > 2 and ins[2] is not None else a.get("value", 0)
    axes = list(range(x.ndim))
    if len(ins) > 3 and ins[3] is not None:
        axes = [int(v) % x.ndim for v in ins[3].reshape(-1)]
    if any(int(p) < 0 for p in pads):
        raise ModelError("Pad with negative pads is not supported")
    width = [(0, 0)] * x.ndim
    k = len(axes)
    for i, ax in enumerate(axes):
        width[ax] = (int(pads[i]), int(pads[i + k]))
    mode = a.get("mode", "constant")
    if mode == "constant":
        return np.pad(x, width, mode="constant", constant_values=value)
    if mode in ("reflect", "edge", "wrap"):
        return np.pad(x, width, mode=mode)
    raise ModelError(f"Pad mode {mode!r} is not supported")


def _reduce(fn: Callable[..., np.ndarray]) -> FoldFn:
    def fold(ins: list[Any], a: dict[str, Any]) -> np.ndarray:
        x = ins[0]
        axes = axes_of(ins, a, x.ndim)
        keep = bool(a.get("keepdims", 1))
        if not axes:
            if a.get("noop_with_empty_axes", 0):
                return x
            axes = list(range(x.ndim))
        return fn(x, axis=tuple(axes), keepdims=keep)

    return fold


def split_parts(ins: list[Any], a: dict[str, Any], n_outputs: int) -> list[np.ndarray]:
    """ONNX Split: sizes from the ``split`` input (opset >= 13) or attribute, else
    ``n_outputs`` chunks of ``ceil(dim / n)`` (the last one smaller)."""
    x = ins[0]
    axis = int(a.get("axis", 0)) % x.ndim
    sizes = a.get("split")
    if len(ins) > 1 and ins[1] is not None:
        sizes = ins[1].reshape(-1).tolist()
    dim = x.shape[axis]
    if sizes is None:
        chunk = -(-dim // n_outputs)
        sizes = [min(chunk, dim - k * chunk) for k in range(n_outputs)]
    sizes = [int(v) for v in sizes]
    if len(sizes) != n_outputs or sum(sizes) != dim or min(sizes) < 0:
        raise ModelError(f"Split sizes {sizes} do not cut an axis of {dim} into {n_outputs}")
    return np.split(x, np.cumsum(sizes)[:-1].tolist(), axis=axis)


def _expand(ins: list[Any], a: dict[str, Any]) -> np.ndarray:
    shape = tuple(int(v) for v in ins[1].reshape(-1))
    return np.broadcast_to(ins[0], np.broadcast_shapes(ins[0].shape, shape)).copy()


FOLD: dict[str, FoldFn] = {
    "Constant": _constant,
    "Identity": lambda i, a: i[0],
    "Dropout": lambda i, a: i[0],
    "Cast": _cast,
    "Add": lambda i, a: i[0] + i[1],
    "Sub": lambda i, a: i[0] - i[1],
    "Mul": lambda i, a: i[0] * i[1],
    "Div": lambda i, a: _div(i[0], i[1]),
    "Neg": lambda i, a: -i[0],
    "Sqrt": lambda i, a: np.sqrt(i[0]),
    "Reciprocal": lambda i, a: 1.0 / i[0],
    "MatMul": lambda i, a: np.matmul(i[0], i[1]),
    "Transpose": lambda i, a: np.transpose(i[0], a.get("perm")),
    "Reshape": lambda i, a: i[0].reshape(reshape_target(i[0].shape, i[1], a.get("allowzero", 0))),
    "Flatten": lambda i, a: i[0].reshape(flatten_shape(i[0].shape, a.get("axis", 1))),
    "Squeeze": lambda i, a: i[0].reshape(squeeze_shape(i[0].shape, axes_of(i, a, i[0].ndim))),
    "Unsqueeze": lambda i, a: i[0].reshape(unsqueeze_shape(i[0].shape, i, a)),
    "Concat": lambda i, a: np.concatenate([x for x in i if x is not None], axis=a["axis"]),
    "Gather": lambda i, a: np.take(i[0], i[1], axis=a.get("axis", 0)),
    "Slice": _slice,
    "Shape": _shape,
    "Pad": _pad,
    "Expand": _expand,
    "Tile": lambda i, a: np.tile(i[0], [int(v) for v in i[1].reshape(-1)]),
    "ReduceSum": _reduce(np.sum),
    "ReduceMean": _reduce(np.mean),
    "ConstantOfShape": lambda i, a: np.full(
        tuple(int(v) for v in i[0]), np.asarray(a.get("value", np.zeros(1))).reshape(-1)[0]),
}
