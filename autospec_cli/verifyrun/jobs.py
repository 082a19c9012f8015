"""Verification as campaign jobs: ``verify.instance`` and ``verify.group``.

``autospec verify`` turns a benchmark into jobs and runs them with
:func:`autospec_cli.campaign.engine.run_campaign`, so a verification run is resumable, can use
local workers or Dask, and leaves its results in the campaign store that ``autospec report``
reads.

Job granularity (:func:`make_jobs`):

- ``verify.instance``: one job per instance, for backends that decide instances one by one
  (the default ``Verifier.verify_many``). Each job builds the backend and calls
  :func:`autospec_cli.verify.runner.run_one`, which times the call, turns exceptions into
  ``error`` and re-checks every ``sat`` counterexample.
- ``verify.group``: one job per (backend, model) for backends that override
  ``Verifier.verify_many`` (e.g. bounding every property of one model in one batched call);
  the job runs :func:`autospec_cli.verify.runner.run_instances` over the model's instances.
  ``batch=False`` forces one job per instance, ``batch=True`` groups any backend.

Params of an instance (all JSON): ``backend`` (entry-point name), ``options``, ``onnx``,
``vnnlib`` (absolute paths), ``timeout``, ``category``, and for reports ``name`` (the
instance as ``onnx::vnnlib`` relative to the benchmark, or a benchmark's own instance id),
``factors`` (factor levels from the benchmark manifest, if any), ``expected`` (a known
verdict, if any) and ``verifier`` (the label of the verifier, when one store holds several).
The job's inputs are the SHA-256 of both files, so an edited model or property runs again.
Results are :func:`result_to_dict` dicts (a group job returns ``{"results": [...]}`` in order).

A job killed at its hard timeout is read back as verdict ``timeout``; a job whose process
failed as ``error`` (:func:`results_of`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autospec_cli.campaign.jobs import JobSpec
from autospec_cli.errors import InputError
from autospec_cli.io import sha256_file, to_jsonable
from autospec_cli.verify.base import Counterexample, Instance, Result, Verdict, Verifier
from autospec_cli.verify.registry import get_backend_class, make_backend
from autospec_cli.verify.runner import one_line, run_instances, run_one

INSTANCE_KIND = "verify.instance"
GROUP_KIND = "verify.group"
KINDS = (INSTANCE_KIND, GROUP_KIND)


def hard_timeout(seconds: float) -> float:
    """The hard kill limit for a job whose verifier was given ``seconds``: +25 % and 10 s."""
    return 1.25 * seconds + 10.0


# -- results <-> JSON ---------------------------------------------------------------------------


def result_to_dict(result: Result) -> dict[str, Any]:
    """A :class:`Result` as plain JSON (the counterexample as float lists, exactly)."""
    cex = result.counterexample
    return {
        "verdict": result.verdict.value, "time": float(result.time),
        "prepare_time": float(result.prepare_time), "message": result.message,
        "counterexample": None if cex is None else {
            "x": [float(v) for v in cex.x.ravel()],
            "y": [float(v) for v in (cex.y.ravel() if cex.y is not None else [])]},
        "extra": to_jsonable(result.extra),
    }


def result_from_dict(d: Mapping[str, Any]) -> Result:
    """The inverse of :func:`result_to_dict`."""
    import numpy as np

    cex = d.get("counterexample")
    return Result(Verdict(d["verdict"]), float(d.get("time") or 0.0),
                  None if not cex else Counterexample(np.asarray(cex["x"], dtype=np.float64),
                                                       np.asarray(cex["y"], dtype=np.float64)),
                  str(d.get("message") or ""), float(d.get("prepare_time") or 0.0),
                  dict(d.get("extra") or {}))


# -- the job functions (run in workers) ----------------------------------------------------------


def _instance(p: Mapping[str, Any]) -> Instance:
    return Instance(Path(p["onnx"]), Path(p["vnnlib"]), float(p["timeout"]),
                    str(p.get("category", "")))


def verify_instance(params: dict[str, Any]) -> dict[str, Any]:
    """Job ``verify.instance``: decide one instance with ``params["backend"]``."""
    result = run_one(params["backend"], params.get("options") or {}, _instance(params))
    return result_to_dict(result)


def verify_group(params: dict[str, Any]) -> dict[str, Any]:
    """Job ``verify.group``: decide ``params["instances"]`` with one backend object, batched."""
    instances = [_instance(p) for p in params["instances"]]
    try:
        verifier = make_backend(params["backend"], **dict(params.get("options") or {}))
    except Exception as e:
        return {"results": [result_to_dict(Result(Verdict.ERROR, 0.0, message=one_line(e)))
                            for _ in instances]}
    return {"results": [result_to_dict(r) for r in run_instances(verifier, instances)]}


# -- building jobs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceInfo:
    """An instance with what reports need: its name, factor levels and known verdict."""

    instance: Instance
    name: str
    factors: dict[str, Any] | None = None
    expected: str | None = None

    def params(self) -> dict[str, Any]:
        i = self.instance
        p: dict[str, Any] = {"onnx": str(Path(i.onnx).resolve()),
                             "vnnlib": str(Path(i.vnnlib).resolve()),
                             "timeout": float(i.timeout), "category": i.category,
                             "name": self.name}
        if self.factors:
            p["factors"] = to_jsonable(self.factors)
        if self.expected:
            p["expected"] = self.expected
        return p


def _rel(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return os.path.relpath(Path(path).resolve(), Path(root).resolve())
        except ValueError:
            pass
    return str(path)


EXPECTED_CSV = "expected.csv"


def read_expected(bench_dir: str | os.PathLike[str]) -> dict[tuple[str, str], str]:
    """Known verdicts from ``BENCH/expected.csv`` (header with ``onnx``, ``vnnlib``,
    ``expected``; ``holds``/``violated`` read as ``unsat``/``sat``), keyed by the normalised
    relative paths; ``{}`` when there is no such file. Other values (``unknown``) are skipped."""
    import csv

    p = Path(bench_dir) / EXPECTED_CSV
    if not p.is_file():
        return {}
    out: dict[tuple[str, str], str] = {}
    with open(p, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not {"onnx", "vnnlib", "expected"} <= set(reader.fieldnames or []):
            raise InputError(f"{p}: needs a header with onnx, vnnlib and expected columns")
        for row in reader:
            verdict = known_verdict(row["expected"])
            if verdict is not None:
                onnx, prop = row["onnx"].strip(), row["vnnlib"].strip()
                out[(os.path.normpath(onnx), os.path.normpath(prop))] = verdict
    return out


def known_verdict(value: Any) -> str | None:
    """``sat``/``unsat`` when ``value`` names a decided verdict (see :meth:`Verdict.parse`),
    else None: a known answer is only ever one of those two."""
    try:
        verdict = Verdict.parse(value)
    except InputError:
        return None
    return verdict.value if verdict.decided else None


def describe_instances(instances: Sequence[Instance], root: Path | None,
                       manifest: Mapping[str, Any] | None = None,
                       expected: Mapping[tuple[str, str], str] | None = None
                       ) -> list[InstanceInfo]:
    """Name each instance relative to ``root``; attach factor levels and known verdicts.

    A manifest entry (``manifest["instances"]``, matched on ``onnx`` + ``vnnlib``) gives factor
    levels through ``meta["factors"]`` (or ``meta["levels"]``, or GDVB's
    ``meta["gdvb"]["levels"]``) and a known verdict through ``meta["expected"]``;
    ``expected`` (see :func:`read_expected`) gives known verdicts too.
    """
    by_pair: dict[tuple[str, str], Mapping[str, Any]] = {}
    for e in (manifest or {}).get("instances", []) or []:
        if isinstance(e, Mapping) and "onnx" in e and "vnnlib" in e:
            by_pair[(os.path.normpath(str(e["onnx"])), os.path.normpath(str(e["vnnlib"])))] = e
    out = []
    for inst in instances:
        onnx, prop = _rel(inst.onnx, root), _rel(inst.vnnlib, root)
        meta = (by_pair.get((os.path.normpath(onnx), os.path.normpath(prop))) or {}).get("meta")
        meta = meta if isinstance(meta, Mapping) else {}
        gdvb = meta.get("gdvb")
        gdvb = gdvb if isinstance(gdvb, Mapping) else {}
        factors = meta.get("factors", meta.get("levels", gdvb.get("levels")))
        known = meta.get("expected") or (expected or {}).get(
            (os.path.normpath(onnx), os.path.normpath(prop)))
        out.append(InstanceInfo(inst, f"{onnx}::{prop}",
                                dict(factors) if isinstance(factors, Mapping) else None,
                                None if known is None else known_verdict(known)))
    return out


def backend_batches(entry: str) -> bool:
    """Whether backend ``entry`` overrides ``verify_many`` (shares work across instances)."""
    return get_backend_class(entry).verify_many is not Verifier.verify_many


def _hashes(paths: Sequence[str], cache: dict[str, str]) -> dict[str, str]:
    out = {}
    for p in paths:
        if p not in cache:
            cache[p] = sha256_file(p)
        out[p] = cache[p]
    return out


def make_jobs(backend: str, options: Mapping[str, Any], infos: Sequence[InstanceInfo], *,
              batch: bool | None = None, verifier: str | None = None
              ) -> list[tuple[JobSpec, list[int]]]:
    """The jobs deciding ``infos`` and, for each, the indexes of the instances it covers.

    ``batch``: None groups per model only when the backend overrides ``verify_many``.
    ``verifier``: the label results are reported under (param ``verifier``), for a store that
    holds several verifiers or configurations of one backend; without it records take the
    label of the folder's ``campaign.json`` (see :mod:`autospec_cli.verifyrun.records`).
    """
    group = backend_batches(backend) if batch is None else batch
    cache: dict[str, str] = {}
    base = {"backend": backend, "options": to_jsonable(dict(options))}
    if verifier is not None:
        base["verifier"] = verifier
    jobs: list[tuple[JobSpec, list[int]]] = []
    if not group:
        for k, info in enumerate(infos):
            p = info.params()
            jobs.append((JobSpec(INSTANCE_KIND, {**base, **p},
                                 _hashes([p["onnx"], p["vnnlib"]], cache),
                                 hard_timeout(p["timeout"])), [k]))
        return jobs
    by_model: dict[str, list[int]] = {}
    for k, info in enumerate(infos):
        by_model.setdefault(str(Path(info.instance.onnx).resolve()), []).append(k)
    for members in by_model.values():
        ps = [infos[k].params() for k in members]
        files = sorted({f for p in ps for f in (p["onnx"], p["vnnlib"])})
        jobs.append((JobSpec(GROUP_KIND, {**base, "instances": ps}, _hashes(files, cache),
                             hard_timeout(sum(p["timeout"] for p in ps))), members))
    return jobs


# -- reading results back ------------------------------------------------------------------------


def _failed_result(record: Any, n: int) -> list[Result]:
    first = (record.error or "").split("\n", 1)[0]
    verdict = Verdict.TIMEOUT if record.status == "timeout" else Verdict.ERROR
    share = float(record.duration or 0.0) / max(1, n)
    return [Result(verdict, share, message=first) for _ in range(n)]


def results_of(record: Any) -> list[Result]:
    """The verification results held by one finished job record (one, or a group's list)."""
    n = len(record.params["instances"]) if record.kind == GROUP_KIND else 1
    if record.status != "done" or record.result is None:
        return _failed_result(record, n)
    if record.kind == GROUP_KIND:
        rows = record.result.get("results") or []
        if len(rows) != n:
            return [Result(Verdict.ERROR, 0.0, message="group job returned "
                           f"{len(rows)} results for {n} instances") for _ in range(n)]
        return [result_from_dict(r) for r in rows]
    return [result_from_dict(record.result)]


def instance_params(record: Any) -> list[dict[str, Any]]:
    """The instance params of a job record (one, or a group's list)."""
    if record.kind == GROUP_KIND:
        return [dict(p) for p in record.params["instances"]]
    return [dict(record.params)]


def collect(store: Any, jobs: Sequence[tuple[JobSpec, list[int]]], n: int) -> list[Result]:
    """Results for ``n`` instances in order, read from ``store`` for the given jobs."""
    out: list[Result | None] = [None] * n
    for spec, members in jobs:
        record = store.get(spec.id)
        if record is None or record.status == "pending":
            results = [Result(Verdict.UNKNOWN, 0.0, message="not run (campaign interrupted)")
                       for _ in members]
        else:
            results = results_of(record)
        for k, r in zip(members, results, strict=True):
            out[k] = r
    return [r if r is not None else Result(Verdict.UNKNOWN, 0.0, message="not run")
            for r in out]
