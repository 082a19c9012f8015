"""``autospec bench generate``: a GDVB benchmark from a config, trained on the campaign engine.

Output folder (a campaign folder, resumable: running the command again finishes what is left)::

    DIR/
      campaign.json        {"kind": "gdvb", ...}: config, factors, rows, excluded rows, networks
      campaign.sqlite      the campaign store (training jobs, later verification jobs)
      seed/                the built-in seed network, trained once and cached
      nets/<net>_s<k>.onnx each transformed network, distilled once per training seed
      benchmark/           VNN-COMP folder: onnx/, vnnlib/, instances.csv, manifest.json,
                           factors.csv (every instance -> its factor levels and training seed)

Every covering-array row is one network (factors neu, fc, conv, idm, ids) and one property
(scl, trn); rows sharing the network factors share the trained network. Rows whose network
cannot be built, or whose training failed, are listed in ``campaign.json["excluded"]`` with the
reason and left out of the benchmark.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autospec_cli.bench.distill import BUILTIN_SEEDS, DEFAULT_INPUT_NORM
from autospec_cli.bench.distill_jobs import TRAIN_KIND
from autospec_cli.bench.problems import SeedData, load_seed_data, make_property
from autospec_cli.bench.seeds import resolve_seed
from autospec_cli.bench.transform import (
    ALL_FACTORS,
    NETWORK_FACTORS,
    InvalidCombination,
    NetSpec,
    Transformed,
    transform,
)
from autospec_cli.campaign.engine import (
    open_campaign,
    read_description,
    run_campaign,
    write_description,
)
from autospec_cli.campaign.jobs import JobSpec
from autospec_cli.errors import ConfigError, OutputExistsError
from autospec_cli.io import atomic_write_text, csv_text
from autospec_cli.progress import ProgressFn
from autospec_cli.vnnlib.benchmark import BenchmarkItem, write_benchmark

GDVB_KIND = "gdvb"
BENCH_DIR = "benchmark"
TEST_FRACTION = 0.2


@dataclass
class Plan:
    """What a config expands to: networks to train, rows to build, rows excluded."""

    seed_spec: NetSpec
    rows: list[dict[str, float]]
    networks: dict[str, Transformed] = field(default_factory=dict)
    row_net: dict[int, str] = field(default_factory=dict)  # row -> network id
    excluded: list[dict[str, Any]] = field(default_factory=list)


def network_id(levels: dict[str, float]) -> str:
    """A readable id from the network factor levels, e.g. ``neu0.5_fc1_conv0_idm1_ids1``."""
    return "_".join(f"{f}{float(levels[f]):g}" for f in NETWORK_FACTORS)


def plan_rows(seed_spec: NetSpec, rows: list[dict[str, float]], *, seed: int = 0) -> Plan:
    """Transform the seed for every row; invalid rows go to ``excluded`` with the reason."""
    plan = Plan(seed_spec, rows)
    for i, row in enumerate(rows):
        nid = network_id({f: row.get(f, 1.0) for f in NETWORK_FACTORS})
        if nid not in plan.networks:
            try:
                plan.networks[nid] = transform(seed_spec, row, seed=seed)
            except InvalidCombination as e:
                plan.excluded.append({"row": i, "levels": row, "reason": str(e)})
                continue
        plan.row_net[i] = nid
    return plan


def config_digest(cfg: Any) -> str:
    """A hash of everything in the config that changes the benchmark."""
    doc = {"seed": vars(cfg.seed), "factors": {k: list(v) for k, v in cfg.factors.items()},
           "strength": cfg.strength, "array_seed": cfg.array_seed,
           "constraints": list(cfg.constraints), "training": vars(cfg.training),
           "timeout": cfg.verify.timeout}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def prepare_dir(out: Path, digest: str, force: bool) -> None:
    """Create ``out`` or check it holds this config's (unfinished) GDVB campaign."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        out.mkdir(parents=True, exist_ok=True)
        return
    desc = read_description(out) if out.is_dir() else None
    if desc is None or desc.get("kind") != GDVB_KIND:
        raise OutputExistsError(f"{out} exists and is not a GDVB benchmark folder; choose "
                                "another -o or remove it")
    if desc.get("config_sha256") == digest:
        return  # resume
    if not force:
        raise OutputExistsError(f"{out} holds a GDVB benchmark of another config; set force "
                                "to replace it or choose another output folder")
    shutil.rmtree(out)
    out.mkdir(parents=True)


def _data_params(cfg: Any, shape: tuple[int, ...]) -> dict[str, Any]:
    return {"source": cfg.seed.data, "input_shape": list(shape), "split_seed": cfg.array_seed,
            "test_fraction": TEST_FRACTION}


def training_jobs(cfg: Any, plan: Plan, out: Path, teacher: Path) -> list[Any]:
    """One training job per network and training seed."""
    data = _data_params(cfg, plan.seed_spec.input_shape)
    jobs = []
    for nid, tr in plan.networks.items():
        for k in range(cfg.training.seeds):
            params = {
                "net_id": nid, "seed": k, "arch": tr.spec.to_dict(), "ids": tr.levels["ids"],
                "epochs": cfg.training.epochs, "lr": cfg.training.lr,
                "batch": cfg.training.batch, "teacher": str(teacher), "data": data,
                "onnx": str(out / "nets" / f"{nid}_s{k}.onnx"),
            }
            if cfg.training.input_norm != DEFAULT_INPUT_NORM:  # older jobs keep their ids
                params["input_norm"] = cfg.training.input_norm
            jobs.append(JobSpec(TRAIN_KIND, params))
    return jobs


def trained_results(out: Path) -> tuple[dict[tuple[str, int], dict], dict[tuple[str, int], str]]:
    """``(net_id, seed) -> result`` of finished training jobs, and the errors of failed ones."""
    done, failed = {}, {}
    with open_campaign(out, create=False) as store:
        for rec in store.results(kind=TRAIN_KIND):
            key = (rec.params["net_id"], int(rec.params["seed"]))
            if rec.status == "done" and rec.result is not None:
                done[key] = rec.result
            elif rec.status in ("failed", "timeout"):
                failed[key] = (rec.error or rec.status).strip().splitlines()[-1][:300]
    return done, failed


def build_items(cfg: Any, plan: Plan, data: SeedData, done: dict, failed: dict
                ) -> tuple[list[Any], list[dict[str, Any]]]:
    """Benchmark items (one per valid row and training seed) and factor-table rows."""
    items, table = [], []
    for i, row in enumerate(plan.rows):
        nid = plan.row_net.get(i)
        if nid is None:
            continue
        tr = plan.networks[nid]
        for k in range(cfg.training.seeds):
            if (nid, k) not in done:
                reason = failed.get((nid, k), "training did not finish")
                plan.excluded.append({"row": i, "seed": k, "levels": row,
                                      "reason": f"training failed: {reason}"})
                continue
            prop, pmeta = make_property(
                data, tr.spec.input_shape, ids=row["ids"], scl=row["scl"], trn=row["trn"],
                radius=cfg.seed.radius, seed=cfg.array_seed, n_classes=tr.spec.n_classes,
                center=cfg.seed.center)
            iid = f"row{i:03d}_s{k}"
            res = done[(nid, k)]
            levels = {f: row[f] for f in ALL_FACTORS}
            meta = {"gdvb": {"row": i, "train_seed": k, "network": nid, "levels": levels,
                             "neurons": tr.neurons, "layers": tr.spec.n_layers, **pmeta,
                             "test_accuracy": res.get("test_accuracy"),
                             "fidelity": res.get("fidelity")}}
            items.append(BenchmarkItem(iid, prop, meta, model=Path(res["onnx"])))
            table.append({"instance": iid, "row": i, "train_seed": k, "network": nid, **levels,
                          "neurons": tr.neurons, "layers": tr.spec.n_layers,
                          "eps": pmeta["eps"], "label": pmeta["label"],
                          "test_accuracy": res.get("test_accuracy")})
    return items, table


def _rows_of(cfg: Any, progress: ProgressFn | None) -> tuple[Any, list[dict[str, float]]]:
    ca = cfg.covering_array(time_budget=None, progress=progress)
    return ca, [{f: float(v) for f, v in r.items()} for r in ca.value_records()]


def generate(cfg: Any, out_dir: str | os.PathLike[str], *, executor: Any = None,
             force: bool = False, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Build the GDVB benchmark of ``cfg`` (a :class:`~autospec_cli.bench.config.GdvbConfig`)
    in ``out_dir``; returns the summary also written to ``campaign.json``."""
    out = Path(out_dir).resolve()
    digest = config_digest(cfg)
    prepare_dir(out, digest, force)
    desc: dict[str, Any] = {"kind": GDVB_KIND, "config": str(getattr(cfg, "path", "") or ""),
                            "config_sha256": digest, "benchmark": BENCH_DIR, "status": "training"}
    write_description(out, desc)
    seed = resolve_seed(cfg.seed.network, cfg.seed.data, out / "seed", split_seed=cfg.array_seed,
                        test_fraction=TEST_FRACTION)
    data = load_seed_data(cfg.seed.data, seed.spec.input_shape, split_seed=cfg.array_seed,
                          test_fraction=TEST_FRACTION)
    ca, rows = _rows_of(cfg, progress)
    plan = plan_rows(seed.spec, rows, seed=cfg.array_seed)
    jobs = training_jobs(cfg, plan, out, seed.onnx)
    summary = run_campaign(out, jobs, executor, progress=progress, description="train")
    done, failed = trained_results(out)
    items, table = build_items(cfg, plan, data, done, failed)
    desc.update(_description(cfg, ca, plan, seed, summary, len(items)))
    if items:
        write_benchmark(out / BENCH_DIR, None, items, timeout=cfg.verify.timeout,
                        category="gdvb", force=True, progress=progress,
                        extra={"gdvb": {"factors": list(ALL_FACTORS),
                                        "excluded": plan.excluded}})
        atomic_write_text(out / BENCH_DIR / "factors.csv", csv_text(table), force=True)
    desc["status"] = "generated" if summary.complete else "incomplete"
    write_description(out, desc)
    return desc


def _description(cfg: Any, ca: Any, plan: Plan, seed: Any, summary: Any,
                 n_items: int) -> dict[str, Any]:
    return {
        "factors": {k: list(v) for k, v in cfg.factors.items()},
        "strength": cfg.strength, "array_seed": cfg.array_seed,
        "constraints": list(cfg.constraints), "rows": len(plan.rows),
        "array_stats": dict(ca.stats), "training": vars(cfg.training),
        "seed": {"network": cfg.seed.network, "data": cfg.seed.data, "onnx": str(seed.onnx),
                 "arch": seed.spec.to_dict(), "neurons": seed.spec.neurons,
                 "metrics": seed.metrics},
        "networks": {nid: t.to_dict() for nid, t in plan.networks.items()},
        "excluded": plan.excluded, "instances": n_items,
        "timeout": cfg.verify.timeout, "verifiers": list(cfg.verify.verifiers),
        "train_summary": summary.to_dict(),
    }


def check_config_seed(network: str) -> None:
    """Fail early on an unknown built-in seed network."""
    if network.startswith("builtin:") and network not in BUILTIN_SEEDS:
        raise ConfigError(f"unknown built-in seed network {network!r}; known: "
                          + ", ".join(BUILTIN_SEEDS))
