"""MNIST-format image datasets: IDX files (gzip or not), folders of them, and split NPZ files.

IDX (LeCun's format, used by MNIST, Fashion-MNIST, EMNIST, KMNIST): a big-endian header
``0x00 0x00 TYPE NDIM``, then ``NDIM`` big-endian uint32 sizes, then the values row-major.
TYPE is 0x08 (uint8), 0x09 (int8), 0x0B (int16), 0x0C (int32), 0x0D (float32) or
0x0E (float64). Images are ``(n, rows, cols)`` (magic 0x00000803), labels ``(n,)``
(0x00000801). A file is read as gzip when it starts with the gzip magic, whatever its name.

Sources accepted by :func:`load_image_arrays` (and by :func:`autospec_cli.data.load_dataset`):

- a folder holding ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` and/or the
  ``t10k-`` (or ``test-``) pair; ``.idx3-ubyte`` spellings and ``.gz`` are accepted;
- one images file (its labels file is found by replacing ``images``/``idx3`` in the name);
- an NPZ with ``x_train``, ``y_train``, ``x_test``, ``y_test`` (the Keras ``mnist.npz``
  layout; upper-case ``X_train`` also works).

Pixel values are kept as stored (0..255 for MNIST); models standardise their inputs.
"""

from __future__ import annotations

import gzip
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.errors import InputError

_DTYPES: dict[int, str] = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
                           0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"
PARTS: tuple[str, ...] = ("train", "test")
_PREFIXES: dict[str, tuple[str, ...]] = {"train": ("train",), "test": ("t10k", "test")}
_SPLIT_KEYS: dict[str, tuple[str, str]] = {"train": ("x_train", "y_train"),
                                           "test": ("x_test", "y_test")}


def _open(path: Path):  # noqa: ANN202 - a binary file object
    with open(path, "rb") as fh:
        head = fh.read(2)
    return gzip.open(path, "rb") if head == _GZIP_MAGIC else open(path, "rb")


def _header(raw: bytes, path: Path) -> tuple[str, tuple[int, ...], int]:
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES or raw[3] == 0:
        raise InputError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'none'})")
    ndim = raw[3]
    end = 4 + 4 * ndim
    if len(raw) < end:
        raise InputError(f"{path}: IDX header is cut short")
    dims = tuple(int(v) for v in np.frombuffer(raw[4:end], dtype=">u4"))
    return _DTYPES[raw[2]], dims, end


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array stored in one IDX file (gzip-compressed or not), in native byte order."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such IDX file")
    try:
        with _open(p) as fh:
            raw = fh.read()
    except (OSError, EOFError) as e:
        raise InputError(f"{p}: cannot read ({e})") from None
    dtype, dims, start = _header(raw, p)
    count = int(np.prod(dims, dtype=np.int64))
    size = np.dtype(dtype).itemsize * count
    if len(raw) - start < size:
        raise InputError(f"{p}: IDX data is cut short ({len(raw) - start} of {size} bytes)")
    if len(raw) - start > size:
        raise InputError(f"{p}: {len(raw) - start - size} bytes after the IDX data; damaged file?")
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=start).reshape(dims)
    return arr.astype(np.dtype(dtype).newbyteorder("="))


def is_idx_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a file whose (decompressed) first bytes are an IDX header."""
    p = Path(path)
    if not p.is_file():
        return False
    try:
        with _open(p) as fh:
            head = fh.read(4)
    except (OSError, EOFError):
        return False
    return len(head) == 4 and head[0] == 0 and head[1] == 0 and head[2] in _DTYPES and head[3] > 0


def _kind_of(name: str) -> tuple[str, str] | None:
    """``(part, "images"|"labels")`` for an MNIST-style file name, else None."""
    low = name.lower()
    m = re.match(r"^(train|t10k|test)[-_.](images|labels)[-_.]idx[13][-_.]ubyte(\.gz)?$", low)
    if not m:
        return None
    part = "train" if m.group(1) == "train" else "test"
    return part, m.group(2)


def find_idx_files(folder: str | os.PathLike[str]) -> dict[str, dict[str, Path]]:
    """``{part: {"images": path, "labels": path}}`` for the MNIST-style files in ``folder``."""
    found: dict[str, dict[str, Path]] = {}
    for f in sorted(Path(folder).iterdir()):
        kind = _kind_of(f.name) if f.is_file() else None
        if kind is not None:
            found.setdefault(kind[0], {}).setdefault(kind[1], f)
    return {part: files for part, files in found.items() if len(files) == 2}


def is_idx_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder with at least one complete images+labels IDX pair."""
    p = Path(path)
    return p.is_dir() and bool(find_idx_files(p))


def labels_file_for(images: Path) -> Path:
    """The labels file beside an images file (``...images-idx3...`` -> ``...labels-idx1...``)."""
    name = images.name
    candidates = [name.replace("images", "labels").replace("idx3", "idx1"),
                  name.replace("images", "labels")]
    for c in candidates:
        if c != name and (images.parent / c).is_file():
            return images.parent / c
    raise InputError(f"{images}: no labels file beside it (looked for {candidates[0]})")


@dataclass
class ImageArrays:
    """Image parts as stored: ``parts[name] = (X (n, H, W) or (n, C, H, W), y (n,))``."""

    parts: dict[str, tuple[np.ndarray, np.ndarray]]
    input_shape: tuple[int, ...]
    files: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def has_test(self) -> bool:
        return "test" in self.parts


def _pair(images: np.ndarray, labels: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    if images.ndim < 2:
        raise InputError(f"{what}: images must have at least 2 dimensions, got {images.shape}")
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(images):
        raise InputError(f"{what}: {len(images)} images but {len(labels)} labels")
    if len(labels) == 0:
        raise InputError(f"{what}: no images")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.mod(labels, 1) == 0):
            raise InputError(f"{what}: labels must be integers")
    return images, labels.astype(np.int64)


def _shape_of(X: np.ndarray) -> tuple[int, ...]:
    return (1, *X.shape[1:]) if X.ndim == 3 else tuple(X.shape[1:])


def _from_folder(p: Path) -> ImageArrays:
    files = find_idx_files(p)
    if not files:
        raise InputError(f"{p}: no IDX images/labels pair (e.g. train-images-idx3-ubyte.gz and "
                         "train-labels-idx1-ubyte.gz) in this folder")
    parts = {part: _pair(read_idx(f["images"]), read_idx(f["labels"]), str(f["images"]))
             for part, f in sorted(files.items())}
    names = [f[k].name for f in files.values() for k in ("images", "labels")]
    return _checked(parts, names, str(p))


def _from_npz(p: Path) -> ImageArrays:
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"{p}: not a readable NPZ file ({e})") from None
    lower = {k.lower(): k for k in arrays}
    parts = {}
    for part, (xk, yk) in _SPLIT_KEYS.items():
        if xk in lower and yk in lower:
            parts[part] = _pair(arrays[lower[xk]], arrays[lower[yk]], f"{p} [{part}]")
    if not parts:
        raise InputError(f"{p}: NPZ without x_train/y_train (or x_test/y_test) arrays")
    return _checked(parts, [p.name], str(p))


def _checked(parts: dict[str, tuple[np.ndarray, np.ndarray]], files: list[str],
             source: str) -> ImageArrays:
    shapes = {part: _shape_of(X) for part, (X, _) in parts.items()}
    if len(set(shapes.values())) != 1:
        raise InputError(f"{source}: parts have different image shapes {shapes}")
    return ImageArrays(parts, next(iter(shapes.values())), files, source)


def has_split_arrays(path: str | os.PathLike[str]) -> bool:
    """Whether an NPZ holds ``x_train``/``y_train`` (Keras layout) arrays."""
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = {k.lower() for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return False
    return any(x in keys and y in keys for x, y in _SPLIT_KEYS.values())


def load_image_arrays(source: str | os.PathLike[str]) -> ImageArrays:
    """Read an IDX folder, an IDX images file (labels found beside it) or a split NPZ."""
    p = Path(source)
    if p.is_dir():
        return _from_folder(p)
    if not p.is_file():
        raise InputError(f"{p}: no such file or folder")
    if p.suffix.lower() == ".npz":
        return _from_npz(p)
    if not is_idx_file(p):
        raise InputError(f"{p}: not an IDX file, IDX folder or split NPZ")
    images = read_idx(p)
    if images.ndim == 1:
        raise InputError(f"{p} holds labels; point to the images file or the folder instead")
    labels = labels_file_for(p)
    kind = _kind_of(p.name)
    part = kind[0] if kind else "train"
    return _checked({part: _pair(images, read_idx(labels), str(p))}, [p.name, labels.name], str(p))


def load_idx(source: str | os.PathLike[str]) -> Dataset:
    """An MNIST-format source as one :class:`Dataset` (rows of flattened pixels).

    Parts are stacked train first, then test; ``groups`` holds the part index (0 = train,
    1 = test when both exist) and ``meta["parts"]`` their names, so a caller can take the
    published split apart again. ``meta["input_shape"]`` is ``[C, H, W]``.
    """
    arrays = load_image_arrays(source)
    names = [part for part in PARTS if part in arrays.parts]
    X = np.concatenate([arrays.parts[n][0].reshape(len(arrays.parts[n][0]), -1) for n in names])
    y = np.concatenate([arrays.parts[n][1] for n in names])
    groups = np.concatenate([np.full(len(arrays.parts[n][1]), i) for i, n in enumerate(names)])
    n_classes = int(y.max()) + 1
    return Dataset(
        X=X, y=y, features=[f"x{j}" for j in range(X.shape[1])], task="classification",
        name=Path(source).stem, classes=[str(c) for c in range(n_classes)], groups=groups,
        meta={"format": "idx", "source": str(source), "input_shape": list(arrays.input_shape),
              "parts": names, "files": arrays.files},
    )


__all__ = [
    "ImageArrays",
    "find_idx_files",
    "has_split_arrays",
    "is_idx_file",
    "is_idx_folder",
    "labels_file_for",
    "load_idx",
    "load_image_arrays",
    "read_idx",
]
