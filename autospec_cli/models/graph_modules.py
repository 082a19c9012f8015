"""Small torch modules the ONNX converter builds networks from.

Every tensor carries a leading batch axis. Shape changes use ``reshape(-1, ...)`` with
constant shapes and the modules hold no Python control flow that depends on values, so
auto_LiRPA's tracer sees plain Reshape/Transpose/Concat/Add/Sub/Mul nodes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


class Reshape(nn.Module):
    """``x.reshape(-1, *shape)``: any ONNX Flatten/Reshape/Squeeze/Unsqueeze per sample."""

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(int(v) for v in shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Affine(nn.Module):
    """Elementwise ``x * scale + shift`` with constant buffers (batch axis first, size 1)."""

    def __init__(self, scale: np.ndarray, shift: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(np.asarray(scale, dtype=np.float32)))
        self.register_buffer("shift", torch.as_tensor(np.asarray(shift, dtype=np.float32)))

    scale: torch.Tensor
    shift: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


class Transpose(nn.Module):
    """ONNX Transpose ``perm`` on one sample of full ONNX shape ``in_full``."""

    def __init__(self, in_per: Sequence[int], in_full: Sequence[int], perm: Sequence[int],
                 out_per: Sequence[int]) -> None:
        super().__init__()
        self.in_full = tuple(in_full)
        self.reshape_in = tuple(in_per) != self.in_full
        self.perm = (0, *[int(p) + 1 for p in perm])
        self.out_per = tuple(out_per)
        self.reshape_out = tuple(self.in_full[p] for p in perm) != self.out_per

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.reshape_in:
            x = x.reshape(-1, *self.in_full)
        x = x.permute(*self.perm)
        return x.reshape(-1, *self.out_per) if self.reshape_out else x


class Concat(nn.Module):
    """ONNX Concat along ``axis`` of the full ONNX shapes of one sample."""

    def __init__(self, in_pers: Sequence[Sequence[int]], in_fulls: Sequence[Sequence[int]],
                 axis: int, out_full: Sequence[int], out_per: Sequence[int]) -> None:
        super().__init__()
        self.in_fulls = [tuple(f) if tuple(p) != tuple(f) else None
                         for p, f in zip(in_pers, in_fulls, strict=True)]
        self.dim = int(axis) + 1
        self.out_per = tuple(out_per) if tuple(out_per) != tuple(out_full) else None

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        parts = [x if f is None else x.reshape(-1, *f)
                 for x, f in zip(xs, self.in_fulls, strict=True)]
        y = torch.cat(parts, dim=self.dim)
        return y if self.out_per is None else y.reshape(-1, *self.out_per)


class Add(nn.Module):
    """``a + b`` of two computed tensors (residual connections)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class Sub(nn.Module):
    """``a - b`` of two computed tensors."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a - b


class GraphNet(nn.Module):
    """A DAG of modules: value 0 is the input, value ``i + 1`` the output of module ``i``
    applied to the values listed in ``wiring[i]``; returns value ``output``."""

    def __init__(self, modules: Sequence[nn.Module], wiring: Sequence[Sequence[int]],
                 output: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(modules)
        self.wiring = [tuple(int(i) for i in w) for w in wiring]
        self.output = int(output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = [x]
        for layer, ins in zip(self.layers, self.wiring, strict=True):
            values.append(layer(*[values[i] for i in ins]))
        return values[self.output]


class Trunc(nn.Module):
    """ONNX Cast of a float tensor to a signed integer type: rounding toward zero."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.trunc(x)


class NonZero(nn.Module):
    """ONNX Cast to BOOL (read back as a number): 1 where ``x != 0``, else 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x != 0).to(x.dtype) + 0 * x  # "+ 0 * x": a (zero) gradient for attacks


class Positive(nn.Module):
    """ONNX Greater / Less against a constant (after moving it to the left): 1 where
    ``x > 0``, else 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > 0).to(x.dtype) + 0 * x  # "+ 0 * x": a (zero) gradient for attacks


class RoundHalf(nn.Module):
    """ONNX Cast of a float tensor to FLOAT16: rounding to the nearest half-precision value."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float16).to(x.dtype)


class Mul(nn.Module):
    """``a * b`` of two computed tensors."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * b


class Div(nn.Module):
    """``a / b`` of two computed tensors."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a / b


class Pow(nn.Module):
    """ONNX Pow of a computed tensor by a constant exponent (elementwise, broadcast)."""

    def __init__(self, exponent: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("exponent", torch.as_tensor(np.asarray(exponent, np.float32)))

    exponent: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.pow(x, self.exponent.to(x.dtype))


class PowBase(nn.Module):
    """ONNX Pow of a positive constant base by a computed exponent: ``base ** x``."""

    def __init__(self, base: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("base", torch.as_tensor(np.asarray(base, np.float32)))

    base: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.pow(self.base.to(x.dtype), x)


class Softmax(nn.Module):
    """ONNX Softmax (opset >= 13) along ``axis`` of the full ONNX shape of one sample."""

    def __init__(self, in_full: Sequence[int], axis: int, out_per: Sequence[int]) -> None:
        super().__init__()
        self.in_full = tuple(int(d) for d in in_full)
        self.dim = int(axis) + 1
        self.out_per = tuple(int(d) for d in out_per)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.softmax(x.reshape(-1, *self.in_full), dim=self.dim)
        return y.reshape(-1, *self.out_per)


#: modules whose rules auto_LiRPA 0.3 does not have (step functions, products): models with
#: them are bounded by interval arithmetic only (:mod:`autospec_cli.models.interval`)
INTERVAL_ONLY = (Trunc, NonZero, Positive, RoundHalf, Mul, Div, Pow, PowBase, Softmax)
