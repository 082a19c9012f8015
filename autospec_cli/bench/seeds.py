"""GDVB seed networks: the built-in ones (trained once, cached) and user ONNX files.

A seed must be a chain of Conv (same kernel and padding), activation, optional average
pooling, then Flatten and Linear layers: the architecture :class:`~.transform.NetSpec` can
describe, so that it can be transformed. :func:`netspec_from_torch` reads that description
off a converted ONNX model.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autospec_cli.bench.distill import BUILTIN_SEEDS, accuracy, export_net, load_teacher, train_seed
from autospec_cli.bench.problems import load_seed_data
from autospec_cli.bench.transform import NetSpec
from autospec_cli.errors import ConfigError
from autospec_cli.io import atomic_write_json


@dataclass(frozen=True)
class SeedNet:
    """The seed network: its architecture, ONNX file and metrics on the held-out data."""

    spec: NetSpec
    onnx: Path
    metrics: dict[str, float]


def netspec_from_torch(model: Any, input_shape: tuple[int, ...]) -> NetSpec:
    """The :class:`NetSpec` of a converted ONNX chain model (ConfigError if it has another
    shape: branches, mixed kernels, unsupported layers)."""
    from torch import nn

    net = getattr(model, "net", model)
    if not isinstance(net, nn.Sequential):
        raise ConfigError("the seed network is not a simple chain of layers; GDVB can only "
                          "transform Conv/Linear chains")
    convs, linears, kernels, pads, pools, acts = [], [], set(), set(), set(), []
    for m in net:
        if isinstance(m, nn.Conv2d):
            convs.append(m.out_channels)
            kernels.add((m.kernel_size, m.stride, m.dilation, m.groups))
            pads.add(m.padding)
        elif isinstance(m, nn.Linear):
            linears.append(m.out_features)
        elif isinstance(m, (nn.AvgPool2d,)):
            pools.add(m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0])
        elif isinstance(m, (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU)):
            acts.append(type(m).__name__.lower().replace("leakyrelu", "leaky_relu"))
    if not linears:
        raise ConfigError("the seed network has no Linear output layer")
    if len(kernels) > 1 or len(pads) > 1 or len(pools) > 1 or len(set(acts)) > 1:
        raise ConfigError("the seed's conv layers differ in kernel, stride, padding, pooling or "
                          "activation; GDVB transforms need uniform layers")
    kernel, pad = 3, 0
    if kernels:
        (k, stride, dil, groups), p = next(iter(kernels)), next(iter(pads))
        if k[0] != k[1] or stride != (1, 1) or dil != (1, 1) or groups != 1 or p[0] != p[1]:
            raise ConfigError("seed conv layers must be square, stride 1, ungrouped")
        kernel, pad = int(k[0]), int(p[0])
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3:
        from autospec_cli.models.arch import infer_image_shape

        shape = infer_image_shape(int(shape[0]))
    return NetSpec(shape, tuple(convs), tuple(linears[:-1]), int(linears[-1]), kernel, pad,
                   int(next(iter(pools))) if pools else 1, acts[0] if acts else "relu")


def resolve_seed(network: str, data_source: str, seed_dir: str | os.PathLike[str], *,
                 split_seed: int = 0, test_fraction: float = 0.2) -> SeedNet:
    """The seed of a config: a built-in trained (or reused from ``seed_dir``), or an ONNX file."""
    if network.startswith("builtin:"):
        if network not in BUILTIN_SEEDS:
            raise ConfigError(f"unknown built-in seed network {network!r}; known: "
                              + ", ".join(BUILTIN_SEEDS))
        return _builtin(network, data_source, Path(seed_dir), split_seed, test_fraction)
    teacher = load_teacher(network)
    spec = netspec_from_torch(teacher, teacher.input_shape)
    data = load_seed_data(data_source, spec.input_shape, split_seed=split_seed,
                          test_fraction=test_fraction)
    return SeedNet(spec, Path(network).resolve(),
                   {"test_accuracy": accuracy(teacher, data.X_test, data.y_test)})


def _builtin(network: str, data_source: str, seed_dir: Path, split_seed: int,
             test_fraction: float) -> SeedNet:
    info = BUILTIN_SEEDS[network]
    spec = NetSpec.from_dict(info["arch"])
    key = {"network": network, "data": data_source, "arch": spec.to_dict(),
           "split_seed": split_seed, "test_fraction": test_fraction, "epochs": info["epochs"]}
    name = network.split(":", 1)[1]
    onnx, meta = seed_dir / f"{name}.onnx", seed_dir / f"{name}.json"
    if onnx.is_file() and meta.is_file():
        cached = json.loads(meta.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return SeedNet(spec, onnx, cached["metrics"])
    data = load_seed_data(data_source, spec.input_shape, split_seed=split_seed,
                          test_fraction=test_fraction)
    net = train_seed(spec, data, epochs=int(info["epochs"]), seed=split_seed)
    seed_dir.mkdir(parents=True, exist_ok=True)
    export_net(net.model, spec, onnx, data.X_test[:16])
    atomic_write_json(meta, {"key": key, "metrics": net.metrics}, force=True)
    return SeedNet(spec, onnx, net.metrics)
