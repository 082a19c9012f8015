"""GDVB network transformations (GDVB §4.3, after its R4V tool), on architecture descriptions.

A :class:`NetSpec` describes a seed or student network the way :class:`~autospec_cli.models.arch.
ConvNet` builds it: an input shape (C, H, W), conv layers (filters each; k×k kernel, padding,
optional average pooling after each), hidden fully connected layers (units each) and the
class count. With no conv layer left the student is an :class:`~autospec_cli.models.arch.MLP`
on the flattened image.

:func:`transform` applies one covering-array row's network factors to a seed, in GDVB's order:

1. ``idm`` (input dimension): image height and width scaled by ``sqrt(idm)`` (rounded);
2. ``conv`` / ``fc`` (layer counts): drop ``round(n·(1−level))`` randomly chosen layers of
   that type (seeded by the factor and level, so equal levels drop the same layers); a level
   above 1 appends ``round(n·(level−1))`` layers after the last layer of that type, as wide as
   it;
3. ``neu`` (neurons): every surviving layer scaled by ONE factor so the total hidden neurons
   (conv: filters × output height × width; FC: units) come closest to ``neu`` × the seed's;
4. ``ids`` (input domain) changes the data, not the architecture (see :mod:`.problems`).

A combination that cannot be built (a layer input smaller than its kernel, no hidden layer
left) raises :class:`InvalidCombination`; the generator reports and excludes such rows.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from autospec_cli.errors import ConfigError

NETWORK_FACTORS: tuple[str, ...] = ("neu", "fc", "conv", "idm", "ids")
PROPERTY_FACTORS: tuple[str, ...] = ("scl", "trn")
ALL_FACTORS: tuple[str, ...] = NETWORK_FACTORS + PROPERTY_FACTORS


class InvalidCombination(ConfigError):
    """A row of factor levels that yields no valid network (reported, then excluded)."""


@dataclass(frozen=True)
class NetSpec:
    """A conv/FC classifier architecture (see the module docstring)."""

    input_shape: tuple[int, int, int]
    convs: tuple[int, ...] = ()
    fcs: tuple[int, ...] = ()
    n_classes: int = 10
    kernel: int = 3
    padding: int = 0
    pool: int = 1
    activation: str = "relu"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NetSpec:
        return cls(tuple(int(v) for v in d["input_shape"]),  # type: ignore[arg-type]
                   tuple(int(v) for v in d.get("convs", ())),
                   tuple(int(v) for v in d.get("fcs", ())), int(d.get("n_classes", 10)),
                   int(d.get("kernel", 3)), int(d.get("padding", 0)), int(d.get("pool", 1)),
                   str(d.get("activation", "relu")))

    @property
    def n_inputs(self) -> int:
        return math.prod(self.input_shape)

    @property
    def n_layers(self) -> int:
        """Hidden layers (conv + FC); the output layer is not counted."""
        return len(self.convs) + len(self.fcs)

    def conv_sizes(self) -> list[tuple[int, int]]:
        """Output (height, width) of every conv layer (before its pooling); raises
        :class:`InvalidCombination` when a layer's input is smaller than its kernel."""
        _, h, w = self.input_shape
        out = []
        for i, _f in enumerate(self.convs):
            hp, wp = h + 2 * self.padding, w + 2 * self.padding
            if hp < self.kernel or wp < self.kernel:
                raise InvalidCombination(
                    f"conv layer {i + 1} gets a {h}x{w} input, smaller than its "
                    f"{self.kernel}x{self.kernel} kernel")
            h, w = hp - self.kernel + 1, wp - self.kernel + 1
            out.append((h, w))
            if self.pool > 1 and h >= self.pool and w >= self.pool:
                h, w = h // self.pool, w // self.pool
        return out

    def layer_neurons(self) -> list[int]:
        """Neurons of every hidden layer: conv filters × output area, then FC units."""
        conv = [f * h * w for f, (h, w) in zip(self.convs, self.conv_sizes(), strict=True)]
        return conv + list(self.fcs)

    @property
    def neurons(self) -> int:
        return int(sum(self.layer_neurons()))

    def build(self, seed: int = 0) -> Any:
        """The torch model (ConvNet, or MLP on the flattened image when there is no conv)."""
        import torch

        from autospec_cli.models.arch import MLP, ConvNet

        self.conv_sizes()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if not self.convs:
                return MLP(self.n_inputs, list(self.fcs), self.n_classes, self.activation)
            return ConvNet(self.input_shape, kernel=self.kernel, n_classes=self.n_classes,
                           pool=self.pool, convs=list(self.convs), fcs=list(self.fcs),
                           batchnorm=False, activation=self.activation, padding=self.padding)


@dataclass(frozen=True)
class Transformed:
    """A transformed architecture and how it was obtained."""

    spec: NetSpec
    levels: dict[str, float]
    dropped: dict[str, list[int]] = field(default_factory=dict)  # seed layer indices dropped
    added: dict[str, int] = field(default_factory=dict)
    scale: float = 1.0
    neurons: int = 0
    target_neurons: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"arch": self.spec.to_dict(), "levels": dict(self.levels),
                "dropped": {k: list(v) for k, v in self.dropped.items()},
                "added": dict(self.added), "scale": self.scale, "neurons": self.neurons,
                "target_neurons": self.target_neurons}


def evenly_spaced(lo: float, hi: float, n: int) -> tuple[float, ...]:
    """``n`` levels evenly spaced over ``[lo, hi]`` (GDVB's level rule), rounded to 6 digits."""
    if n < 1:
        raise ConfigError(f"a factor needs at least one level, got {n}")
    if n == 1:
        return (float(hi),)
    return tuple(round(float(v), 6) for v in np.linspace(lo, hi, n))


def scaled_image(shape: tuple[int, int, int], idm: float) -> tuple[int, int, int]:
    """C, H·√idm, W·√idm (rounded, at least 1)."""
    if not idm > 0:
        raise InvalidCombination(f"idm level {idm:g} must be positive")
    c, h, w = shape
    r = math.sqrt(idm)
    return (c, max(1, int(round(h * r))), max(1, int(round(w * r))))


def _rng(seed: int, factor: str, level: float) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(factor.encode()),
                                  int(round(level * 1_000_000))])


def _layer_count(layers: Sequence[int], level: float, factor: str,
                 seed: int) -> tuple[list[int], list[int], int]:
    """Surviving widths, dropped indices and number added for a layer-count level."""
    if level < 0:
        raise InvalidCombination(f"{factor} level {level:g} must be >= 0")
    n = len(layers)
    if level <= 1:
        k = int(round(n * (1.0 - level)))
        drop = sorted(_rng(seed, factor, level).choice(n, size=k, replace=False).tolist())
        return [w for i, w in enumerate(layers) if i not in drop], drop, 0
    add = int(round(n * (level - 1.0)))
    return list(layers) + [layers[-1]] * add, [], add


def _scaled(spec: NetSpec, s: float) -> NetSpec:
    return replace(spec, convs=tuple(max(1, int(round(f * s))) for f in spec.convs),
                   fcs=tuple(max(1, int(round(u * s))) for u in spec.fcs))


def scale_to_neurons(spec: NetSpec, target: float) -> tuple[NetSpec, float]:
    """``spec`` with every layer scaled by one factor ``s`` so that the total neurons come
    closest to ``target`` (bisection over ``s``; the count is monotone in it)."""
    base = spec.neurons
    if base <= 0:
        raise InvalidCombination("no hidden neurons to scale")
    lo, hi = 0.0, max(1.0, 2.0 * target / base)
    while _scaled(spec, hi).neurons < target:
        hi *= 2.0
    for _ in range(60):
        mid = (lo + hi) / 2.0
        if _scaled(spec, mid).neurons >= target:
            hi = mid
        else:
            lo = mid
    above, below = _scaled(spec, hi), _scaled(spec, lo)
    if lo > 0 and abs(below.neurons - target) < abs(above.neurons - target):
        return below, lo
    return above, hi


def transform(seed_spec: NetSpec, levels: Mapping[str, float], *, seed: int = 0) -> Transformed:
    """Apply the network factors ``levels`` (missing ones: 1) to ``seed_spec`` (module doc)."""
    lv = {f: float(levels.get(f, 1.0)) for f in NETWORK_FACTORS}
    if not lv["neu"] > 0:
        raise InvalidCombination(f"neu level {lv['neu']:g} must be positive")
    seed_spec.conv_sizes()
    target = lv["neu"] * seed_spec.neurons
    convs, drop_c, add_c = _layer_count(seed_spec.convs, lv["conv"], "conv", seed)
    fcs, drop_f, add_f = _layer_count(seed_spec.fcs, lv["fc"], "fc", seed)
    if not convs and not fcs:
        raise InvalidCombination("no hidden layer left (every conv and FC layer dropped)")
    spec = replace(seed_spec, input_shape=scaled_image(seed_spec.input_shape, lv["idm"]),
                   convs=tuple(convs), fcs=tuple(fcs))
    spec.conv_sizes()
    out, s = scale_to_neurons(spec, target)
    return Transformed(out, {**lv, **{k: float(v) for k, v in levels.items()
                                      if k not in lv}},
                       {"conv": drop_c, "fc": drop_f}, {"conv": add_c, "fc": add_f},
                       round(float(s), 6), out.neurons, float(target))
