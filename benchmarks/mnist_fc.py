"""Build an MNIST MLP benchmark the way VNN-COMP 2021 built ``mnist_fc``.

Three ReLU MLPs ``784-256x2``, ``784-256x4`` and ``784-256x6`` (10 outputs) are trained on the
MNIST training file with ``autospec train`` -- the very command a user would type, run as a
subprocess -- on pixels scaled to ``[0, 1]`` (the networks take ``[0, 1]`` inputs, like the
competition's), with one global input standardisation (``--input-norm global``: per-pixel
statistics would fold ``1/std`` of near-constant border pixels into the first layer) and
fixed seeds. Their test accuracy is measured in onnxruntime on the ``t10k`` file.

Properties: L-inf robustness at each ``eps`` (0.03 and 0.05) around the first ``images``
(15) test images, the box clipped to ``[0, 1]``, written in VNN-LIB 1.0 as the counterexample
region "some other class's logit >= the true class's". As in the competition, images a
network misclassifies are skipped (a misclassified centre is a trivial counterexample, not a
robustness question): each network takes the first ``images`` test images *it* classifies
correctly, and the skipped indices are recorded in ``manifest.json``. Timeouts: 120 s for
``256x2``, 300 s for the deeper two. 3 networks x 15 images x 2 radii = 90 instances.

Layout (VNN-COMP): ``onnx/mnist-net_256xD.onnx``, ``vnnlib/prop_<image>_<eps>.vnnlib`` (one
file per image and radius, shared by the networks that classify that image correctly),
``instances.csv`` (``onnx,vnnlib,timeout`` relative to the folder) and ``manifest.json``
(training commands, accuracies, training times, chosen and skipped images).

Everything is cached under ``cache``: the ``[0, 1]`` training NPZ, the trained models (reused
when their sidecar records the same training options) and the set folder.

Usage: ``python benchmarks/mnist_fc.py --mnist ../shared/data/mnist --cache bench-out/mnistfc``
(prints the manifest as JSON); ``benchmarks/bench_bab.py --sets mnistfc`` builds it itself.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

#: Hidden layers of the competition's three networks (256 ReLUs each).
DEPTHS: tuple[int, ...] = (2, 4, 6)
WIDTH = 256
EPS: tuple[float, ...] = (0.03, 0.05)
IMAGES = 15
PIXEL_SCALE = 255.0

def fail(message: str) -> NoReturn:
    """Bad usage or input: one ``error:`` line on stderr and exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)



def timeout_for(depth: int) -> float:
    """The competition's per-instance timeout: 120 s for 256x2, 300 s for the deeper nets."""
    return 120.0 if depth <= 2 else 300.0


@dataclass(frozen=True)
class TrainOptions:
    """Options of every ``autospec train`` call (recorded in each model's sidecar)."""

    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 128
    seed: int = 0
    val_fraction: float = 0.1
    input_norm: str = "global"
    width: int = WIDTH
    depths: tuple[int, ...] = DEPTHS


@dataclass
class Network:
    """One trained network of the set."""

    name: str
    depth: int
    onnx: Path
    timeout: float
    test_accuracy: float
    train_seconds: float
    reused: bool
    command: list[str]
    images: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    n_outputs: int = 10


def load_mnist01(mnist: Path | str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (X, y), "test": (X, y)}`` with X flattened to 784 floats in ``[0, 1]``."""
    from autospec_cli.data.idx import load_image_arrays

    arrays = load_image_arrays(mnist)
    missing = [p for p in ("train", "test") if p not in arrays.parts]
    if missing:
        raise ValueError(f"{mnist}: no {' or '.join(missing)} images (MNIST IDX folder "
                         "with train-* and t10k-* files expected)")
    out = {}
    for part, (X, y) in arrays.parts.items():
        X = np.asarray(X, dtype=np.float64).reshape(len(X), -1) / PIXEL_SCALE
        out[part] = (X.astype(np.float32), np.asarray(y, dtype=np.int64))
    return out


def training_npz(cache: Path, X: np.ndarray, y: np.ndarray) -> Path:
    """The training part in ``[0, 1]`` as a Keras-layout NPZ (``x_train``, ``y_train`` only, so
    ``autospec train`` never sees a test image); written once."""
    path = cache / "mnist-train01.npz"
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / "mnist-train01.tmp.npz"
        np.savez_compressed(tmp, x_train=X.astype(np.float32), y_train=y.astype(np.int64))
        tmp.replace(path)
    return path


def train_command(data: Path, depth: int, out: Path, opts: TrainOptions) -> list[str]:
    """The ``autospec train`` command line for the ``784-WIDTHxdepth-10`` MLP."""
    arch = "mlp:" + ",".join([str(opts.width)] * depth)
    return ["autospec", "--json", "train", str(data), "--arch", arch, "-o", str(out),
            "--epochs", str(opts.epochs), "--tol", "0", "--lr", f"{opts.lr:g}",
            "--batch-size", str(opts.batch_size), "--val-fraction", f"{opts.val_fraction:g}",
            "--input-norm", opts.input_norm, "--seed", str(opts.seed), "--threads", "1",
            "--force"]


def _sidecar_matches(sidecar: Path, command: list[str], data: Path) -> dict[str, Any] | None:
    """The sidecar of a cached model trained with this exact command on this data, else None."""
    if not sidecar.is_file():
        return None
    try:
        record = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return None
    from autospec_cli.io import sha256_file

    onnx = sidecar.with_suffix(".onnx")
    if (record.get("mnistfc_command") != command[3:]
            or record.get("mnistfc_data_bytes") != data.stat().st_size
            or not onnx.is_file() or record.get("onnx_sha256") != sha256_file(onnx)):
        return None
    return record


def run_autospec(argv: list[str]) -> tuple[int, str]:
    """Run ``autospec ARGV`` as ``python -m autospec_cli`` in a subprocess: (exit code, stderr
    or stdout tail)."""
    done = subprocess.run([sys.executable, "-m", "autospec_cli", *argv], capture_output=True,
                          text=True, check=False)
    return done.returncode, (done.stderr or done.stdout).strip()


def train_network(data: Path, depth: int, folder: Path, opts: TrainOptions,
                  log: Any = None, run_cli: Any = None
                  ) -> tuple[Path, dict[str, Any], list[str], bool]:
    """Train (or reuse) one network with ``autospec train``; ``(onnx, sidecar, command,
    reused)``. The command runs through ``run_cli`` (default :func:`run_autospec`, a
    subprocess), so the model is what a user's ``autospec train`` would produce."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx = folder / f"mnist-net_{opts.width}x{depth}.onnx"
    command = train_command(data, depth, onnx, opts)
    sidecar = onnx.with_suffix(".json")
    cached = _sidecar_matches(sidecar, command, data)
    if cached is not None:
        return onnx, cached, command, True
    if log is not None:
        log(f"training {onnx.name}: {' '.join(command)}")
    code, text = (run_cli or run_autospec)(command[1:])
    if code != 0:
        tail = text.splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"autospec train failed for {onnx.name}: {tail[0]}")
    record = json.loads(sidecar.read_text())
    record["mnistfc_command"] = command[3:]
    record["mnistfc_data_bytes"] = data.stat().st_size
    sidecar.write_text(json.dumps(record, indent=1))
    return onnx, record, command, False


def logits(onnx: Path, X: np.ndarray) -> np.ndarray:
    """The network's outputs on rows ``X`` in onnxruntime."""
    from autospec_cli.models.runtime import OnnxRunner

    runner = OnnxRunner(onnx, threads=1)
    return np.concatenate([runner.run(X[k:k + 2048]) for k in range(0, len(X), 2048)])


def choose_images(pred: np.ndarray, y: np.ndarray, images: int) -> tuple[list[int], list[int]]:
    """The first ``images`` indices the network classifies correctly, and the misclassified
    indices skipped on the way (the competition skipped misclassified images too)."""
    chosen: list[int] = []
    skipped: list[int] = []
    for i in range(len(y)):
        if len(chosen) == images:
            break
        (chosen if int(pred[i]) == int(y[i]) else skipped).append(i)
    return chosen, skipped


def eps_tag(eps: float) -> str:
    return f"{eps:g}"


def write_property(path: Path, x: np.ndarray, label: int, eps: float,
                   n_outputs: int = 10) -> Path:
    """VNN-LIB 1.0: the L-inf ball of radius ``eps`` around ``x`` clipped to ``[0, 1]``, where
    some class other than ``label`` scores at least as high as ``label`` (a counterexample)."""
    from autospec_cli.vnnlib.builders import robustness_property
    from autospec_cli.vnnlib.writer import write_vnnlib

    prop = robustness_property(np.asarray(x, dtype=np.float64), eps, int(label), n_outputs,
                               domain_lo=0.0, domain_hi=1.0)
    comment = (f"MNIST L-inf robustness, eps {eps_tag(eps)}, true label {int(label)}; "
               "counterexample: another class's logit >= the true one's")
    return write_vnnlib(path, prop, comment=comment, force=True)


def build_set(
    mnist: Path | str,
    cache: Path,
    opts: TrainOptions | None = None,
    *,
    images: int = IMAGES,
    eps: Sequence[float] = EPS,
    log: Any = None,
    run_cli: Any = None,
) -> Path:
    """Train (or reuse) the networks and write the benchmark folder ``cache/set``; return it.
    ``run_cli(argv) -> (code, text)`` runs ``autospec ARGV`` (default: a subprocess)."""
    opts = opts or TrainOptions()
    data = load_mnist01(mnist)
    X_train, y_train = data["train"]
    X_test, y_test = data["test"]
    npz = training_npz(cache, X_train, y_train)
    nets: list[Network] = []
    for depth in opts.depths:
        t0 = time.perf_counter()
        onnx, record, command, reused = train_network(npz, depth, cache / "models", opts, log,
                                                        run_cli)
        out = logits(onnx, X_test)
        pred = out.argmax(axis=1)
        chosen, skipped = choose_images(pred, y_test, images)
        nets.append(Network(
            name=onnx.stem, depth=depth, onnx=onnx, timeout=timeout_for(depth),
            test_accuracy=round(float(np.mean(pred == y_test)), 4),
            train_seconds=float(record.get("train_seconds", time.perf_counter() - t0)),
            reused=reused, command=command, images=chosen, skipped=skipped,
            n_outputs=int(out.shape[1])))
    return write_set(cache / "set", nets, X_test, y_test, eps, opts)


def write_set(folder: Path, nets: Sequence[Network], X: np.ndarray, y: np.ndarray,
              eps: Sequence[float], opts: TrainOptions) -> Path:
    """The VNN-COMP folder for ``nets`` (each with its chosen images) around rows of ``X``."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "onnx").mkdir(parents=True)
    (folder / "vnnlib").mkdir()
    rows: list[str] = []
    for net in nets:
        onnx = Path("onnx") / net.onnx.name
        shutil.copyfile(net.onnx, folder / onnx)
        for i in net.images:
            for e in eps:
                vnnlib = Path("vnnlib") / f"prop_{i}_{eps_tag(e)}.vnnlib"
                if not (folder / vnnlib).is_file():
                    write_property(folder / vnnlib, X[i], int(y[i]), e, net.n_outputs)
                rows.append(f"{onnx.as_posix()},{vnnlib.as_posix()},{net.timeout:g}")
    (folder / "instances.csv").write_text("\n".join(rows) + "\n")
    manifest = {
        "benchmark": "mnistfc", "built_like": "VNN-COMP 2021 mnist_fc",
        "eps": list(eps), "input_range": [0.0, 1.0], "instances": len(rows),
        "train_options": {**asdict(opts), "depths": list(opts.depths)},
        "networks": [{
            "name": n.name, "onnx": f"onnx/{n.onnx.name}", "hidden": [opts.width] * n.depth,
            "timeout_s": n.timeout, "test_accuracy": n.test_accuracy,
            "train_seconds": round(n.train_seconds, 1), "reused_cached_model": n.reused,
            "command": n.command, "images": n.images,
            "skipped_misclassified": n.skipped} for n in nets],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return folder


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", type=Path, required=True,
                   help="MNIST IDX folder (or a Keras-layout NPZ with train and test parts)")
    p.add_argument("--cache", type=Path, default=Path("bench-out/mnistfc"),
                   help="cache folder (models, training NPZ, the set)")
    p.add_argument("--epochs", type=int, default=TrainOptions.epochs)
    p.add_argument("--seed", type=int, default=TrainOptions.seed)
    p.add_argument("--images", type=int, default=IMAGES)
    p.add_argument("--depths", default=",".join(map(str, DEPTHS)),
                   help="hidden-layer counts to train (comma-separated; each model is cached)")
    args = p.parse_args(argv)
    try:
        depths = tuple(int(d) for d in args.depths.split(",") if d.strip())
    except ValueError:
        fail(f"--depths {args.depths!r}: expected integers such as 2,4,6")
    if not depths or min(depths) < 1:
        fail("--depths needs at least one positive integer")
    if not args.mnist.exists():
        fail(f"{args.mnist}: no such MNIST folder or NPZ")
    from autospec_cli.errors import AutospecError

    try:
        folder = build_set(args.mnist, args.cache,
                           TrainOptions(epochs=args.epochs, seed=args.seed, depths=depths),
                           images=args.images,
                           log=lambda m: print(m, file=sys.stderr, flush=True))
    except (AutospecError, ValueError, RuntimeError) as e:
        fail(f"{e}")
    print(json.dumps(json.loads((folder / "manifest.json").read_text())))


if __name__ == "__main__":
    main(sys.argv[1:])
