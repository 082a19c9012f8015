"""Running a training-factor study on the campaign engine: train, select, verify.

The study folder is a campaign folder (``campaign.sqlite``, ``campaign.json`` with
``"kind": "study"``) that is also a VNN-COMP benchmark folder::

    data.npz         the split images (written once)
    onnx/<model>.onnx, vnnlib/img<index>.vnnlib, instances.csv   (models x properties)
    selection.json   the verified images (pool rows, labels, eligible counts per class)
    cex/<model>.npz  counterexamples confirmed by onnxruntime

Phase 1 runs one training job per design run; the coordinator then selects the images every
trained model classifies correctly (:mod:`.select`) and writes the properties; phase 2 runs
one verification job per model. Everything is resumable: running the same config into the
same folder again runs only the jobs that have not finished (a changed config is refused).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.campaign.engine import read_description, run_campaign, write_description
from autospec_cli.campaign.executors import Executor, make_executor
from autospec_cli.campaign.jobs import JobSpec
from autospec_cli.errors import ConfigError
from autospec_cli.progress import ProgressFn
from autospec_cli.study.config import StudyConfig
from autospec_cli.study.model_jobs import TRAIN_KIND, VERIFY_KIND
from autospec_cli.study.select import Selection, select_images

DOMAIN = (0.0, 1.0)


def model_id(regulariser: str, initialiser: str, seed: int) -> str:
    return f"{regulariser}-{initialiser}-s{seed}"


def design_runs(cfg: StudyConfig) -> list[dict[str, Any]]:
    """The design's runs (regulariser slowest, then initialiser, then seed for factorial)."""
    from autospec_cli.study.designs import Factor, make_design

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
    from autospec_cli.io import sha256_file
    from autospec_cli.study.data import prepare_data

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
    from autospec_cli.campaign.store import CampaignStore

    ids = {j.id for j in jobs}
    with CampaignStore(out, create=False, writable=False) as store:
        recs = store.results(kind=TRAIN_KIND, status="done")
    return {r.result["model"]: r.result for r in recs if r.id in ids and r.result}


def write_properties(out: Path, cfg: StudyConfig, sel: Selection, models: list[str]) -> int:
    """VNN-LIB files of the selected images and ``instances.csv`` (models x properties)."""
    from autospec_cli.io import atomic_write_text
    from autospec_cli.study.data import StudyData
    from autospec_cli.vnnlib.builders import robustness_property
    from autospec_cli.vnnlib.writer import write_vnnlib

    data = StudyData.load(out / "data.npz")
    X = data.inputs("pool")
    names = []
    for pos, label in zip(sel.positions, sel.labels, strict=True):
        index = int(data.pool_index[pos])
        name = f"vnnlib/img{index}.vnnlib"
        prop = robustness_property(X[pos].reshape(-1).astype(np.float64), cfg.verify.eps,
                                   label, data.n_classes, *DOMAIN)
        write_vnnlib(out / name, prop, force=True)
        names.append(name)
    rows = [f"onnx/{m}.onnx,{v},60" for m in models for v in names]
    atomic_write_text(out / "instances.csv", "\n".join(rows) + "\n", force=True)
    return len(names)


def verification_jobs(out: Path, cfg: StudyConfig, data_sha: str, sel: Selection,
                      trained: dict[str, dict[str, Any]]) -> list[JobSpec]:
    from autospec_cli.io import sha256_file

    v = cfg.verify
    attack = {"samples": v.attack_samples, "restarts": v.attack_restarts,
              "steps": v.attack_steps, "seed": v.attack_seed}
    return [JobSpec(VERIFY_KIND, {"dir": str(out), "model": m, "onnx": r["onnx"],
                                  "positions": sel.positions, "eps": v.eps,
                                  "methods": list(v.methods), "domain": list(DOMAIN),
                                  "batch": v.batch, "attack": attack,
                                  "threads": cfg.run.threads},
                    inputs={"data": data_sha, "onnx": sha256_file(out / r["onnx"])})
            for m, r in trained.items()]


def default_executor(cfg: StudyConfig) -> Executor:
    r = cfg.run
    return make_executor(r.executor, jobs=r.jobs, timeout=r.timeout, scheduler=r.scheduler)


def run_study(cfg: StudyConfig, out: str | Path, *, executor: Executor | None = None,
              progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run (or resume) the study into folder ``out``; returns a summary dict."""
    from autospec_cli.io import atomic_write_json

    t0 = time.perf_counter()
    out = Path(out).resolve()
    _check_folder(out, cfg)
    out.mkdir(parents=True, exist_ok=True)
    write_description(out, {"kind": "study", "name": cfg.name, "fingerprint": cfg.fingerprint(),
                            "config": cfg.to_dict(), "domain": list(DOMAIN)})
    data_sha = _prepare_data(out, cfg)
    ex = executor or default_executor(cfg)
    with ex:
        tjobs = training_jobs(out, cfg, data_sha)
        s_train = run_campaign(out, tjobs, ex, progress=progress, description="train")
        trained = _trained(out, tjobs)
        from autospec_cli.study.data import StudyData

        data = StudyData.load(out / "data.npz")
        sel = select_images(data.labels("pool"),
                            {m: np.asarray(r["pool_pred"]) for m, r in trained.items()},
                            cfg.verify.images_per_class, data.n_classes)
        atomic_write_json(out / "selection.json", sel.to_dict(), force=True)
        n_props = write_properties(out, cfg, sel, list(trained)) if cfg.verify.vnnlib else 0
        vjobs = verification_jobs(out, cfg, data_sha, sel, trained)
        s_ver = run_campaign(out, vjobs, ex, progress=progress, description="verify")
    return {"folder": str(out), "models": len(tjobs), "trained": len(trained),
            "images": len(sel.positions), "short_classes": sel.short, "properties": n_props,
            "train": s_train.to_dict(), "verify": s_ver.to_dict(),
            "instances": len(sel.positions) * len(trained),
            "wall_time": time.perf_counter() - t0, "data_counts": data.counts(),
            "config": asdict(cfg.run)}


__all__ = ["design_runs", "model_id", "run_study", "training_jobs", "verification_jobs",
           "write_properties"]
