"""Running a training-factor study on the campaign engine: train, select, verify.

The study folder is a campaign folder (``campaign.sqlite``, ``campaign.json`` with
``"kind": "study"``) that is also a VNN-COMP benchmark folder::

    data.npz         the split images (written once)
    onnx/<model>.onnx, vnnlib/img<index>.vnnlib, instances.csv   (models x properties)
    manifest.json    each instance's model, image, label and factor levels
    selection.json   the verified images (pool rows, labels, eligible counts per class)
    results/         VNN-COMP results of the verification (results.csv, summary.json,
                     counterexamples/ -- every one confirmed in onnxruntime)

Phase 1 runs one training job per design run; the coordinator then selects the images every
trained model classifies correctly (:mod:`.select`) and writes the properties
(:mod:`.verify`); phase 2 measures each model's unstable ReLUs on them and phase 3 verifies
every instance with the configured backend through the verification run's job kinds
(:func:`autospec_cli.verifyrun.jobs.make_jobs`). Everything is resumable: running the same
config into the same folder again runs only the jobs that have not finished (a changed
config is refused).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli import __version__
from autospec_cli.campaign.engine import read_description, run_campaign, write_description
from autospec_cli.campaign.executors import Executor, make_executor
from autospec_cli.campaign.jobs import JobSpec
from autospec_cli.campaign.store import CampaignStore
from autospec_cli.errors import ConfigError
from autospec_cli.io import atomic_write_json, atomic_write_text, sha256_file
from autospec_cli.progress import ProgressFn
from autospec_cli.study.config import StudyConfig
from autospec_cli.study.data import StudyData, prepare_data
from autospec_cli.study.designs import Factor, make_design
from autospec_cli.study.model_jobs import RELU_KIND, TRAIN_KIND
from autospec_cli.study.select import Selection, select_images
from autospec_cli.study.verify import (
    VERDICTS,
    image_property,
    manifest_entries,
    study_instances,
    study_verdict,
)
from autospec_cli.verify.base import Instance
from autospec_cli.verify.registry import resolve_backend
from autospec_cli.verifyrun.jobs import collect, describe_instances, make_jobs
from autospec_cli.verifyrun.results import write_results
from autospec_cli.vnnlib.benchmark import MANIFEST_FORMAT, MANIFEST_VERSION, read_manifest
from autospec_cli.vnnlib.writer import write_vnnlib

FACTORS = ("initialiser", "regulariser", "seed")

DOMAIN = (0.0, 1.0)


def model_id(regulariser: str, initialiser: str, seed: int) -> str:
    return f"{regulariser}-{initialiser}-s{seed}"


def design_runs(cfg: StudyConfig) -> list[dict[str, Any]]:
    """The design's runs (regulariser slowest, then initialiser, then seed for factorial)."""
    d = cfg.design
    factors = [Factor.categorical("regulariser", d.regularisers),
               Factor.categorical("initialiser", d.initialisers),
               Factor.categorical("seed", d.seeds)]
    design = make_design(factors, d.method, n=d.samples, seed=d.seed)
    runs = [dict(r, model=model_id(r["regulariser"], r["initialiser"], r["seed"]))
            for r in design.runs]
    return list({r["model"]: r for r in runs}.values())  # an LHS may repeat a combination


def _check_folder(out: Path, cfg: StudyConfig) -> None:
    desc = read_description(out) if out.is_dir() else None
    if desc is None:
        if out.is_dir() and (out / "campaign.sqlite").exists():
            raise ConfigError(f"{out} holds a campaign that is not a study; choose another -o")
        return
    if desc.get("kind") != "study":
        raise ConfigError(f"{out} holds a {desc.get('kind', 'different')} campaign; choose "
                          "another output folder")
    if desc.get("fingerprint") != cfg.fingerprint():
        raise ConfigError(f"{out} holds a study with a different configuration; use a new "
                          "output folder (or delete this one) to run the changed config")


def _prepare_data(out: Path, cfg: StudyConfig) -> str:
    path = out / "data.npz"
    if not path.exists():
        d = cfg.data
        prepare_data(d.source, train=d.train, val=d.val, test=d.test, split_seed=d.split_seed,
                     verify_from=d.verify_from, scale=d.scale,
                     input_shape=d.input_shape).save(path)
    return sha256_file(path)


def training_jobs(out: Path, cfg: StudyConfig, data_sha: str) -> list[JobSpec]:
    return [JobSpec(TRAIN_KIND, {"dir": str(out), "model": r["model"],
                                 "initialiser": r["initialiser"],
                                 "regulariser": r["regulariser"], "seed": int(r["seed"]),
                                 "training": cfg.training.to_dict(),
                                 "threads": cfg.run.threads},
                    inputs={"data": data_sha})
            for r in design_runs(cfg)]


def _trained(out: Path, jobs: list[JobSpec]) -> dict[str, dict[str, Any]]:
    ids = {j.id for j in jobs}
    with CampaignStore(out, create=False, writable=False) as store:
        recs = store.results(kind=TRAIN_KIND, status="done")
    return {r.result["model"]: r.result for r in recs if r.id in ids and r.result}


def write_properties(out: Path, cfg: StudyConfig, sel: Selection,
                     trained: dict[str, dict[str, Any]]) -> list[str]:
    """VNN-LIB files of the selected images, ``instances.csv`` (models x properties) and
    ``manifest.json``; returns the property paths relative to ``out`` in selection order."""
    data = StudyData.load(out / "data.npz")
    X = data.inputs("pool")
    names, images = [], []
    for pos, label in zip(sel.positions, sel.labels, strict=True):
        index = int(data.pool_index[pos])
        name = f"vnnlib/img{index}.vnnlib"
        prop = image_property(X[pos], cfg.verify.eps, label, data.n_classes, DOMAIN)
        write_vnnlib(out / name, prop, force=True)
        names.append(name)
        images.append(index)
    t = cfg.verify.timeout
    timeout = str(int(t)) if float(t).is_integer() else repr(float(t))
    rows = [f"onnx/{m}.onnx,{v},{timeout}" for m in trained for v in names]
    atomic_write_text(out / "instances.csv", "\n".join(rows) + "\n", force=True)
    atomic_write_json(out / "manifest.json", {
        "format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION,
        "created_by": f"autospec {__version__}", "category": cfg.name, "vnnlib_version": "1.0",
        "timeout": float(t), "domain": {"lo": DOMAIN[0], "hi": DOMAIN[1]},
        "instances": manifest_entries(trained, names, images, sel.labels, t, FACTORS)},
        force=True)
    return names


def relu_jobs(out: Path, cfg: StudyConfig, trained: dict[str, dict[str, Any]],
              properties: list[str]) -> list[JobSpec]:
    """One unstable-ReLU measurement per model over the boxes of ``properties``."""
    files = {v: sha256_file(out / v) for v in properties}
    return [JobSpec(RELU_KIND, {"dir": str(out), "model": m, "onnx": r["onnx"],
                                "vnnlib": properties, "method": cfg.verify.methods[0],
                                "threads": cfg.run.threads},
                    inputs={"onnx": sha256_file(out / r["onnx"]), **files})
            for m, r in trained.items()]


def verification_jobs(out: Path, cfg: StudyConfig, trained: dict[str, dict[str, Any]],
                      properties: list[str]
                      ) -> tuple[list[tuple[JobSpec, list[int]]], list[Instance]]:
    """The verification run's jobs for models x properties, and those instances in order."""
    v = cfg.verify
    spec = resolve_backend(v.backend, v.options)
    instances = study_instances(out, list(trained), properties, v.timeout)
    infos = describe_instances(instances, out, read_manifest(out))
    return make_jobs(spec.entry, spec.options, infos, batch=v.group), instances


@contextlib.contextmanager
def _worker_threads(threads: int) -> Iterator[None]:
    """Workers started meanwhile get ``OMP_NUM_THREADS=threads`` unless the user set it: the
    verification jobs take no thread count, and two torch thread pools per core thrash."""
    key = "OMP_NUM_THREADS"
    if key in os.environ:
        yield
        return
    os.environ[key] = str(max(1, int(threads)))
    try:
        yield
    finally:
        os.environ.pop(key, None)


def default_executor(cfg: StudyConfig) -> Executor:
    r = cfg.run
    return make_executor(r.executor, jobs=r.jobs, timeout=r.timeout, scheduler=r.scheduler)


def run_study(cfg: StudyConfig, out: str | Path, *, executor: Executor | None = None,
              progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run (or resume) the study into folder ``out``; returns a summary dict."""
    t0 = time.perf_counter()
    out = Path(out).resolve()
    _check_folder(out, cfg)
    out.mkdir(parents=True, exist_ok=True)
    write_description(out, {"kind": "study", "name": cfg.name, "fingerprint": cfg.fingerprint(),
                            "config": cfg.to_dict(), "domain": list(DOMAIN)})
    data_sha = _prepare_data(out, cfg)
    ex = executor or default_executor(cfg)
    with _worker_threads(cfg.run.threads), ex:
        tjobs = training_jobs(out, cfg, data_sha)
        s_train = run_campaign(out, tjobs, ex, progress=progress, description="train")
        trained = _trained(out, tjobs)

        data = StudyData.load(out / "data.npz")
        sel = select_images(data.labels("pool"),
                            {m: np.asarray(r["pool_pred"]) for m, r in trained.items()},
                            cfg.verify.images_per_class, data.n_classes)
        atomic_write_json(out / "selection.json", sel.to_dict(), force=True)
        props = write_properties(out, cfg, sel, trained)
        s_relu = run_campaign(out, relu_jobs(out, cfg, trained, props), ex, progress=progress,
                              description="unstable ReLUs")
        vjobs, instances = verification_jobs(out, cfg, trained, props)
        s_ver = run_campaign(out, [j for j, _ in vjobs], ex, progress=progress,
                             description="verify")
    counts = _write_results(out, cfg, vjobs, instances)
    return {"folder": str(out), "models": len(tjobs), "trained": len(trained),
            "images": len(sel.positions), "short_classes": sel.short, "properties": len(props),
            "train": s_train.to_dict(), "relus": s_relu.to_dict(), "verify": s_ver.to_dict(),
            "instances": len(instances), "verdicts": counts, "backend": cfg.verify.backend,
            "options": cfg.verify.options, "ignored": list(cfg.ignored),
            "wall_time": time.perf_counter() - t0, "data_counts": data.counts(),
            "config": asdict(cfg.run)}


def _write_results(out: Path, cfg: StudyConfig, jobs: list[tuple[JobSpec, list[int]]],
                   instances: list[Instance]) -> dict[str, int]:
    """Write ``results/`` (VNN-COMP results of every instance); count the study's verdicts."""
    with CampaignStore(out, create=False, writable=False) as store:
        results = collect(store, jobs, len(instances))
    write_results(out / "results", instances, results, backend=cfg.verify.backend,
                  options=cfg.verify.options, root=out, force=True)
    counts = dict.fromkeys(VERDICTS, 0)
    for r in results:
        counts[study_verdict(r)] += 1
    return counts


__all__ = ["design_runs", "model_id", "relu_jobs", "run_study", "training_jobs",
           "verification_jobs", "write_properties"]
