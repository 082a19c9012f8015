"""The main job on built-in data: the AutoSpec pipeline end to end.

Spiral (classification, 2-D) and uplink throughput (regression, 4-D windows of the real
Colosseum O-RAN traces when a folder of them is given, else the synthetic series) are split
9:1; every generator mines specifications from the generation fold and they are scored on the
evaluation fold; the throughput network (4-10-5-1, AutoSpec §5.3) is trained, the tree specs
are exported as a VNN-COMP benchmark and verified, and counterexamples are shown as the
paper's Figure 6 does. Everything is written under one output folder.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.data.loaders import load_dataset
from autospec_cli.data.split import split_dataset
from autospec_cli.demo.params import DEMO_PARAMS
from autospec_cli.demo.verification import check_backend, verify_throughput
from autospec_cli.errors import OutputExistsError
from autospec_cli.io import atomic_write_json, atomic_write_text
from autospec_cli.progress import ProgressFn, null_progress
from autospec_cli.specs.generators.registry import generate_specs
from autospec_cli.specs.metrics import evaluate_specs
from autospec_cli.specs.plot import plot_specs_2d

#: Output-range filters at which regression spec sets are also scored (the paper fixes one
#: alpha; the sweep shows how much the ranking depends on it).
ALPHA_SWEEP: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5, 1.0)


@dataclass
class DemoConfig:
    out_dir: Path
    traces: Path | None = None
    seed: int = 0
    ratio: float = 0.9
    alpha: float = 0.1
    verify: bool = True
    backend: str = "bab"
    timeout: float = 5.0
    max_properties: int = 40
    force: bool = False
    timings: dict[str, float] = field(default_factory=dict)


def prepare_out_dir(out: Path, force: bool) -> None:
    """Refuse a non-empty output folder without ``force``; with it, start clean."""
    if out.exists() and any(out.iterdir()):
        if not force:
            raise OutputExistsError(f"{out} is not empty; set force to replace it")
        if (out / "summary.json").exists() or (out / ".autospec-demo").exists():
            shutil.rmtree(out)
        else:
            raise OutputExistsError(
                f"{out} is not empty and was not written by `autospec demo`; choose another folder"
            )
    out.mkdir(parents=True, exist_ok=True)
    (out / ".autospec-demo").write_text("written by autospec demo\n")


def load_demo_datasets(cfg: DemoConfig) -> dict[str, Any]:
    spiral = load_dataset("builtin:spiral", seed=cfg.seed)
    source = str(cfg.traces) if cfg.traces is not None else "builtin:throughput"
    throughput = load_dataset(source, seed=cfg.seed)
    throughput.name = "throughput"
    spiral.name = "spiral"
    return {"spiral": spiral, "throughput": throughput}


def mine_and_score(cfg: DemoConfig, datasets: dict[str, Any], progress: ProgressFn) -> list[dict]:
    """Split, generate with every algorithm, evaluate; write spec sets and plots."""
    rows: list[dict] = []
    total = sum(len(DEMO_PARAMS[n]) for n in datasets)
    done = 0
    for name, ds in datasets.items():
        gen, ev = split_dataset(ds, ratio=cfg.ratio, seed=cfg.seed)
        gen.save_npz(cfg.out_dir / "data" / name / "generation.npz", force=True)
        ev.save_npz(cfg.out_dir / "data" / name / "evaluation.npz", force=True)
        y_range = None if ds.task == "classification" else (float(ds.y.min()), float(ds.y.max()))
        for algo, params in DEMO_PARAMS[name].items():
            t0 = time.perf_counter()
            specset = generate_specs(gen, algo, seed=cfg.seed, **params)
            gen_time = time.perf_counter() - t0
            specset.save(cfg.out_dir / "specs" / f"{name}-{algo}.json", force=True)
            m = evaluate_specs(specset, ev.X, ev.y, alpha=cfg.alpha, y_range=y_range)
            if ds.d == 2:
                plot_specs_2d(specset, gen.X, gen.y, cfg.out_dir / "plots" / f"{name}-{algo}.png",
                              title=f"{name}: {algo} specifications")
            rows.append({
                "dataset": name, "algorithm": algo, "specs": len(specset),
                "kept": int(m.n_kept), "tp": int(m.tp), "fp": int(m.fp), "fn": int(m.fn),
                "precision": float(m.precision), "recall": float(m.recall), "f1": float(m.f1),
                "generate_seconds": round(gen_time, 3), "params": params,
            })
            if ds.task == "regression":
                rows[-1]["f1_by_alpha"] = {
                    str(a): float(evaluate_specs(specset, ev.X, ev.y, alpha=a, y_range=y_range).f1)
                    for a in ALPHA_SWEEP
                }
            done += 1
            progress("mine and score specifications", done, total)
    return rows


def plot_f1_comparison(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({r["dataset"] for r in rows})
    algos = ["tree", "cluster", "grid", "human"]
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        sub = {r["algorithm"]: r for r in rows if r["dataset"] == name}
        present = [a for a in algos if a in sub]
        x = np.arange(len(present))
        for i, metric in enumerate(("precision", "recall", "f1")):
            ax.bar(x + (i - 1) * 0.27, [sub[a][metric] for a in present], 0.27, label=metric)
        ax.set_xticks(x, present)
        ax.set_ylim(0, 1.05)
        ax.set_title(name)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Specification precision / recall / F1 on the evaluation fold")
    fig.tight_layout()
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="upper left",  # clear of the bars
               bbox_to_anchor=(1.0, 0.9), fontsize=8, frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)


def results_markdown(rows: list[dict], extra: str = "") -> str:
    lines = ["| dataset | algorithm | specs | kept | TP | FP | FN | precision | recall | F1 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['algorithm']} | {r['specs']} | {r['kept']} | {r['tp']} | "
            f"{r['fp']} | {r['fn']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} |"
        )
    sweep = [r for r in rows if "f1_by_alpha" in r]
    if sweep:
        alphas = list(sweep[0]["f1_by_alpha"])
        lines += ["", "F1 of the regression spec sets against the output-range filter α "
                  "(the table above uses the `--alpha` given):", "",
                  "| dataset | algorithm | " + " | ".join(f"α = {a}" for a in alphas) + " |",
                  "|---|---|" + "---:|" * len(alphas)]
        for r in sweep:
            best = {a: max(q["f1_by_alpha"][a] for q in sweep if q["dataset"] == r["dataset"])
                    for a in alphas}
            cells = [(f"**{r['f1_by_alpha'][a]:.3f}**" if r["f1_by_alpha"][a] == best[a] > 0
                      else f"{r['f1_by_alpha'][a]:.3f}") for a in alphas]
            lines.append(f"| {r['dataset']} | {r['algorithm']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n" + extra


def run_demo(cfg: DemoConfig, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run the whole demo; return the summary written to ``summary.json``."""
    progress = progress or null_progress
    t0 = time.perf_counter()
    if cfg.verify:
        check_backend(cfg.backend)
    prepare_out_dir(cfg.out_dir, cfg.force)
    datasets = load_demo_datasets(cfg)
    rows = mine_and_score(cfg, datasets, progress)
    plot_f1_comparison(rows, cfg.out_dir / "plots" / "f1-comparison.png")
    summary: dict[str, Any] = {
        "seed": cfg.seed, "ratio": cfg.ratio, "alpha": cfg.alpha,
        "throughput_source": str(cfg.traces) if cfg.traces else "builtin:throughput",
        "datasets": {n: {"rows": d.n, "features": d.d, "task": d.task}
                     for n, d in datasets.items()},
        "specs": rows,
    }
    extra = ""
    if cfg.verify:
        ver = verify_throughput(cfg, datasets["throughput"], progress)
        summary["verification"] = ver
        extra = "\n" + ver.get("markdown", "")
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    atomic_write_text(cfg.out_dir / "results.md", results_markdown(rows, extra), force=True)
    atomic_write_json(cfg.out_dir / "summary.json",
                      json.loads(json.dumps(summary, default=str)), force=True)
    return summary
