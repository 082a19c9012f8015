"""Export a spec set and an ONNX model as a VNN-COMP benchmark folder.

Each spec becomes one property (its counterexample region). The model fixes the number of
inputs (the spec set's feature count must equal the model's flattened input size) and of
outputs (labels must index an output; regression needs a single output). Unbounded box sides
are closed with a domain: the one given here (typically min/max of a dataset), else the spec
set's own ``domain``; the manifest records which properties were closed and with what.

Labelled specs (a spec set with ``target_bins``, mined from a regression target cut into bins)
name a bin; for a model with a single real-valued output (the regressor the bins were cut
from) each is written as the regression property of its bin's interval
``[edges[label], edges[label+1]]``: the model stays a regressor. For a model with one output
per bin they are ordinary classification properties.

Discrete features (a spec set with ``feature_kinds``: integer features, one-hot groups) are
kept discrete (:mod:`.discrete`): integer bounds are rounded inward, a one-hot group with
several allowed categories becomes a disjunction of input boxes (VNN-LIB cases) up to
``onehot_limit`` boxes, beyond which the group keeps a relaxed box and the property is marked
``relaxed`` in the manifest (``integer_relaxed`` when an integer feature still spans several
integers, which VNN-LIB cannot restrict). A spec whose box holds no occurring input is not
exported; the manifest lists it under ``dropped`` with the reason. ``max_specs`` keeps only
that many specs, those with the largest support.

Monotonicity specs (``--algo monotonic``) become relational properties: one twin network per
spec (``onnx/<model>.<id>.twin.onnx``, output ``f(x') - f(x)``, see :mod:`.twin`) with a
VNN-LIB 1.0 property over its ``2n`` inputs; the original model is copied beside them and
named in the manifest (``monotonic.original_model``) for replaying counterexample pairs.
The same properties are also written as VNN-LIB 2.0 queries declaring the network twice
(``BENCH/2.0/``: its own ``instances.csv`` over the original model, see
:func:`~autospec_cli.vnnlib.twin.pair_query_v2`).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.errors import InputError
from autospec_cli.progress import ProgressFn
from autospec_cli.specs.model import Spec, SpecSet
from autospec_cli.vnnlib.benchmark import BenchmarkItem, write_benchmark
from autospec_cli.vnnlib.builders import spec_to_property
from autospec_cli.vnnlib.discrete import ONEHOT_LIMIT, discretize_box
from autospec_cli.vnnlib.onnxinfo import model_io
from autospec_cli.vnnlib.property import Case, Property
from autospec_cli.vnnlib.twin import TOL, build_twin, output_scale, twin_property
from autospec_cli.vnnlib.writer import VERSIONS

Domain = tuple[np.ndarray, np.ndarray]
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ExportSummary:
    """What :func:`export_specset` wrote."""

    out: Path
    n_properties: int
    n_closed: int
    vnnlib_version: str
    n_inputs: int
    n_outputs: int
    domain_source: str | None
    dropped: list[dict[str, str]] = field(default_factory=list)
    n_relaxed: int = 0
    n_integer_relaxed: int = 0
    n_cases: int = 0
    n_specs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"benchmark": str(self.out), "properties": self.n_properties,
                "closed": self.n_closed, "vnnlib_version": self.vnnlib_version,
                "n_inputs": self.n_inputs, "n_outputs": self.n_outputs,
                "domain": self.domain_source, "specs": self.n_specs,
                "dropped": list(self.dropped), "relaxed": self.n_relaxed,
                "integer_relaxed": self.n_integer_relaxed, "cases": self.n_cases}


def dataset_domain(ds: Dataset, features: list[str]) -> Domain:
    """Per-feature min/max of ``ds``, columns matched to ``features`` by name (else by position)."""
    if features and all(f in ds.features for f in features):
        cols = [ds.features.index(f) for f in features]
    elif ds.d == len(features):
        cols = list(range(ds.d))
    else:
        raise InputError(f"the domain data has {ds.d} features ({', '.join(ds.features[:5])}...) "
                         f"but the specs use {len(features)}; give data with the same features")
    if ds.n == 0:
        raise InputError("the domain data has no rows")
    X = ds.X[:, cols]
    return np.nanmin(X, axis=0), np.nanmax(X, axis=0)


def bin_as_interval(spec: Spec, edges: np.ndarray) -> Spec:
    """A labelled spec as the regression spec of its bin's interval."""
    if spec.label is None or not 0 <= spec.label < edges.size - 1:
        raise InputError(f"specification {spec.id!r} names no bin of the {edges.size - 1} bins")
    lo_y, hi_y = float(edges[spec.label]), float(edges[spec.label + 1])
    return Spec(id=spec.id, lo=spec.lo, hi=spec.hi, y_lo=lo_y, y_hi=hi_y, support=spec.support)


def export_specset(
    specs: SpecSet,
    model: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    version: str = "1.0",
    timeout: float = 60,
    domain: Domain | None = None,
    domain_source: str | None = None,
    category: str | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
    onehot_limit: int = ONEHOT_LIMIT,
    max_specs: int | None = None,
) -> ExportSummary:
    """Write ``out`` (onnx/, vnnlib/, instances.csv, manifest.json) for every spec (the
    ``max_specs`` of largest support when given)."""
    if version not in VERSIONS:
        raise InputError(f"unknown VNN-LIB version {version!r}; use 1.0 or 2.0")
    if not specs.specs:
        raise InputError("the spec set has no specifications; nothing to export")
    if onehot_limit < 1:
        raise InputError(f"the one-hot limit must be at least 1, got {onehot_limit}")
    chosen = specs.specs
    if max_specs is not None:
        if max_specs < 1:
            raise InputError(f"max_specs must be at least 1, got {max_specs}")
        order = sorted(range(len(chosen)), key=lambda i: (-chosen[i].support, i))
        chosen = [chosen[i] for i in sorted(order[:max_specs])]
    mio = model_io(model)
    if specs.d != mio.n_inputs:
        raise InputError(f"the specs have {specs.d} features but {Path(model).name} takes "
                         f"{mio.n_inputs} inputs (shape {list(mio.input_shape)}); use the model "
                         "trained on these features")
    if specs.is_monotonic:
        return _export_monotonic(specs, Path(model), Path(out), version=version,
                                 timeout=timeout, category=category, force=force,
                                 progress=progress, n_outputs=mio.n_outputs)
    if any(s.is_monotonic for s in specs.specs):
        raise InputError("the spec set mixes monotonicity and other specifications; export "
                         "them separately")
    if domain is None and specs.domain is not None:
        domain, domain_source = specs.domain, "spec set"
    items = []
    n_closed = n_relaxed = n_int_relaxed = 0
    dropped: list[dict[str, str]] = []
    kinds = specs.feature_kinds
    as_interval = specs.target_bins is not None and mio.n_outputs == 1
    for named in chosen:
        spec = bin_as_interval(named, specs.target_bins) if as_interval else named  # type: ignore[arg-type]
        prop, closed = spec_to_property(spec, mio.n_outputs, domain)
        meta: dict[str, Any] = {"support": spec.support}
        if kinds:
            case = prop.cases[0]
            disc = discretize_box(case.lo, case.hi, kinds, specs.features, limit=onehot_limit)
            if disc.empty:
                dropped.append({"id": spec.id, "reason": disc.reason})
                continue
            prop = Property([Case(lo, hi, case.disjuncts) for lo, hi in disc.boxes],
                            prop.n_inputs, prop.n_outputs, prop.meta)
            meta.update(discrete=disc.to_json(), relaxed=disc.relaxed,
                        integer_relaxed=disc.integer_relaxed)
            n_relaxed += disc.relaxed
            n_int_relaxed += disc.integer_relaxed
        n_closed += closed
        if as_interval:
            meta.update(bin=named.label, y_lo=spec.y_lo, y_hi=spec.y_hi)
            if specs.classes and len(specs.classes) == specs.target_bins.size - 1:  # type: ignore[union-attr]
                meta["class"] = specs.classes[int(named.label)]  # type: ignore[arg-type]
        elif spec.is_classification:
            meta["label"] = spec.label
            if specs.classes and 0 <= int(spec.label) < len(specs.classes):  # type: ignore[arg-type]
                meta["class"] = specs.classes[int(spec.label)]  # type: ignore[arg-type]
        else:
            meta.update(y_lo=spec.y_lo, y_hi=spec.y_hi)
        items.append(BenchmarkItem(spec.id, prop, meta))
    if not items:
        raise InputError(f"no specification has an input that can occur once discrete features "
                         f"are kept discrete (all {len(dropped)} dropped; first: "
                         f"{dropped[0]['id']}: {dropped[0]['reason']})")
    dom = None if domain is None else {"source": domain_source, "lo": domain[0], "hi": domain[1]}
    extra: dict[str, Any] = {"spec_set": {"task": specs.task, "algorithm": specs.algorithm,
                                          "features": specs.features, "params": specs.params,
                                          "dataset": specs.dataset,
                                          "classes": specs.classes}}
    if kinds:
        extra["feature_kinds"] = {**kinds.to_json(), "onehot_limit": int(onehot_limit)}
        extra["dropped"] = dropped
    path = write_benchmark(out, model, items, version=version, timeout=timeout,
                           category=category, domain=dom, extra=extra, force=force,
                           progress=progress)
    return ExportSummary(path, len(items), n_closed, version, mio.n_inputs, mio.n_outputs,
                         domain_source if domain is not None else None, dropped, n_relaxed,
                         n_int_relaxed, sum(len(i.prop.cases) for i in items), len(chosen))


def _export_monotonic(specs: SpecSet, model: Path, out: Path, *, version: str, timeout: float,
                      category: str | None, force: bool, progress: ProgressFn | None,
                      n_outputs: int) -> ExportSummary:
    """One twin network and one VNN-LIB property per monotonicity spec (:mod:`.twin`)."""
    if version != "1.0":
        raise InputError("monotonicity specifications are exported as VNN-LIB 1.0 properties "
                         "of twin networks, with their VNN-LIB 2.0 form (the network declared "
                         "twice) in the folder's 2.0/; use --vnnlib-version 1")
    if n_outputs != 1:
        raise InputError(f"monotonicity specifications need a model with one output; "
                         f"{model.name} has {n_outputs}")
    bad = [s.id for s in specs.specs if not (np.all(np.isfinite(s.lo))
                                             and np.all(np.isfinite(s.hi)))]
    if bad:
        raise InputError(f"monotonicity specification {bad[0]!r} has an unbounded box")
    items = []
    with tempfile.TemporaryDirectory(prefix=".twins.", dir=out.parent if out.parent.is_dir()
                                     else None) as tmp:
        for spec in specs.specs:
            scale = output_scale(model, spec.lo, spec.hi)
            twin = build_twin(model, spec.lo, spec.hi, str(spec.direction),
                              Path(tmp) / f"{model.stem}.{_SAFE.sub('_', spec.id)}.twin.onnx",
                              scale=scale)
            meta: dict[str, Any] = {
                "support": spec.support, "kind": "monotonic", "direction": spec.direction,
                "lo": spec.lo, "hi": spec.hi, "tol": TOL, "scale": scale,
                "tolerated_drop": TOL * scale, "original_model": f"onnx/{model.name}",
                "pairs": "x in [lo, hi], d in [0, hi - lo], x' = min(x + d, hi): exactly the "
                         "pairs lo <= x <= x' <= hi",
            }
            items.append(BenchmarkItem(spec.id, twin_property(spec.lo, spec.hi), meta,
                                       model=twin))
        extra = {"spec_set": {"task": specs.task, "algorithm": specs.algorithm,
                              "features": specs.features, "params": specs.params,
                              "dataset": specs.dataset},
                 "monotonic": {"original_model": f"onnx/{model.name}", "tol": TOL}}
        path = write_benchmark(out, model, items, version=version, timeout=timeout,
                               category=category, extra=extra, force=force, progress=progress,
                               also_models=[model])
    _write_pair_queries(path, model, items, timeout)
    return ExportSummary(path, len(items), 0, version, 2 * specs.d, 1, None)


def _write_pair_queries(bench: Path, model: Path, items: list[BenchmarkItem],
                        timeout: float) -> None:
    """``BENCH/2.0/``: every monotonicity property also as a VNN-LIB 2.0 query declaring the
    network twice (:func:`~autospec_cli.vnnlib.twin.pair_query_v2`), with its own
    ``instances.csv`` over the original model and a manifest naming the pair form, so
    ``autospec verify BENCH/2.0`` decides the same properties without the twin network."""
    import json
    import shutil

    from autospec_cli.io import publish_dir, to_jsonable
    from autospec_cli.vnnlib.benchmark import read_manifest
    from autospec_cli.vnnlib.twin import pair_query_v2

    manifest = read_manifest(bench) or {}
    tmp = Path(tempfile.mkdtemp(prefix=".2.0.", suffix=".tmp", dir=bench))
    publish_dir(tmp)
    try:
        (tmp / "onnx").mkdir()
        (tmp / "vnnlib").mkdir()
        shutil.copyfile(model, tmp / "onnx" / model.name)
        rows, entries = [], []
        for item, entry in zip(items, manifest.get("instances", []), strict=False):
            meta = dict(item.meta)
            name = Path(str(entry.get("vnnlib", f"vnnlib/{item.id}.vnnlib"))).name
            text = pair_query_v2(np.asarray(meta["lo"], float), np.asarray(meta["hi"], float),
                                 str(meta["direction"]), float(meta["tolerated_drop"]))
            (tmp / "vnnlib" / name).write_text(text, encoding="utf-8")
            rows.append(f"onnx/{model.name},vnnlib/{name},{entry.get('timeout', timeout)}")
            meta.update(form="pair", original_model=f"onnx/{model.name}")
            entries.append({"id": item.id, "onnx": f"onnx/{model.name}",
                            "vnnlib": f"vnnlib/{name}", "meta": meta})
        (tmp / "instances.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        sub = {k: v for k, v in manifest.items() if k not in ("instances", "models")}
        sub.update(vnnlib_version="2.0", instances=entries,
                   monotonic={**manifest.get("monotonic", {}), "form": "pair",
                              "original_model": f"onnx/{model.name}"})
        (tmp / "manifest.json").write_text(
            json.dumps(to_jsonable(sub), indent=1, allow_nan=False) + "\n", encoding="utf-8")
        os.replace(tmp, bench / "2.0")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
