"""A verification run read back for CI: every instance with its model and property identified by
content, its verdict, time and counterexample file.

CI reads results it did not write here: last week's run restored from a cache, the main
branch's results downloaded as an artifact, a competition's ``results.csv``. :func:`load_run`
accepts each form a run takes:

- a results folder of ``autospec verify`` (``campaign.sqlite`` beside ``results.csv``): the
  records of :func:`~autospec_cli.verifyrun.records.load_records`, whose jobs stored the
  SHA-256 of each model and property when they ran -- so the files need not exist any more;
- a ``campaign.sqlite`` file: the same, for its folder;
- a ``results.csv`` (VNN-COMP columns), or a folder holding one without a store: paths are
  resolved against the CSV's folder and the folders above it (a results folder sits inside its
  benchmark, or the benchmark its ``campaign.json`` names) and the files hashed; a property
  file that cannot be found is identified by its name only (:attr:`RunEntry.property_sha256`
  empty).

Counterexample files come from the folder's ``summary.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from autospec_cli.campaign.engine import read_description
from autospec_cli.campaign.store import STORE_FILE
from autospec_cli.errors import InputError
from autospec_cli.io import sha256_file
from autospec_cli.verify.base import Instance, Result
from autospec_cli.verifyrun.records import VerifyRecord, find_verify_campaigns, load_records
from autospec_cli.verifyrun.results import RESULTS_CSV, SUMMARY_JSON, read_results_csv


@dataclass(frozen=True)
class RunEntry:
    """One instance of a run. ``model``/``prop`` are file names (what a person reads and
    what matches across runs), ``*_sha256`` their content hashes ("" when unknown),
    ``counterexample`` the counterexample file (relative to the run's folder) of a ``sat``."""

    verifier: str
    benchmark: str
    model: str
    prop: str
    model_sha256: str
    property_sha256: str
    verdict: str
    time: float
    timeout: float = 0.0
    message: str = ""
    counterexample: str | None = None
    #: a ``sat`` witness on a benchmark with discrete features: is it an input that can occur
    #: (:mod:`autospec_cli.verify.discrete`)? None: not checked
    discrete_ok: bool | None = None

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the instance across runs: the model's file name and the property's
        content (its name when the content is unknown)."""
        return self.model, self.property_sha256 or f"name:{self.prop}"

    @property
    def name_key(self) -> tuple[str, str]:
        """The instance by file names only (when one run lacks the property's content)."""
        return self.model, f"name:{self.prop}"


@dataclass(frozen=True)
class Run:
    """A run's entries in a stable order, and where they were read from."""

    source: str
    folder: Path | None
    entries: list[RunEntry]


def _name(path: str) -> str:
    return Path(path).name


def _counterexamples(folder: Path) -> dict[str, str]:
    """``onnx::vnnlib`` (as summary.json writes them) -> counterexample file."""
    p = folder / SUMMARY_JSON
    if not p.is_file():
        return {}
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for rec in doc.get("results") or []:
        if isinstance(rec, dict) and rec.get("counterexample"):
            out[f"{rec.get('onnx')}::{rec.get('vnnlib')}"] = str(rec["counterexample"])
    return out


def _discrete(folder: Path) -> dict[str, bool]:
    """``onnx::vnnlib`` -> ``discrete_ok`` of the witnesses summary.json records it for."""
    try:
        doc = json.loads((folder / SUMMARY_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {f"{rec.get('onnx')}::{rec.get('vnnlib')}": bool(rec["discrete_ok"])
            for rec in doc.get("results") or []
            if isinstance(rec, dict) and rec.get("discrete_ok") is not None}


def _summary_backend(folder: Path) -> str | None:
    p = folder / SUMMARY_JSON
    try:
        backend = json.loads(p.read_text(encoding="utf-8")).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return str(backend) if backend else None


def _from_record(r: VerifyRecord, cex: dict[str, str], benchmark: str,
                 discrete: dict[str, bool] | None = None) -> RunEntry:
    if r.onnx:
        onnx, prop = r.onnx, r.vnnlib
    else:
        onnx, _, prop = r.instance.partition("::")
    return RunEntry(r.verifier, r.category or benchmark, _name(onnx), _name(prop),
                    r.onnx_sha256, r.vnnlib_sha256, r.verdict, r.time, r.timeout, r.message,
                    cex.get(r.instance) if r.verdict == "sat" else None,
                    (discrete or {}).get(r.instance) if r.verdict == "sat" else None)


def _benchmark_name(folder: Path) -> str:
    desc = read_description(folder) or {}
    bench = desc.get("benchmark")
    return Path(str(bench)).name if bench else folder.parent.name


def _from_store(folder: Path) -> Run:
    records = load_records(folder)
    cex = _counterexamples(folder)
    bench = _benchmark_name(folder)
    discrete = _discrete(folder)
    return Run(str(folder), folder, [_from_record(r, cex, bench, discrete) for r in records])


def _resolve(path: str, bases: list[Path]) -> Path | None:
    p = Path(path)
    if p.is_absolute():
        return p if p.is_file() else None
    for b in bases:
        if (b / p).is_file():
            return b / p
    return None


def _from_csv(csv_path: Path) -> Run:
    rows = read_results_csv(csv_path)
    folder = csv_path.parent
    bench = (read_description(folder) or {}).get("benchmark")
    bases = [*([Path(str(bench))] if bench else []), folder,
             *list(folder.resolve().parents)[:2], Path.cwd()]
    hashes: dict[Path, str] = {}

    def digest(path: str) -> str:
        found = _resolve(path, bases)
        if found is None:
            return ""
        if found not in hashes:
            hashes[found] = sha256_file(found)
        return hashes[found]

    cex = _counterexamples(folder) if csv_path.name == RESULTS_CSV else {}
    discrete = _discrete(folder) if csv_path.name == RESULTS_CSV else {}
    verifier = (_summary_backend(folder) if csv_path.name == RESULTS_CSV else None) or \
        csv_path.stem
    entries = [RunEntry(verifier, row["category"] or folder.parent.name, _name(row["onnx"]),
                        _name(row["vnnlib"]), digest(row["onnx"]), digest(row["vnnlib"]),
                        row["result"], float(row["run_time"]),
                        counterexample=cex.get(f"{row['onnx']}::{row['vnnlib']}")
                        if row["result"] == "sat" else None,
                        discrete_ok=discrete.get(f"{row['onnx']}::{row['vnnlib']}")
                        if row["result"] == "sat" else None)
               for row in rows]
    return Run(str(csv_path), folder, entries)


def entries_of(instances: Sequence[Instance], results: Sequence[Result], *, verifier: str,
               benchmark: str, counterexamples: Mapping[str, Path] | None = None,
               folder: Path | None = None) -> list[RunEntry]:
    """Entries of a run just made (instances and results in order); files are hashed here."""
    hashes: dict[str, str] = {}

    def digest(path: Path) -> str:
        key = str(Path(path).resolve())
        if key not in hashes:
            hashes[key] = sha256_file(key) if Path(key).is_file() else ""
        return hashes[key]

    out = []
    for inst, res in zip(instances, results, strict=True):
        cex = (counterexamples or {}).get(inst.key)
        if cex is not None and folder is not None:
            try:
                cex = Path(cex).resolve().relative_to(Path(folder).resolve())
            except ValueError:
                pass
        out.append(RunEntry(verifier, inst.category or benchmark, Path(inst.onnx).name,
                            Path(inst.vnnlib).name, digest(inst.onnx), digest(inst.vnnlib),
                            res.verdict.value, float(res.time), float(inst.timeout),
                            res.message, str(cex) if cex is not None else None,
                            res.extra.get("discrete_ok")
                            if res.verdict.value == "sat" else None))
    return out


def load_run(source: str | os.PathLike[str]) -> Run:
    """Read a run from a results folder, a ``campaign.sqlite`` or a ``results.csv``."""
    p = Path(source)
    if p.is_file():
        if p.name == STORE_FILE:
            return _from_store(p.parent)
        if p.suffix.lower() == ".csv":
            return _from_csv(p)
        raise InputError(f"{p}: not a results folder, {STORE_FILE} or results CSV")
    if not p.is_dir():
        raise InputError(f"{p}: no such results folder or file")
    if (p / STORE_FILE).is_file():
        return _from_store(p)
    if (p / RESULTS_CSV).is_file():
        return _from_csv(p / RESULTS_CSV)
    found = find_verify_campaigns(p)
    if len(found) == 1:
        return _from_store(found[0])
    if found:
        names = ", ".join(str(f) for f in found)
        raise InputError(f"{p} holds {len(found)} results folders ({names}); give one of them")
    raise InputError(f"{p}: no verification results (neither {STORE_FILE} nor {RESULTS_CSV}); "
                     "give a folder written by `autospec verify`")


def entries_to_dicts(entries: list[RunEntry]) -> list[dict[str, Any]]:
    """JSON-ready rows."""
    return [asdict(e) for e in entries]
