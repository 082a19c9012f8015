"""Network architectures: fully connected (MLP) and small convolutional (ConvNet) models.

Models take RAW features (e.g. throughput in bit/s, pixel values 0..255): a fixed
:class:`Normalize` module standardises them and, for regression, a :class:`Denormalize`
module maps the network's standardised output back to target units. Both are plain affine
maps and :meth:`MLP.folded` / :meth:`ConvNet.folded` fold them into the first and last layer,
so an exported ONNX graph holds only Gemm/Conv/pooling/activation nodes and maps raw inputs
to raw outputs.

Architecture strings (``--arch`` on the CLI), parsed by :func:`parse_arch`:

- ``mlp`` (linear model), ``mlp:10,5`` (hidden layers of 10 and 5), ``mlp:10,5:act=tanh``
- ``conv`` / ``conv:3`` (one 3-filter conv layer), ``conv:8,16/32`` (two conv layers, one
  hidden FC layer of 32), ``conv:3:kernel=5,pool=2,dropout=0.1,bn=0,padding=1,act=relu``
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from autospec_cli.errors import ConfigError

ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid", "leaky_relu")


def make_activation(name: str) -> nn.Module:
    """An activation module by name (one of :data:`ACTIVATIONS`)."""
    key = name.lower().replace("-", "_")
    if key == "relu":
        return nn.ReLU()
    if key == "tanh":
        return nn.Tanh()
    if key == "sigmoid":
        return nn.Sigmoid()
    if key in ("leaky_relu", "leakyrelu"):
        return nn.LeakyReLU(0.01)
    raise ConfigError(f"unknown activation {name!r}; use one of {', '.join(ACTIVATIONS)}")


class Normalize(nn.Module):
    """``(x - mean) / std`` with fixed buffers (broadcast over the batch); identity by default."""

    mean: torch.Tensor
    inv_std: torch.Tensor

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, *shape))
        self.register_buffer("inv_std", torch.ones(1, *shape))

    def set_stats(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Set the statistics (arrays broadcastable to the buffer shape); std 0 counts as 1."""
        std = np.where(np.asarray(std, dtype=np.float64) > 1e-12, std, 1.0)
        mean_t = torch.as_tensor(np.asarray(mean, dtype=np.float64))
        self.mean.copy_(mean_t.reshape(self.mean.shape))
        self.inv_std.copy_(torch.as_tensor(1.0 / std).reshape(self.inv_std.shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) * self.inv_std


class Denormalize(nn.Module):
    """``z * std + mean``: standardised outputs back to target units; identity by default."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, n: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, n))
        self.register_buffer("std", torch.ones(1, n))

    def set_stats(self, mean: np.ndarray, std: np.ndarray) -> None:
        std = np.where(np.asarray(std, dtype=np.float64) > 1e-12, std, 1.0)
        mean_t = torch.as_tensor(np.asarray(mean, dtype=np.float64))
        self.mean.copy_(mean_t.reshape(self.mean.shape))
        self.std.copy_(torch.as_tensor(std).reshape(self.std.shape))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std + self.mean


class _Normalized(nn.Module):
    """Shared behaviour: input/output statistics and the ``input_shape`` contract."""

    input_shape: tuple[int, ...]
    input_norm: Normalize
    output_denorm: Denormalize

    def set_input_stats(self, X: np.ndarray) -> None:
        """Standardise with the statistics of raw training inputs ``X`` (n, n_inputs)."""
        raise NotImplementedError

    def set_global_input_stats(self, X: np.ndarray) -> None:
        """Standardise every input with one mean and one std over all values of ``X``.

        For images fed to an MLP this is the usual choice: per-pixel statistics give pixels
        that are almost always 0 a tiny std, and folding ``1 / std`` into the first layer then
        makes the network's raw-pixel weights (and any verifier's bounds) huge."""
        X = np.asarray(X, dtype=np.float64)
        shape = tuple(self.input_norm.mean.shape)
        self.input_norm.set_stats(np.full(shape, X.mean()), np.full(shape, X.std()))

    def clear_input_stats(self) -> None:
        """No input standardisation: the network sees the raw features."""
        shape = tuple(self.input_norm.mean.shape)
        self.input_norm.set_stats(np.zeros(shape), np.ones(shape))

    def set_output_stats(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Outputs are ``network(x) * std + mean`` (regression targets in raw units)."""
        self.output_denorm.set_stats(mean, std)

    def reset_output_stats(self) -> None:
        self.output_denorm.set_stats(np.zeros(self.output_denorm.mean.shape[1]),
                                     np.ones(self.output_denorm.std.shape[1]))


def _fold_output(last: nn.Linear, denorm: Denormalize) -> None:
    """``std * (W x + b) + mean`` folded into ``last`` (in place)."""
    s, m = denorm.std.reshape(-1), denorm.mean.reshape(-1)
    last.weight.mul_(s[:, None])
    last.bias.mul_(s).add_(m)


class MLP(_Normalized):
    """Fully connected network ``in_features -> hidden... -> out_features`` (AutoSpec: 4-10-5-1)."""

    def __init__(self, in_features: int, hidden: Sequence[int], out_features: int,
                 activation: str = "relu") -> None:
        super().__init__()
        if in_features < 1 or out_features < 1 or any(h < 1 for h in hidden):
            raise ConfigError(f"layer sizes must be positive: {in_features}, {list(hidden)}, "
                              f"{out_features}")
        self.input_shape = (int(in_features),)
        self.hidden = [int(h) for h in hidden]
        self.activation = activation
        self.input_norm = Normalize((in_features,))
        layers: list[nn.Module] = []
        width = in_features
        for h in self.hidden:
            layers += [nn.Linear(width, h), make_activation(activation)]
            width = h
        layers.append(nn.Linear(width, out_features))
        self.body = nn.Sequential(*layers)
        self.output_denorm = Denormalize(out_features)

    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-ready)."""
        return {"kind": "mlp", "in_features": self.input_shape[0], "hidden": list(self.hidden),
                "out_features": self.output_denorm.mean.shape[1], "activation": self.activation}

    def set_input_stats(self, X: np.ndarray) -> None:
        X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        self.input_norm.set_stats(X.mean(axis=0), X.std(axis=0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            x = x.reshape(-1, self.input_shape[0])
        return self.output_denorm(self.body(self.input_norm(x)))

    @torch.no_grad()
    def folded(self) -> nn.Sequential:
        """An equivalent plain ``nn.Sequential`` with the (de)normalisation in the weights."""
        import copy

        body = copy.deepcopy(self.body).float()
        first, last = body[0], body[-1]
        assert isinstance(first, nn.Linear) and isinstance(last, nn.Linear)
        s, m = self.input_norm.inv_std.reshape(-1), self.input_norm.mean.reshape(-1)
        first.weight.mul_(s[None, :])
        first.bias.sub_(first.weight @ m)
        _fold_output(last, self.output_denorm)
        return body.eval()


@dataclass
class _ConvLayout:
    """Spatial sizes through the conv stack (for the flatten width)."""

    channels: int
    height: int
    width: int


class ConvNet(_Normalized):
    """Conv(k×k) -> BatchNorm -> act -> [Dropout] -> AvgPool(pool) per entry of ``convs``,
    then Flatten -> Linear(+act) per entry of ``fcs`` -> Linear(``n_classes``).

    ``filters`` is the one-layer shorthand (``convs=[filters]``), the training-factor study's
    net. The input is normalised per channel. Inputs may be shaped (N, C, H, W) or flat.
    """

    def __init__(self, in_shape: Sequence[int] = (1, 28, 28), filters: int = 3, kernel: int = 3,
                 n_classes: int = 10, dropout: float = 0.0, pool: int = 2, *,
                 convs: Sequence[int] | None = None, fcs: Sequence[int] = (),
                 batchnorm: bool = True, activation: str = "relu", padding: int = 0) -> None:
        super().__init__()
        if len(in_shape) != 3:
            raise ConfigError(f"ConvNet needs an input shape C,H,W; got {tuple(in_shape)}")
        self.input_shape = tuple(int(v) for v in in_shape)
        self.convs = [int(f) for f in (convs if convs is not None else [filters])]
        self.fcs = [int(h) for h in fcs]
        self.kernel, self.pool, self.padding = int(kernel), int(pool), int(padding)
        self.dropout, self.batchnorm, self.activation = float(dropout), bool(batchnorm), activation
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        self.input_norm = Normalize((self.input_shape[0], 1, 1))
        layers, shape = self._conv_stack()
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = [nn.Flatten()]
        width = shape.channels * shape.height * shape.width
        for h in self.fcs:
            head += [nn.Linear(width, h), make_activation(activation)]
            width = h
        head.append(nn.Linear(width, n_classes))
        self.head = nn.Sequential(*head)
        self.output_denorm = Denormalize(n_classes)

    def _conv_stack(self) -> tuple[list[nn.Module], _ConvLayout]:
        c, h, w = self.input_shape
        layers: list[nn.Module] = []
        for f in self.convs:
            h = (h + 2 * self.padding - self.kernel) + 1
            w = (w + 2 * self.padding - self.kernel) + 1
            if h < 1 or w < 1 or f < 1:
                raise ConfigError(f"conv layers {self.convs} with kernel {self.kernel} do not fit "
                                  f"the input {self.input_shape}")
            layers.append(nn.Conv2d(c, f, self.kernel, padding=self.padding))
            if self.batchnorm:
                layers.append(nn.BatchNorm2d(f))
            layers.append(make_activation(self.activation))
            if self.dropout > 0:
                layers.append(nn.Dropout(self.dropout))
            if self.pool > 1 and h >= self.pool and w >= self.pool:
                layers.append(nn.AvgPool2d(self.pool, self.pool))
                h, w = h // self.pool, w // self.pool
            c = f
        return layers, _ConvLayout(c, h, w)

    def config(self) -> dict[str, Any]:
        return {"kind": "conv", "in_shape": list(self.input_shape), "convs": list(self.convs),
                "fcs": list(self.fcs), "kernel": self.kernel, "pool": self.pool,
                "padding": self.padding, "dropout": self.dropout, "batchnorm": self.batchnorm,
                "activation": self.activation, "n_classes": self.output_denorm.mean.shape[1]}

    def set_input_stats(self, X: np.ndarray) -> None:
        X = np.asarray(X, dtype=np.float64).reshape(len(X), self.input_shape[0], -1)
        self.input_norm.set_stats(X.mean(axis=(0, 2)), X.std(axis=(0, 2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, *self.input_shape)
        return self.output_denorm(self.head(self.features(self.input_norm(x))))

    @torch.no_grad()
    def folded(self) -> nn.Sequential:
        """An equivalent plain ``nn.Sequential``: BatchNorm folded into its conv, dropout
        removed, input normalisation folded into the first conv (a 1x1 conv before it when
        the conv pads, where folding would be inexact), output de-normalisation into the last
        Linear."""
        import copy

        layers: list[nn.Module] = []
        for mod in copy.deepcopy(self.features).float():
            if isinstance(mod, nn.BatchNorm2d):
                _fold_batchnorm(layers[-1], mod)
            elif not isinstance(mod, nn.Dropout):
                layers.append(mod)
        first = layers[0]
        assert isinstance(first, nn.Conv2d) and first.bias is not None
        s = self.input_norm.inv_std.reshape(-1)
        m = self.input_norm.mean.reshape(-1)
        if self.padding == 0:
            first.weight.mul_(s[None, :, None, None])
            first.bias.sub_((first.weight * m[None, :, None, None]).sum(dim=(1, 2, 3)))
        else:  # zero padding happens after normalisation: keep it as a 1x1 diagonal conv
            norm = nn.Conv2d(len(s), len(s), 1)
            assert norm.bias is not None
            norm.weight.copy_(torch.diag(s)[:, :, None, None])
            norm.bias.copy_(-s * m)
            layers.insert(0, norm)
        head = copy.deepcopy(self.head).float()
        last = head[-1]
        assert isinstance(last, nn.Linear)
        _fold_output(last, self.output_denorm)
        return nn.Sequential(*layers, *head).eval()


def _fold_batchnorm(conv: nn.Module, bn: nn.BatchNorm2d) -> None:
    """Eval-mode BatchNorm after ``conv`` folded into the conv's weight and bias (in place)."""
    assert isinstance(conv, nn.Conv2d)
    assert bn.running_mean is not None and bn.running_var is not None
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight.mul_(scale[:, None, None, None])
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    conv.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias)


# --- architecture strings -------------------------------------------------------------------


@dataclass(frozen=True)
class ArchSpec:
    """A parsed ``--arch`` string; :meth:`build` makes the model for a dataset's shape."""

    kind: str  # "mlp" | "conv"
    hidden: tuple[int, ...] = ()  # MLP hidden sizes / ConvNet hidden FC sizes
    convs: tuple[int, ...] = ()  # ConvNet filters per conv layer
    activation: str = "relu"
    kernel: int = 3
    pool: int = 2
    padding: int = 0
    dropout: float = 0.0
    batchnorm: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("extra")
        d["hidden"], d["convs"] = list(self.hidden), list(self.convs)
        return d

    def __str__(self) -> str:
        if self.kind == "mlp":
            s = "mlp:" + ",".join(map(str, self.hidden))
            return s + (f":act={self.activation}" if self.activation != "relu" else "")
        s = "conv:" + ",".join(map(str, self.convs))
        if self.hidden:
            s += "/" + ",".join(map(str, self.hidden))
        return s + (f":kernel={self.kernel},pool={self.pool},padding={self.padding},"
                    f"dropout={self.dropout:g},bn={int(self.batchnorm)},act={self.activation}")

    def build(self, *, n_inputs: int, n_outputs: int,
              input_shape: Sequence[int] | None = None, seed: int | None = None) -> nn.Module:
        """The model for ``n_inputs`` raw features and ``n_outputs`` outputs (initialised from
        ``seed`` without touching the global RNG when a seed is given)."""
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            if self.kind == "mlp":
                return MLP(n_inputs, list(self.hidden), n_outputs, self.activation)
            shape = tuple(input_shape) if input_shape is not None else infer_image_shape(n_inputs)
            if math.prod(shape) != n_inputs:
                raise ConfigError(f"input shape {shape} has {math.prod(shape)} values, "
                                  f"the data has {n_inputs} features")
            return ConvNet(shape, kernel=self.kernel, n_classes=n_outputs, dropout=self.dropout,
                           pool=self.pool, convs=list(self.convs), fcs=list(self.hidden),
                           batchnorm=self.batchnorm, activation=self.activation,
                           padding=self.padding)


def _ints(text: str, what: str) -> tuple[int, ...]:
    text = text.strip()
    if not text:
        return ()
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated integers, got {text!r}") from None
    if any(v < 1 for v in values):
        raise ConfigError(f"{what} must be positive, got {text!r}")
    return values


_CONV_KEYS = {"kernel": int, "pool": int, "padding": int, "dropout": float, "bn": int, "act": str}


def _options(text: str, arch: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key not in _CONV_KEYS:
            raise ConfigError(f"bad option {item!r} in architecture {arch!r}; "
                              f"use key=value with keys {', '.join(_CONV_KEYS)}", param="arch")
        try:
            out[key] = _CONV_KEYS[key](value)
        except ValueError:
            raise ConfigError(f"bad value in {item!r} (architecture {arch!r})",
                              param="arch") from None
    return out


def parse_arch(text: str) -> ArchSpec:
    """``"mlp:10,5"``, ``"mlp:10,5:act=tanh"``, ``"conv:3"``, ``"conv:8,16/32:kernel=5,bn=0"``."""
    kind, _, rest = text.strip().partition(":")
    layers, _, opts_text = rest.partition(":")
    opts = _options(opts_text, text)
    act = str(opts.pop("act", "relu")).lower().replace("-", "_")
    if act not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {act!r} in architecture {text!r}; "
                          f"use {', '.join(ACTIVATIONS)}", param="arch")
    kind = kind.lower()
    if kind == "mlp":
        if opts:
            raise ConfigError(f"mlp takes only act=...; got {', '.join(opts)} in architecture "
                              f"{text!r}", param="arch")
        return ArchSpec("mlp", hidden=_ints(layers, "MLP hidden sizes"), activation=act)
    if kind == "conv":
        convs_text, _, fcs_text = layers.partition("/")
        convs = _ints(convs_text, "conv filter counts") or (3,)
        spec = ArchSpec("conv", hidden=_ints(fcs_text, "hidden FC sizes"), convs=convs,
                        activation=act, kernel=opts.get("kernel", 3), pool=opts.get("pool", 2),
                        padding=opts.get("padding", 0), dropout=opts.get("dropout", 0.0),
                        batchnorm=bool(opts.get("bn", 1)))
        if spec.kernel < 1 or spec.pool < 1 or spec.padding < 0 or not 0 <= spec.dropout < 1:
            raise ConfigError(f"bad conv options in architecture {text!r}", param="arch")
        return spec
    raise ConfigError(f"unknown architecture {text!r}; use mlp:H1,H2,... or conv:F1,.../FC1,...")


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1,8,8"`` (or ``1x8x8``) -> ``(1, 8, 8)``."""
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise ConfigError(f"input_shape must be like 1,28,28, got {text!r}",
                          param="input_shape") from None
    if not shape or any(v < 1 for v in shape):
        raise ConfigError(f"input_shape must be positive integers, got {text!r}",
                          param="input_shape")
    return shape


def infer_image_shape(n_features: int) -> tuple[int, int, int]:
    """C,H,W for flat image features: 784 -> 1x28x28, 64 -> 1x8x8, any square -> 1xSxS,
    3·S² -> 3xSxS; otherwise a ConfigError asking for ``input_shape``."""
    side = math.isqrt(n_features)
    if side * side == n_features:
        return (1, side, side)
    if n_features % 3 == 0:
        side = math.isqrt(n_features // 3)
        if 3 * side * side == n_features:
            return (3, side, side)
    raise ConfigError(f"cannot infer an image shape for {n_features} features; "
                      "give input_shape as C,H,W", param="input_shape")
