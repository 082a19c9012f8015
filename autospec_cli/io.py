"""Atomic, non-clobbering file output, content hashing and the one conversion to plain JSON.

Outputs are written to a temporary file in the destination folder and moved into place with
``os.replace``, so a reader never sees a half-written file and a crash leaves the old file
(or nothing) behind. The temporary file is private while it is written (``mkstemp``: 0600);
the finished output gets the mode any other program would give it, ``0666`` less the user's
umask (0644 by default), and a staged folder :func:`publish_dir` gives ``0777`` less the umask
(0755), so results can be shared like any other file.

:func:`to_jsonable` is the only place values become plain JSON (numpy, paths, enums,
non-finite floats): every writer of JSON in the package goes through it, so a number or an
enum is written the same way in a job result, a manifest and a report.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import hashlib
import io
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autospec_cli.errors import OutputExistsError

if TYPE_CHECKING:  # numpy is imported where it is used: job workers import this module
    import numpy as np


def check_writable(path: str | os.PathLike[str], force: bool = False) -> Path:
    """Refuse to overwrite an existing file unless ``force``, and a folder always (a file is
    expected there; ``force`` never replaces a folder); return the path."""
    p = Path(path)
    if p.is_dir():
        raise OutputExistsError(f"{p} is a folder; give the path of a file to write",
                                param=None)
    if p.exists() and not force:
        raise OutputExistsError(f"{p} already exists; set force to overwrite it")
    return p


def current_umask() -> int:
    """The process's umask, read without changing it where the system tells it (Linux
    ``/proc``); elsewhere set and restored at once."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def publish_file(path: str | os.PathLike[str]) -> None:
    """Give a finished file the mode a plain ``open`` would have: ``0666`` less the umask."""
    os.chmod(path, 0o666 & ~current_umask())


def publish_dir(path: str | os.PathLike[str]) -> None:
    """Give a staged folder (``mkdtemp``: 0700) the mode of ``mkdir``: ``0777`` less the umask."""
    os.chmod(path, 0o777 & ~current_umask())


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
        if tmp_path.exists():
            publish_file(tmp_path)
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


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Iterable[str] | None = None) -> str:
    """CSV text of dict rows with a header. ``columns`` picks and orders the columns (other
    keys are left out; with no rows the header alone is written); without it the first row's
    keys are the columns, a later row with another key is an error, and no rows give ``""``."""
    rows = list(rows)
    if columns is None and not rows:
        return ""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if columns is None else list(columns),
                       extrasaction="raise" if columns is None else "ignore",
                       lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def sha256_arrays(*arrays: np.ndarray) -> str:
    """A content hash of arrays (shape, dtype and bytes), stable across runs."""
    import numpy as np

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


def to_jsonable(obj: Any, *, strict: bool = False) -> Any:
    """``obj`` as plain JSON values that :func:`json.dumps` writes without a ``default``.

    numpy (and torch) arrays and scalars become lists and Python numbers, paths strings, enums
    their value, tuples and sets lists, mapping keys strings (``True`` -> ``"true"``, ``None``
    -> ``"null"``, as :mod:`json` writes them); non-finite floats (NaN, +-inf) become ``None``.
    Anything else becomes ``str(obj)``.

    ``strict=True`` refuses instead of guessing: a non-finite float raises :class:`ValueError`
    and a value of any other type (or a mapping key that JSON cannot hold) :class:`TypeError`,
    as ``json.dumps(..., allow_nan=False)`` would.
    """
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value, strict=strict)
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        if math.isfinite(obj):
            return float(obj)
        if strict:
            raise ValueError(f"{obj!r} is not allowed in JSON")
        return None
    if isinstance(obj, Mapping):
        return {_json_key(k, strict): to_jsonable(v, strict=strict) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, strict=strict) for v in obj]
    if isinstance(obj, (set, frozenset)) and not strict:
        return [to_jsonable(v) for v in sorted(obj, key=repr)]
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy / torch arrays and scalars
        return to_jsonable(obj.tolist(), strict=strict)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if strict:
        raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")
    return str(obj)


def _json_key(key: Any, strict: bool) -> str:
    """A mapping key as the string :mod:`json` would write for it."""
    if isinstance(key, enum.Enum):
        key = key.value
    elif hasattr(key, "tolist") and not isinstance(key, (str, int, float)):
        key = key.tolist()  # numpy scalars
    if key is None or isinstance(key, bool):
        return json.dumps(key)
    if isinstance(key, (str, int, float)):
        return str(key) if not isinstance(key, float) else json.dumps(key)
    if strict:
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
    return str(key)
