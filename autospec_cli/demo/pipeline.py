"""The main job on built-in data: the AutoSpec pipeline end to end.

Spiral (classification, 2-D) and uplink throughput (regression, 4-D windows of the real
Colosseum O-RAN traces when a folder of them is given, else the synthetic series) are split
9:1; every generator mines specifications from the generation fold and they are scored on the
evaluation fold. Throughput is scored in both of the paper's settings, side by side: as
regression (output ranges, alpha filter) and labelled (§5.2: the target cut into
``target_bins`` bins of its maximum over the whole dataset; the same rows in each fold as the
regression split, so the two settings differ only in the output constraint); the throughput
network (4-10-5-1, AutoSpec §5.3) is trained, the tree specs
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

from autospec_cli.data.bins import bin_dataset, dataset_edges
from autospec_cli.data.loaders import load_dataset
from autospec_cli.data.split import split_dataset
from autospec_cli.demo.params import DEMO_PARAMS, PAPER_GAINS, algorithm_of
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
    target_bins: int = 10
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
    labelled = bin_dataset(throughput, cfg.target_bins)
    labelled.name = "throughput-labelled"
    return {"spiral": spiral, "throughput": throughput, "throughput-labelled": labelled}


def demo_split(cfg: DemoConfig, name: str, datasets: dict[str, Any]) -> tuple[Any, Any]:
    """Generation and evaluation folds; the labelled throughput reuses the regression rows."""
    if name != "throughput-labelled":
        return split_dataset(datasets[name], ratio=cfg.ratio, seed=cfg.seed)
    edges = dataset_edges(datasets[name])
    gen, ev = split_dataset(datasets["throughput"], ratio=cfg.ratio, seed=cfg.seed)
    return bin_dataset(gen, edges=edges), bin_dataset(ev, edges=edges)


def mine_and_score(cfg: DemoConfig, datasets: dict[str, Any], progress: ProgressFn) -> list[dict]:
    """Split, generate with every algorithm, evaluate; write spec sets and plots."""
    rows: list[dict] = []
    majority: dict[str, float] = {}
    total = sum(len(DEMO_PARAMS[n]) for n in datasets)
    done = 0
    for name, ds in datasets.items():
        gen, ev = demo_split(cfg, name, datasets)
        gen.save_npz(cfg.out_dir / "data" / name / "generation.npz", force=True)
        ev.save_npz(cfg.out_dir / "data" / name / "evaluation.npz", force=True)
        y_range = None if ds.task == "classification" else (float(ds.y.min()), float(ds.y.max()))
        if ds.task == "classification":
            majority[name] = majority_f1(gen.y, ev.y)
        for algo, params in DEMO_PARAMS[name].items():
            t0 = time.perf_counter()
            specset = generate_specs(gen, algorithm_of(algo), seed=cfg.seed, **params)
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
            if name in majority:
                rows[-1]["majority_f1"] = majority[name]
            done += 1
            progress("mine and score specifications", done, total)
    return rows


def majority_f1(gen_y: np.ndarray, ev_y: np.ndarray) -> float:
    """F1 of the trivial spec set: one box over everything, the generation fold's majority
    label. Every point is covered, so recall is 1 and precision the label's share."""
    label = int(np.bincount(gen_y).argmax())
    p = float(np.mean(ev_y == label)) if ev_y.size else 0.0
    return 2 * p / (p + 1) if p > 0 else 0.0


def plot_f1_comparison(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["dataset"] for r in rows))
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        sub = {r["algorithm"]: r for r in rows if r["dataset"] == name}
        present = list(sub)
        x = np.arange(len(present))
        for i, metric in enumerate(("precision", "recall", "f1")):
            ax.bar(x + (i - 1) * 0.27, [sub[a][metric] for a in present], 0.27, label=metric)
        ax.set_xticks(x, [a.replace("-", "\n", 1) for a in present], fontsize=8)
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
    gains = tree_gains(rows)
    if gains:
        lines += ["", "The tree's F1 against the others on throughput, in both settings, beside "
                  "the paper's (§5.2, labelled setting):", "",
                  "| setting | tree F1 | vs next best generator | vs human rules | "
                  "vs best human rule subset | one-spec majority F1 |",
                  "|---|---:|---:|---:|---:|---:|"]
        for g in gains:
            maj = "–" if g["majority_f1"] is None else f"{g['majority_f1']:.3f}"
            lines.append(f"| {g['dataset']} | {g['tree']:.3f} | {_pct(g['vs_next'])} "
                         f"({g['next']}) | {_pct(g['vs_human'])} | {_pct(g['vs_best_human'])} | "
                         f"{maj} |")
        lines.append(f"| paper (labelled) | | {_pct(PAPER_GAINS['next best generator'])} | "
                     f"{_pct(PAPER_GAINS['human rules'])} | | |")
        lines.append("\n(One-spec majority F1: one box over the whole input space naming the "
                     "most frequent label. A labelled spec set that does not beat it gains "
                     "nothing on this metric over saying nothing about the inputs.)")
    return "\n".join(lines) + "\n" + extra


def tree_gains(rows: list[dict]) -> list[dict]:
    """Relative F1 gains of the tree over the best other generator and over the human rules
    (all rules, and the best rule subset the demo scores), per throughput setting."""
    out = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        sub = {r["algorithm"]: r["f1"] for r in rows if r["dataset"] == name}
        humans = {a: f for a, f in sub.items() if algorithm_of(a) == "human"}
        if "tree" not in sub or "human" not in humans:
            continue
        others = {a: f for a, f in sub.items() if a != "tree" and a not in humans}
        nxt = max(others, key=lambda a: others[a]) if others else None
        out.append({
            "dataset": name, "tree": sub["tree"], "next": nxt,
            "vs_next": _gain(sub["tree"], others[nxt]) if nxt else None,
            "vs_human": _gain(sub["tree"], humans["human"]),
            "vs_best_human": _gain(sub["tree"], max(humans.values())),
            "majority_f1": next((r.get("majority_f1") for r in rows if r["dataset"] == name),
                                None),
        })
    return out


def _gain(a: float, b: float) -> float | None:
    return None if b <= 0 else a / b - 1.0


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:+.0%}"


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
        "target_bins": cfg.target_bins,
        "tree_gains": tree_gains(rows),
        "paper_gains": PAPER_GAINS,
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
