"""Models and properties loaded once per process, shared by the in-process backends and the
counterexample check.

One instance used to be read several times: by a backend, by every member of a portfolio and
by the re-check of a ``sat`` answer. The loaders here keep what they built, keyed by the
file's resolved path and its size, modification time and inode, plus the loader's own
options, in small least-recently-used caches:

* :func:`load_property` -- a parsed VNN-LIB property
  (:func:`autospec_cli.vnnlib.reader.read_vnnlib`);
* :func:`onnx_runner` -- an onnxruntime session
  (:class:`autospec_cli.models.runtime.OnnxRunner`);
* :func:`load_torch_model` -- the torch conversion of an ONNX model, checked against
  onnxruntime, in eval mode, parameters frozen, on the requested device;
* :func:`derived` -- anything else built from one file (e.g. ``bab``'s bounder of a model);
* :func:`derived_small` -- the same for small objects (e.g. a model's output facts), in a
  larger cache of its own so they never push a model out.

A file rewritten within the resolution of its file system's timestamps can keep its size and
modification time. So while a cached file is young (modified less than ``RACY_SECONDS``
before it was loaded) its content digest is kept too and compared on every lookup until the
file has aged; a change means a fresh load. A file that cannot be examined is handed to the
loader uncached, so its error is the loader's own.

What the loaders return is shared: treat it as read-only. :func:`clear_caches` empties
every cache (tests; long-running processes that want the memory back).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from autospec_cli.models.runtime import OnnxRunner
from autospec_cli.vnnlib import reader
from autospec_cli.vnnlib.property import Property

__all__ = [
    "MAX_MODELS", "MAX_PROPERTIES", "clear_caches", "derived", "derived_small", "load_property",
    "load_torch_model", "onnx_runner",
]

T = TypeVar("T")
PathLike = str | os.PathLike[str]

MAX_MODELS = 4  # per kind of model object (runners, torch models, derived objects)
MAX_PROPERTIES = 32
RACY_SECONDS = 2.0


@dataclass
class _Entry:
    value: Any
    stamp: tuple[int, int, int]  # size, mtime_ns, inode
    digest: bytes | None  # content digest while the file is young, else None


def _digest(path: Path) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.digest()


class FileCache:
    """A bounded LRU of objects built from files (see the module docstring)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0  # values built (not found) since the last clear()

    def get(self, path: PathLike, options: tuple[Hashable, ...], build: Callable[[], T]) -> T:
        """The cached value for ``path`` and ``options``, or ``build()`` (then cached)."""
        try:
            real = Path(path).resolve()
            st = real.stat()
        except OSError:
            return build()  # missing or unreadable: the loader says what is wrong
        key = (str(real), *options)
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
        if entry is not None and entry.stamp == stamp and self._unchanged(real, entry, st):
            return entry.value
        try:
            young = time.time_ns() - st.st_mtime_ns < RACY_SECONDS * 1e9
            digest = _digest(real) if young else None
        except OSError:
            return build()
        value = build()
        self.builds += 1
        with self._lock:
            self._data[key] = _Entry(value, stamp, digest)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    @staticmethod
    def _unchanged(real: Path, entry: _Entry, st: os.stat_result) -> bool:
        if entry.digest is None:
            return True
        try:
            if _digest(real) != entry.digest:
                return False
        except OSError:
            return False
        if time.time_ns() - st.st_mtime_ns >= RACY_SECONDS * 1e9:
            entry.digest = None  # any later rewrite gets a later modification time
        return True

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.builds = 0


_properties = FileCache(MAX_PROPERTIES)
_runners = FileCache(2 * MAX_MODELS)  # a model often has two: a backend's and a one-thread one
_torch_models = FileCache(MAX_MODELS)
_derived = FileCache(MAX_MODELS)
_small = FileCache(MAX_PROPERTIES)


def load_property(
    path: PathLike, *, n_inputs: int | None = None, n_outputs: int | None = None
) -> Property:
    """The VNN-LIB property at ``path`` (parsed once per process and sizes); ``n_inputs`` /
    ``n_outputs`` are checked as :func:`~autospec_cli.vnnlib.reader.read_vnnlib` does."""
    return _properties.get(
        path,
        (n_inputs, n_outputs),
        lambda: reader.read_vnnlib(Path(path), n_inputs=n_inputs, n_outputs=n_outputs),
    )


def onnx_runner(path: PathLike, *, device: str = "cpu", threads: int | None = None) -> OnnxRunner:
    """An onnxruntime runner of the ONNX model at ``path`` (one per file, device, threads)."""
    return _runners.get(
        path, (device, threads), lambda: OnnxRunner(Path(path), device=device, threads=threads)
    )


def load_torch_model(path: PathLike, *, device: str = "cpu") -> Any:
    """The ONNX model at ``path`` as a torch module checked against onnxruntime
    (:func:`~autospec_cli.models.onnx_to_torch.load_onnx_as_torch`), in eval mode with
    frozen parameters, on ``device``. Raises what the conversion raises."""

    def build() -> Any:
        from autospec_cli.models.onnx_to_torch import load_onnx_as_torch

        model = load_onnx_as_torch(Path(path), check=True)
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return model.to(device)

    return _torch_models.get(path, (device,), build)


def derived(path: PathLike, what: str, build: Callable[[], T], *options: Hashable) -> T:
    """``build()``, an object made from the file at ``path``, cached under the name ``what``
    and ``options`` with the same rules as the loaders."""
    return _derived.get(path, (what, *options), build)


def derived_small(path: PathLike, what: str, build: Callable[[], T], *options: Hashable) -> T:
    """:func:`derived` for objects of a few kilobytes, cached apart from the models."""
    return _small.get(path, (what, *options), build)


def clear_caches() -> None:
    """Forget every loaded model and property."""
    for cache in (_properties, _runners, _torch_models, _derived, _small):
        cache.clear()
