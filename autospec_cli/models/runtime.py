"""Run ONNX models with onnxruntime on batches of flattened inputs.

:class:`OnnxRunner` hides the model's tensor layout: callers pass ``(N, n_inputs)`` rows
(VNN-LIB's ``X_i`` order: the input tensor flattened row-major) or ``(N, *input_shape)``
tensors and get ``(N, n_outputs)`` back. Models whose batch dimension is fixed at 1 (the
VNN-COMP ACAS Xu files declare ``[1, 1, 1, 5]``) are run in one call through a copy of the
graph with a symbolic batch dimension when that copy gives the same outputs as per-sample
runs, else sample by sample.

Layout rule (shared with :mod:`.onnx_to_torch`): a declared input of rank >= 2 whose first
dimension is 1 or symbolic has a batch axis and ``input_shape`` is the rest; any other input
(e.g. ``[5]``) has no batch axis and ``input_shape`` is the whole shape.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.errors import ModelError
from autospec_cli.io import atomic_path

GZIP_MAGIC = b"\x1f\x8b"


def cache_dir() -> Path:
    """Where unpacked models are kept: ``$AUTOSPEC_CACHE``, else ``$XDG_CACHE_HOME/autospec``
    (default ``~/.cache/autospec``)."""
    env = os.environ.get("AUTOSPEC_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "autospec"


def unpacked_onnx(path: str | os.PathLike[str]) -> Path:
    """``path`` itself, or for a gzip-compressed model (VNN-COMP ships ``.onnx.gz``) its
    unpacked copy in :func:`cache_dir`, decompressed in 1 MiB chunks (networks of hundreds of
    megabytes never sit in memory twice) and reused while the packed file is unchanged."""
    p = Path(path)
    with open(p, "rb") as f:
        if f.read(2) != GZIP_MAGIC:
            return p
    st = p.stat()
    key = hashlib.sha256(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    stem = p.name[:-3] if p.name.endswith(".gz") else p.name
    out = cache_dir() / "onnx" / f"{key[:24]}-{stem}"
    if out.is_file():
        return out
    try:
        with atomic_path(out, force=True) as tmp, gzip.open(p, "rb") as src, \
                open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (OSError, EOFError, zlib.error) as e:
        raise ModelError(f"{p}: not a readable gzip-compressed ONNX model ({e})") from None
    return out


def model_bytes(source: str | os.PathLike[str] | bytes | Any) -> tuple[bytes, str]:
    """The serialized model and a display name, from a path, bytes or an onnx.ModelProto."""
    if isinstance(source, bytes):
        return source, "<onnx bytes>"
    if hasattr(source, "SerializeToString"):
        return source.SerializeToString(), "<onnx model>"
    path = Path(source)
    if not path.is_file():
        raise ModelError(f"{path}: ONNX model not found")
    return unpacked_onnx(path).read_bytes(), str(path)


def real_inputs(model: Any) -> list[Any]:
    """Graph inputs that are not initializers (old IR versions list weights as inputs)."""
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def declared_dims(value_info: Any) -> list[int | None]:
    """A value's declared dims: ints, or None for symbolic/unknown ones."""
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else None for d in dims]


def split_batch(dims: list[int | None]) -> tuple[bool, tuple[int, ...]]:
    """``(has_batch_axis, per-sample shape)`` for declared input dims (see the module doc)."""
    has_batch = len(dims) >= 2 and (dims[0] is None or dims[0] == 1)
    if len(dims) == 1 and dims[0] is None:
        return True, ()
    rest = dims[1:] if has_batch else dims
    if any(d is None or d < 1 for d in rest):
        raise ModelError(f"input shape {dims} has a symbolic dimension other than the batch; "
                         "fix it to a number (e.g. with onnx's update_inputs_outputs_dims)")
    return has_batch, tuple(int(d) for d in rest if d is not None)


class OnnxRunner:
    """An onnxruntime session over one ONNX model with a single float input tensor.

    Attributes: ``input_shape`` (per sample, without batch), ``n_inputs`` (flattened),
    ``n_outputs`` (flattened), ``batch_mode`` (``"native"``, ``"rewritten"`` or ``"loop"``).
    ``device="cuda"`` needs onnxruntime-gpu's CUDAExecutionProvider, else a ModelError.
    """

    def __init__(self, source: Any, device: str = "cpu", *, threads: int | None = None) -> None:
        import onnx

        data, self.name = model_bytes(source)
        try:
            proto = onnx.load_from_string(data)
        except Exception as e:  # noqa: BLE001 - protobuf raises several types
            raise ModelError(f"{self.name}: not a readable ONNX model ({e})") from None
        inputs = real_inputs(proto)
        if len(inputs) != 1:
            raise ModelError(f"{self.name}: expected one input tensor, found {len(inputs)}")
        if not proto.graph.output:
            raise ModelError(f"{self.name}: the graph has no output")
        self.input_name = inputs[0].name
        self.output_name = proto.graph.output[0].name
        dims = declared_dims(inputs[0])
        self.declared_input = dims
        self.has_batch, self.input_shape = split_batch(dims)
        self.n_inputs = int(math.prod(self.input_shape))
        self._providers = _providers(device, self.name)
        self._threads = threads
        native = self.has_batch and dims[0] is None
        self._session = self._session_for(data)
        self.batch_mode = "native" if native else "loop"
        probe = self._run_loop(np.zeros((1, *self.input_shape), dtype=np.float32))
        self.n_outputs = int(probe.shape[1])
        if not native:
            self._try_batched(proto)

    def _session_for(self, data: bytes) -> Any:
        import onnxruntime as ort

        ort.set_default_logger_severity(4)  # failures are raised, not logged to stderr
        opts = ort.SessionOptions()
        opts.log_severity_level = 4
        if self._threads:
            opts.intra_op_num_threads = self._threads
            opts.inter_op_num_threads = 1
        try:
            return ort.InferenceSession(data, sess_options=opts, providers=self._providers)
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ModelError(f"{self.name}: onnxruntime cannot load the model: {msg}") from None

    def _try_batched(self, proto: Any) -> None:
        """Swap in a session on a copy with a symbolic batch axis if it reproduces the model."""
        try:
            copy = _with_batch_axis(proto, prepend=not self.has_batch)
            session = self._session_for(copy.SerializeToString())
            x = np.random.default_rng(0).uniform(-1, 1, (3, *self.input_shape)).astype(np.float32)
            batched = self._feed(session, x).reshape(3, -1)
            single = self._run_loop(x)
        except Exception:  # noqa: BLE001 - any failure means: keep running sample by sample
            return
        if batched.shape == single.shape and np.allclose(batched, single, rtol=1e-5, atol=1e-6):
            self._batched_session, self.batch_mode = session, "rewritten"

    def _feed(self, session: Any, x: np.ndarray) -> np.ndarray:
        out = session.run([self.output_name], {self.input_name: x})[0]
        return np.asarray(out)

    def _run_loop(self, x: np.ndarray) -> np.ndarray:
        shape = tuple(1 if d is None else d for d in self.declared_input)
        rows = [self._feed(self._session, xi.reshape(shape)).reshape(-1) for xi in x]
        return np.stack(rows) if rows else np.zeros((0, getattr(self, "n_outputs", 0)), np.float32)

    def shaped(self, X: Any) -> np.ndarray:
        """``X`` as float32 ``(N, *input_shape)`` (accepts flat rows, shaped tensors, one row)."""
        x = np.asarray(X, dtype=np.float32)
        if x.shape == self.input_shape or (x.ndim == 1 and x.size == self.n_inputs):
            x = x.reshape(1, -1)
        if x.ndim >= 1 and x.size == len(x) * self.n_inputs and (
                x.shape[1:] == self.input_shape or x.shape[1:] == (self.n_inputs,)):
            return np.ascontiguousarray(x.reshape(len(x), *self.input_shape))
        raise ModelError(f"{self.name}: inputs of shape {x.shape} do not fit the model input "
                         f"{self.input_shape} ({self.n_inputs} values per sample)")

    def run(self, X: Any, *, batch_size: int = 65536) -> np.ndarray:
        """Outputs ``(N, n_outputs)`` float32 for inputs ``(N, n_inputs)`` or
        ``(N, *input_shape)``."""
        x = self.shaped(X)
        if self.batch_mode == "loop":
            return self._run_loop(x)
        session = self._session if self.batch_mode == "native" else self._batched_session
        outs = [self._feed(session, x[i:i + batch_size]).reshape(len(x[i:i + batch_size]), -1)
                for i in range(0, len(x), batch_size)]
        return np.concatenate(outs) if outs else np.zeros((0, self.n_outputs), np.float32)

    __call__ = run


def _providers(device: str, name: str) -> list[str]:
    import onnxruntime as ort

    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ModelError(f"{name}: device {device!r} needs onnxruntime-gpu with CUDA "
                             "(pip install onnxruntime-gpu on a GPU machine) or use device cpu",
                             param="device")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ModelError(f"unknown device {device!r}; use cpu or cuda")


def _with_batch_axis(proto: Any, prepend: bool) -> Any:
    """A copy whose input/output first dimension is a symbolic ``N``, replacing the fixed
    batch axis or (``prepend``) adding one; intermediate shape annotations are dropped so
    onnxruntime re-infers them. The caller checks the copy against per-sample runs."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(proto)
    del m.graph.value_info[:]
    inits = {i.name for i in m.graph.initializer}
    for vi in list(m.graph.input) + list(m.graph.output):
        if vi.name in inits:
            continue
        dims = vi.type.tensor_type.shape.dim
        if prepend:
            old = [type(d)() for d in dims]
            for o, d in zip(old, dims, strict=True):
                o.CopyFrom(d)
            del dims[:]
            dims.add().dim_param = "N"
            for o in old:
                dims.add().CopyFrom(o)
        elif len(dims) >= 1:
            dims[0].Clear()
            dims[0].dim_param = "N"
    return m
