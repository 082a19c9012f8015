"""Weight initialisers of the training-factor study, as MATLAB's Deep Learning Toolbox defines
them (the published study trained with MATLAB's ``convolution2dLayer`` /
``fullyConnectedLayer`` ``WeightsInitializer`` options):

- ``he``: weights ~ N(0, 2 / fan_in), biases 0 (He et al. 2015);
- ``glorot``: weights ~ U(-a, a), ``a = sqrt(6 / (fan_in + fan_out))``, biases 0
  (Glorot & Bengio 2010, MATLAB's default);
- ``narrow-normal``: weights ~ N(0, 0.01^2) and, as in the published code
  (``'BiasInitializer','narrow-normal'``), biases ~ N(0, 0.01^2) too.

``fan_in`` = inputs per output unit (``in_channels * kh * kw`` for a convolution) and
``fan_out`` = ``out_channels * kh * kw`` (``out_features`` for a linear layer). BatchNorm keeps
scale 1 and offset 0. Only Conv and Linear layers are touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from autospec_cli.errors import ConfigError

NARROW_STD = 0.01
INITIALISERS: tuple[str, ...] = ("he", "glorot", "narrow-normal")
#: The layers an initialiser touches (see the module docstring).
WeightLayer = nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d
_ALIASES = {"kaiming": "he", "xavier": "glorot", "narrow": "narrow-normal",
            "narrow_normal": "narrow-normal", "narrownormal": "narrow-normal"}


def canonical_initialiser(name: str) -> str:
    """The canonical name (``he``, ``glorot``, ``narrow-normal``) for a name or alias."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in INITIALISERS:
        raise ConfigError(f"unknown initialiser {name!r}; use one of {', '.join(INITIALISERS)}")
    return key


def fans(weight: torch.Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a Linear ``(out, in)`` or Conv ``(out, in, *k)`` weight."""
    if weight.ndim < 2:
        raise ConfigError(f"cannot compute fans of a weight with shape {tuple(weight.shape)}")
    receptive = math.prod(weight.shape[2:]) if weight.ndim > 2 else 1
    return int(weight.shape[1] * receptive), int(weight.shape[0] * receptive)


def _he(layer: WeightLayer, gen: torch.Generator) -> None:
    fan_in, _ = fans(layer.weight)
    with torch.no_grad():
        layer.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=gen)
        if layer.bias is not None:
            layer.bias.zero_()


def _glorot(layer: WeightLayer, gen: torch.Generator) -> None:
    fan_in, fan_out = fans(layer.weight)
    a = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        layer.weight.uniform_(-a, a, generator=gen)
        if layer.bias is not None:
            layer.bias.zero_()


def _narrow(layer: WeightLayer, gen: torch.Generator) -> None:
    with torch.no_grad():
        layer.weight.normal_(0.0, NARROW_STD, generator=gen)
        if layer.bias is not None:
            layer.bias.normal_(0.0, NARROW_STD, generator=gen)


_FUNCS: dict[str, Callable[[WeightLayer, torch.Generator], None]] = {
    "he": _he, "glorot": _glorot, "narrow-normal": _narrow,
}


def initialise(model: nn.Module, name: str, seed: int) -> nn.Module:
    """Re-initialise every Conv/Linear layer of ``model`` in place with initialiser ``name``,
    deterministically for ``seed`` (the global torch RNG is not touched); returns ``model``."""
    fn = _FUNCS[canonical_initialiser(name)]
    gen = torch.Generator().manual_seed(int(seed))
    for layer in model.modules():
        if isinstance(layer, WeightLayer):
            fn(layer, gen)
        elif isinstance(layer, nn.modules.batchnorm._BatchNorm) and layer.affine:
            with torch.no_grad():
                layer.weight.fill_(1.0)
                layer.bias.zero_()
    return model


__all__ = ["INITIALISERS", "NARROW_STD", "canonical_initialiser", "fans", "initialise"]
