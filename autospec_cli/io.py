"""Atomic, non-clobbering file output and content hashing.

Outputs are written to a temporary file in the destination folder and moved into place with
``os.replace``, so a reader never sees a half-written file and a crash leaves the old file
(or nothing) behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.errors import OutputExistsError


def check_writable(path: str | os.PathLike[str], force: bool = False) -> Path:
    """Refuse to overwrite an existing file unless ``force``; return the path."""
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError(f"{p} already exists; set force to overwrite it")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place when the block succeeds."""
    dest = check_writable(path, force)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, force: bool = False) -> Path:
    with atomic_path(path, force=force) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, force: bool = False) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), force=force)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, force: bool = False) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n", force=force)


def sha256_arrays(*arrays: np.ndarray) -> str:
    """A content hash of arrays (shape, dtype and bytes), stable across runs."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
