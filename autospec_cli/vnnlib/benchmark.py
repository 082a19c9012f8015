"""VNN-COMP benchmark folders: write them from properties, read their ``instances.csv``.

Layout written by :func:`write_benchmark`::

    BENCH/
      onnx/<model>.onnx          the model(s), copied
      vnnlib/<spec id>.vnnlib    one property per item
      instances.csv              onnx/<model>.onnx,vnnlib/<id>.vnnlib,<timeout>  (no header)
      manifest.json              provenance: spec ids, sha256s, domain closing, factor levels

The folder is assembled under a temporary name beside ``BENCH`` and renamed into place when
complete, so an interrupted export never leaves a folder that looks finished.

:func:`read_benchmark` reads any VNN-COMP ``instances.csv`` (ours, the 2021-2025 competition
folders, or a ``*instances.csv`` file given directly). Paths are relative to the CSV's folder;
a missing ``x.onnx`` / ``y.vnnlib`` is also looked for as ``x.onnx.gz`` / ``y.vnnlib.gz`` (how
the competition repositories store them). The network column may also name networks, as
VNN-LIB 2.0 queries do (``--network NAME=MODEL.onnx``): ``N=onnx/a.onnx``, several joined by
``;``, or VNN-COMP 2026's Python-style list ``[('f','onnx/a.onnx'),('g','onnx/b.onnx')]``.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autospec_cli import __version__
from autospec_cli.errors import InputError, OutputExistsError, VnnlibError
from autospec_cli.inert import excerpt
from autospec_cli.io import publish_dir, to_jsonable
from autospec_cli.params import check_seconds
from autospec_cli.progress import ProgressFn
from autospec_cli.vnnlib.onnxinfo import ModelIO, model_io
from autospec_cli.vnnlib.property import Property
from autospec_cli.vnnlib.writer import VERSIONS, render_vnnlib

MANIFEST_FORMAT = "autospec-benchmark"
MANIFEST_VERSION = 1
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Instance:
    """One verification problem: an ONNX model, a VNN-LIB property and a time budget."""

    onnx: Path
    vnnlib: Path
    timeout: float = 60.0
    category: str = ""

    @property
    def key(self) -> str:
        return f"{self.onnx}::{self.vnnlib}"


@dataclass
class BenchmarkItem:
    """One property to export: its id (file name), the property, and provenance.

    ``meta`` (e.g. GDVB factor levels, the spec's support) is copied into the manifest;
    ``model`` overrides the benchmark's default model; ``timeout`` its default timeout.
    """

    id: str
    prop: Property
    meta: dict[str, Any] = field(default_factory=dict)
    model: Path | None = None
    timeout: float | None = None


@dataclass(frozen=True)
class BenchmarkRow:
    """One row of ``instances.csv`` with resolved paths (``networks``: name -> ONNX file)."""

    networks: dict[str, Path]
    vnnlib: Path
    timeout: float
    line: int

    @property
    def onnx(self) -> Path:
        """The (first) network's model file."""
        return next(iter(self.networks.values()))


# ----------------------------------------------------------------------------- writing


def _file_name(item_id: str) -> str:
    name = _SAFE.sub("_", item_id).strip("._") or "property"
    return name + ".vnnlib"


def _timeout_text(t: float) -> str:
    return str(int(t)) if float(t).is_integer() else repr(float(t))


def _replaceable(out: Path) -> bool:
    """May ``--force`` replace this existing path? Only an empty folder or a benchmark."""
    if not out.is_dir():
        return False
    names = {p.name for p in out.iterdir()}
    return not names or "manifest.json" in names or "instances.csv" in names


def _check_out(out: Path, force: bool) -> None:
    if not out.exists():
        return
    if not force:
        raise OutputExistsError(f"{out} already exists; set force to replace it")
    if not _replaceable(out):
        raise OutputExistsError(
            f"{out} exists and is not a benchmark folder (no instances.csv or manifest.json); "
            "refusing to replace it, remove it yourself or choose another -o"
        )


class _Models:
    """Copies each distinct model into ``onnx/`` once and remembers its shapes and hash."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.by_source: dict[Path, str] = {}
        self.io: dict[str, ModelIO] = {}
        self.entries: list[dict[str, Any]] = []

    def add(self, source: Path) -> str:
        key = source.resolve()
        if key in self.by_source:
            return self.by_source[key]
        mio = model_io(source)
        base = source.name
        rel = f"onnx/{base}"
        k = 2
        while any(e["file"] == rel for e in self.entries):
            stem, dot, ext = base.partition(".")
            rel = f"onnx/{stem}_{k}{dot}{ext}"
            k += 1
        dest = self.root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        self.by_source[key] = rel
        self.io[rel] = mio
        self.entries.append({"file": rel, "source_name": source.name, "sha256": _sha256_file(dest),
                             "input_shape": list(mio.input_shape),
                             "output_shape": list(mio.output_shape)})
        return rel


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _render(item: BenchmarkItem, mio: ModelIO, version: str, rel_model: str) -> str:
    prop = item.prop
    if prop.n_inputs != mio.n_inputs or prop.n_outputs != mio.n_outputs:
        raise VnnlibError(
            f"property {item.id!r} has {prop.n_inputs} inputs and {prop.n_outputs} outputs but "
            f"{rel_model} has {mio.n_inputs} and {mio.n_outputs}"
        )
    comment = f"autospec {__version__}: property {item.id} for {rel_model} (counterexample region)"
    if version == "2.0":
        return render_vnnlib(prop, "2.0", input_shape=mio.input_shape,
                             output_shape=mio.output_shape, comment=comment)
    return render_vnnlib(prop, "1.0", comment=comment)


def _coerce(item: Any) -> BenchmarkItem:
    if isinstance(item, BenchmarkItem):
        return item
    if isinstance(item, tuple) and 2 <= len(item) <= 3:
        return BenchmarkItem(str(item[0]), item[1], dict(item[2]) if len(item) == 3 else {})
    raise TypeError(f"benchmark items must be BenchmarkItem or (id, prop[, meta]), got {item!r}")


def _fill(tmp: Path, model_path: Path | None, items: Sequence[BenchmarkItem], version: str,
          timeout: float, progress: ProgressFn | None) -> tuple[list[dict[str, Any]], _Models]:
    """Write models, properties and instances.csv into ``tmp``; return manifest entries."""
    models = _Models(tmp)
    (tmp / "vnnlib").mkdir()
    entries: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    for k, item in enumerate(items):
        source = item.model or model_path
        if source is None:
            raise InputError(f"property {item.id!r} has no model and no default model was given")
        rel_model = models.add(Path(source))
        name = _file_name(item.id)
        if name in seen:
            raise InputError(f"properties {seen[name]!r} and {item.id!r} both map to {name}")
        seen[name] = item.id
        text = _render(item, models.io[rel_model], version, rel_model).encode("utf-8")
        (tmp / "vnnlib" / name).write_bytes(text)
        t = float(item.timeout if item.timeout is not None else timeout)
        writer.writerow([rel_model, f"vnnlib/{name}", _timeout_text(t)])
        meta = item.prop.meta
        entries.append({
            "id": item.id, "onnx": rel_model, "vnnlib": f"vnnlib/{name}", "timeout": t,
            "onnx_sha256": next(e["sha256"] for e in models.entries if e["file"] == rel_model),
            "vnnlib_sha256": hashlib.sha256(text).hexdigest(), "vnnlib_version": version,
            "n_inputs": item.prop.n_inputs, "n_outputs": item.prop.n_outputs,
            "n_cases": len(item.prop.cases),
            "closed": bool(meta.get("closed", False)),
            "closed_features": list(meta.get("closed_features", [])),
            "property": {k2: v for k2, v in meta.items()
                         if k2 not in ("closed", "closed_features")},
            "meta": dict(item.meta),
        })
        if progress:
            progress("export", k + 1, len(items))
    (tmp / "instances.csv").write_text(rows.getvalue(), encoding="utf-8")
    return entries, models


def write_benchmark(
    out_dir: str | os.PathLike[str],
    model_path: str | os.PathLike[str] | None,
    items: Iterable[BenchmarkItem | tuple],
    *,
    version: str = "1.0",
    timeout: float = 60,
    category: str | None = None,
    domain: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
    also_models: Sequence[str | os.PathLike[str]] = (),
) -> Path:
    """Write a VNN-COMP benchmark folder and return its path.

    ``also_models`` are copied into ``onnx/`` and listed in the manifest although no instance
    names them (the original model beside the twin networks of monotonicity properties).

    ``items`` are :class:`BenchmarkItem` (or ``(id, prop[, meta])`` tuples). ``domain``
    (how unbounded boxes were closed: source, lo, hi) and ``extra`` go into the manifest.
    ``force`` replaces an existing benchmark folder (never an unrelated non-empty folder).
    """
    if version not in VERSIONS:
        raise VnnlibError(f"unknown VNN-LIB version {version!r}; use 1.0 or 2.0")
    timeout = check_seconds("timeout", timeout)
    out = Path(out_dir)
    item_list = [_coerce(i) for i in items]
    if not item_list:
        raise InputError("nothing to export: no properties")
    _check_out(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    publish_dir(tmp)  # mkdtemp's folder is 0700; the benchmark is shared like any folder
    try:
        entries, models = _fill(tmp, Path(model_path) if model_path else None, item_list,
                                version, float(timeout), progress)
        for extra_model in also_models:
            models.add(Path(extra_model))
        manifest = {
            "format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION,
            "created_by": f"autospec {__version__}", "category": category or out.name,
            "vnnlib_version": version, "timeout": float(timeout), "domain": domain,
            "models": models.entries, "instances": entries, **(extra or {}),
        }
        text = json.dumps(to_jsonable(manifest), indent=1, allow_nan=False) + "\n"
        (tmp / "manifest.json").write_text(text, encoding="utf-8")
        _swap_into_place(tmp, out, force)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _swap_into_place(tmp: Path, out: Path, force: bool) -> None:
    _check_out(out, force)  # again: something may have appeared meanwhile
    if not out.exists():
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    old.rmdir()
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(bench_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest of a benchmark written by autospec, or None for other folders."""
    p = Path(bench_dir) / "manifest.json"
    if not p.is_file():
        return None
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{p} is not valid JSON: {e}") from None
    return d if isinstance(d, dict) else None


# ----------------------------------------------------------------------------- reading


#: subfolders of a benchmark in the VNN-COMP 2026 repository layout, in order of preference:
#: the 1.0 files are what the regular track scores (and one network per query)
VERSION_DIRS = ("1.0", "2.0")


def find_instances_csv(bench: str | os.PathLike[str]) -> Path:
    """``bench`` itself when it is a CSV, else its ``instances.csv`` / only ``*instances*.csv``,
    else that of its ``1.0/`` (preferred) or ``2.0/`` subfolder."""
    p = Path(bench)
    if p.is_file():
        return p
    if not p.is_dir():
        raise InputError(f"benchmark {p} does not exist")
    if (p / "instances.csv").is_file():
        return p / "instances.csv"
    found = sorted(p.glob("*instances*.csv"))
    if not found:
        for version in VERSION_DIRS:
            if (p / version).is_dir() and any((p / version).glob("*instances*.csv")):
                return find_instances_csv(p / version)
    if len(found) == 1:
        return found[0]
    if not found:
        raise InputError(f"{p} has no instances.csv; is it a VNN-COMP benchmark folder?")
    raise InputError(f"{p} has several instance lists ({', '.join(f.name for f in found)}); "
                     "pass the CSV file itself")


def _split_row(line: str) -> list[str]:
    """Split a CSV line whose first field may be an unquoted ``[(...), ...]`` list."""
    s = line.strip()
    if s.startswith("["):
        end = s.find("]")
        if end > 0:
            rest = s[end + 1:].lstrip().removeprefix(",")
            return [s[: end + 1], *next(csv.reader([rest]), [])]
    return next(csv.reader([s]), [])


def _networks(field_text: str, where: str) -> list[tuple[str, str]]:
    """The (name, path) pairs named by an onnx column."""
    f = field_text.strip()
    if f.startswith("["):
        try:
            pairs = ast.literal_eval(f)
            return [(str(n), str(path)) for n, path in pairs]
        except (ValueError, SyntaxError, TypeError) as e:
            raise InputError(f"{where}: cannot read the network list {excerpt(f)} "
                             f"({type(e).__name__})") from None
    out = []
    for part in f.split(";"):
        name, eq, path = part.partition("=")
        if eq and name.strip().isidentifier():
            out.append((name.strip(), path.strip()))
        else:
            out.append(("", part.strip()))
    return out


def confine(base: Path, path: Path, where: str, allow_outside: bool = False) -> Path:
    """``path`` when it resolves (after symbolic links) inside the folder ``base``.

    A benchmark is someone else's folder: a row naming ``../../etc/passwd``, an absolute path
    or a link leading out of the folder would make us read (and quote) files the benchmark
    does not contain. Such a row is refused unless ``allow_outside`` (``--allow-outside``).
    """
    if allow_outside:
        return path
    real, root = path.resolve(), base.resolve()
    if real != root and root not in real.parents:
        raise InputError(f"{where}: {str(path)!r} is outside the benchmark folder {root} "
                         "(after links); pass allow_outside to use such paths",
                         param="allow_outside")
    return path


def _resolve(base: Path, rel: str, where: str = "", allow_outside: bool = False) -> Path | None:
    p = Path(rel)
    p = p if p.is_absolute() else base / p
    if p.is_file():
        return confine(base, p, where, allow_outside)
    alt = p.with_name(p.name[:-3]) if p.name.endswith(".gz") else p.with_name(p.name + ".gz")
    return confine(base, alt, where, allow_outside) if alt.is_file() else None


def read_instances(
    csv_path: str | os.PathLike[str], *, missing: str = "error", allow_outside: bool = False
) -> list[BenchmarkRow]:
    """Parse an ``instances.csv`` (no header expected; one is tolerated).

    ``missing="error"`` raises an InputError for a file that does not exist;
    ``missing="skip"`` leaves its row out. Every file a row names must lie inside the CSV's
    folder after links are followed (:func:`confine`) unless ``allow_outside``.
    """
    if missing not in ("error", "skip"):
        raise ValueError("missing must be 'error' or 'skip'")
    path = Path(csv_path)
    base = path.parent
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path}: {e}") from None
    rows: list[BenchmarkRow] = []
    first = True
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{n}"
        fields = [f.strip() for f in _split_row(line)]
        try:
            timeout = float(fields[2]) if len(fields) >= 3 else None
        except ValueError:
            timeout = None
        if timeout is None or len(fields) > 3:
            if first and len(fields) >= 2:
                first = False
                continue  # a header line
            raise InputError(f"{where}: expected 'onnx,vnnlib,timeout', got "
                             f"{excerpt(line.strip())}")
        first = False
        if not (math.isfinite(timeout) and timeout > 0):
            raise InputError(f"{where}: the timeout {fields[2]!r} is not a positive number of "
                             "seconds")
        resolved: dict[str, Path] = {}
        ok = True
        for k, (name, rel) in enumerate(_networks(fields[0], where)):
            p = _resolve(base, rel, where, allow_outside)
            if p is None:
                if missing == "error":
                    raise InputError(f"{where}: model {rel} does not exist (next to {path.name})")
                ok = False
                break
            resolved[name or (f"N{k}" if k else "N")] = p
        vnn = _resolve(base, fields[1], where, allow_outside)
        if vnn is None:
            if missing == "error":
                raise InputError(f"{where}: property {fields[1]} does not exist "
                                 f"(next to {path.name})")
            ok = False
        if ok and resolved and vnn is not None:
            rows.append(BenchmarkRow(resolved, vnn, timeout, n))
    return rows


def read_benchmark(
    bench_dir: str | os.PathLike[str], *, missing: str = "error", category: str | None = None,
    allow_outside: bool = False,
) -> list[Instance]:
    """The instances of a benchmark folder (or of an instances CSV file), confined to it
    unless ``allow_outside`` (see :func:`read_instances`).

    The category defaults to the manifest's, else the folder's name. A multi-network row
    (VNN-LIB 2.0 queries over several networks) gives an Instance of its first network.
    """
    csv_path = find_instances_csv(bench_dir)
    if category is None:
        manifest = read_manifest(csv_path.parent)
        folder = csv_path.parent.resolve()
        if folder.name in VERSION_DIRS:  # <benchmark>/1.0/instances.csv
            folder = folder.parent
        category = str(manifest.get("category")) if manifest and manifest.get("category") \
            else folder.resolve().name
    rows = read_instances(csv_path, missing=missing, allow_outside=allow_outside)
    return [Instance(onnx=r.onnx, vnnlib=r.vnnlib, timeout=r.timeout, category=category)
            for r in rows]
